#include "registry_redirector/data/byte_source.hpp"

#include <bzlib.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "registry_redirector/data/config_error.hpp"

namespace registry_redirector {

const char* to_string(compression c) noexcept {
    switch (c) {
        case compression::gzip: return "gzip";
        case compression::bzip2: return "bzip2";
        case compression::none: break;
    }
    return "plain";
}

compression detect_compression(const unsigned char* head, std::size_t size) noexcept {
    if (size >= 2 && head[0] == 0x1f && head[1] == 0x8b) return compression::gzip;
    // "BZh" then the block size '1'..'9' (bzip2's own check), then the block magic.
    if (size >= 4 && head[0] == 'B' && head[1] == 'Z' && head[2] == 'h' && head[3] >= '1' && head[3] <= '9')
        return compression::bzip2;
    return compression::none;
}

std::size_t byte_source::read(char* out, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
        const std::size_t n = read_some(out + done, size - done);
        if (n == 0) break;
        done += n;
    }
    position_ += done;
    return done;
}

namespace {

/// Where compressed (or plain) bytes come from: a file or memory.
class raw_input {
public:
    virtual ~raw_input() = default;
    virtual std::size_t read(char* out, std::size_t size) = 0;
};

class file_input final : public raw_input {
public:
    file_input(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "rb")) {
        if (!file_) throw config_error(path, 0, std::string("cannot open: ") + std::strerror(errno));
    }
    ~file_input() override { std::fclose(file_); }
    file_input(const file_input&) = delete;
    file_input& operator=(const file_input&) = delete;

    std::size_t read(char* out, std::size_t size) override {
        const std::size_t n = std::fread(out, 1, size, file_);
        if (n < size && std::ferror(file_)) throw config_error(path_, 0, std::string("read failed: ") + std::strerror(errno));
        return n;
    }

private:
    std::string path_;
    std::FILE* file_;
};

class memory_input final : public raw_input {
public:
    explicit memory_input(std::string bytes) : bytes_(std::move(bytes)) {}
    std::size_t read(char* out, std::size_t size) override {
        const std::size_t n = std::min(size, bytes_.size() - at_);
        std::memcpy(out, bytes_.data() + at_, n);
        at_ += n;
        return n;
    }

private:
    std::string bytes_;
    std::size_t at_ = 0;
};

/// The first bytes, read once for detection and then replayed.
class peeked_input {
public:
    explicit peeked_input(std::unique_ptr<raw_input> in) : in_(std::move(in)) {
        head_.resize(8);
        head_.resize(in_->read(head_.data(), head_.size()));
    }
    const std::string& head() const noexcept { return head_; }
    std::size_t read(char* out, std::size_t size) {
        if (at_ < head_.size()) {
            const std::size_t n = std::min(size, head_.size() - at_);
            std::memcpy(out, head_.data() + at_, n);
            at_ += n;
            return n;
        }
        return in_->read(out, size);
    }

private:
    std::unique_ptr<raw_input> in_;
    std::string head_;
    std::size_t at_ = 0;
};

constexpr std::size_t input_buffer_bytes = 256 * 1024;

class plain_source final : public byte_source {
public:
    plain_source(std::string name, peeked_input in) : byte_source(std::move(name), compression::none), in_(std::move(in)) {}

protected:
    std::size_t read_some(char* out, std::size_t size) override { return in_.read(out, size); }

private:
    peeked_input in_;
};

/// Shared shape of the two decoders: an input buffer refilled from the raw
/// input, a count of compressed bytes consumed (for messages), and the rule
/// that a further member/stream may follow the end of one.
class compressed_source : public byte_source {
protected:
    compressed_source(std::string name, compression kind, peeked_input in)
        : byte_source(std::move(name), kind), in_(std::move(in)), buffer_(input_buffer_bytes) {}

    /// Refills the input buffer when it is empty; false at the end of the file.
    bool refill() {
        if (avail_ > 0) return true;
        if (eof_) return false;
        avail_ = in_.read(buffer_.data(), buffer_.size());
        next_ = buffer_.data();
        if (avail_ == 0) eof_ = true;
        return avail_ > 0;
    }
    void consumed(std::size_t n) {
        next_ += n;
        avail_ -= n;
        compressed_offset_ += n;
    }
    /// After one member ends: another follows only if its magic does. Trailing
    /// zero padding or garbage ends the stream, as gzip(1) and gzread do.
    bool another_member_follows(const char* magic, std::size_t magic_size) {
        // Make the next magic_size bytes contiguous at the buffer start.
        if (avail_ < magic_size && !eof_) {
            std::memmove(buffer_.data(), next_, avail_);
            next_ = buffer_.data();
            while (avail_ < magic_size) {
                const std::size_t n = in_.read(buffer_.data() + avail_, buffer_.size() - avail_);
                if (n == 0) {
                    eof_ = true;
                    break;
                }
                avail_ += n;
            }
        }
        if (avail_ < magic_size || std::memcmp(next_, magic, magic_size) != 0) {
            avail_ = 0;  // not a member: the rest is ignored
            eof_ = true;
            return false;
        }
        return true;
    }

    peeked_input in_;
    std::vector<char> buffer_;
    char* next_ = nullptr;
    std::size_t avail_ = 0;
    bool eof_ = false;
    bool done_ = false;
    std::uint64_t compressed_offset_ = 0;
};

class gzip_source final : public compressed_source {
public:
    gzip_source(std::string name, peeked_input in) : compressed_source(std::move(name), compression::gzip, std::move(in)) {
        std::memset(&z_, 0, sizeof z_);
        if (inflateInit2(&z_, 15 + 16) != Z_OK) throw config_error(name_, 0, "zlib: out of memory");
    }
    ~gzip_source() override { inflateEnd(&z_); }

protected:
    std::size_t read_some(char* out, std::size_t size) override {
        while (!done_) {
            if (!refill()) {
                truncated_ = "the gzip stream ends without its end marker (file cut off) at compressed byte offset " +
                             std::to_string(compressed_offset_);
                done_ = true;
                break;
            }
            z_.next_in = reinterpret_cast<Bytef*>(next_);
            z_.avail_in = static_cast<uInt>(avail_);
            z_.next_out = reinterpret_cast<Bytef*>(out);
            z_.avail_out = static_cast<uInt>(std::min<std::size_t>(size, 1u << 30));
            const int rc = inflate(&z_, Z_NO_FLUSH);
            consumed(avail_ - z_.avail_in);
            const std::size_t produced = static_cast<std::size_t>(reinterpret_cast<char*>(z_.next_out) - out);
            if (rc == Z_STREAM_END) {
                if (another_member_follows("\x1f\x8b", 2))
                    inflateReset(&z_);
                else
                    done_ = true;
            } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
                done_ = true;
                throw config_error(name_, 0,
                                   std::string("corrupt gzip data at compressed byte offset ") +
                                       std::to_string(compressed_offset_) + ": " + (z_.msg ? z_.msg : zError(rc)));
            }
            if (produced > 0) return produced;
        }
        return 0;
    }

private:
    z_stream z_;
};

class bzip2_source final : public compressed_source {
public:
    bzip2_source(std::string name, peeked_input in)
        : compressed_source(std::move(name), compression::bzip2, std::move(in)) {
        init();
    }
    ~bzip2_source() override { BZ2_bzDecompressEnd(&bz_); }

protected:
    std::size_t read_some(char* out, std::size_t size) override {
        while (!done_) {
            if (!refill()) {
                truncated_ = "the bzip2 stream ends without its end-of-stream marker (file cut off) at compressed byte offset " +
                             std::to_string(compressed_offset_);
                done_ = true;
                break;
            }
            bz_.next_in = next_;
            bz_.avail_in = static_cast<unsigned>(avail_);
            bz_.next_out = out;
            bz_.avail_out = static_cast<unsigned>(std::min<std::size_t>(size, 1u << 30));
            const int rc = BZ2_bzDecompress(&bz_);
            consumed(avail_ - bz_.avail_in);
            const std::size_t produced = static_cast<std::size_t>(bz_.next_out - out);
            if (rc == BZ_STREAM_END) {
                if (another_member_follows("BZh", 3)) {
                    BZ2_bzDecompressEnd(&bz_);
                    init();
                } else {
                    done_ = true;
                }
            } else if (rc != BZ_OK) {
                done_ = true;
                throw config_error(name_, 0,
                                   "corrupt bzip2 data at compressed byte offset " + std::to_string(compressed_offset_) +
                                       " (libbz2 error " + std::to_string(rc) + ")");
            }
            if (produced > 0) return produced;
        }
        return 0;
    }

private:
    void init() {
        std::memset(&bz_, 0, sizeof bz_);
        if (BZ2_bzDecompressInit(&bz_, 0, 0) != BZ_OK) throw config_error(name_, 0, "libbz2: out of memory");
    }
    bz_stream bz_;
};

/// Runs another source on its own thread, a bounded number of chunks ahead.
class read_ahead_source final : public byte_source {
public:
    explicit read_ahead_source(std::unique_ptr<byte_source> inner)
        : byte_source(inner->name(), inner->kind()), inner_(std::move(inner)), thread_([this] { run(); }) {}

    ~read_ahead_source() override {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        changed_.notify_all();
        thread_.join();
    }

protected:
    std::size_t read_some(char* out, std::size_t size) override {
        while (current_at_ == current_.data.size()) {
            if (current_.last) {
                if (current_.error) std::rethrow_exception(current_.error);
                return 0;
            }
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [this] { return !queue_.empty(); });
            current_ = std::move(queue_.front());
            queue_.pop_front();
            current_at_ = 0;
            if (current_.last && current_.truncated) truncated_ = current_.truncated;
            changed_.notify_all();
        }
        const std::size_t n = std::min(size, current_.data.size() - current_at_);
        std::memcpy(out, current_.data.data() + current_at_, n);
        current_at_ += n;
        return n;
    }

private:
    static constexpr std::size_t chunk_bytes = 1 << 20;
    static constexpr std::size_t max_queued = 4;  // bounds memory: 4 MiB ahead at most

    struct chunk {
        std::string data;
        bool last = false;
        std::exception_ptr error;
        std::optional<std::string> truncated;
    };

    void run() {
        while (true) {
            chunk c;
            try {
                c.data.resize(chunk_bytes);
                c.data.resize(inner_->read(c.data.data(), c.data.size()));
                c.last = c.data.empty();
                if (c.last) c.truncated = inner_->truncated();
            } catch (...) {
                c.data.clear();
                c.last = true;
                c.error = std::current_exception();
            }
            const bool last = c.last;
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [this] { return stop_ || queue_.size() < max_queued; });
            if (stop_) return;
            queue_.push_back(std::move(c));
            changed_.notify_all();
            if (last) return;
        }
    }

    std::unique_ptr<byte_source> inner_;
    chunk current_;
    std::size_t current_at_ = 0;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<chunk> queue_;
    bool stop_ = false;
    std::thread thread_;  // last: starts after the members it uses
};

std::unique_ptr<byte_source> make_source(std::string name, std::unique_ptr<raw_input> raw, byte_source_options opts) {
    peeked_input in(std::move(raw));
    const auto& head = in.head();
    std::unique_ptr<byte_source> source;
    switch (detect_compression(reinterpret_cast<const unsigned char*>(head.data()), head.size())) {
        case compression::gzip: source = std::make_unique<gzip_source>(std::move(name), std::move(in)); break;
        case compression::bzip2: source = std::make_unique<bzip2_source>(std::move(name), std::move(in)); break;
        case compression::none: source = std::make_unique<plain_source>(std::move(name), std::move(in)); break;
    }
    if (opts.read_ahead) source = std::make_unique<read_ahead_source>(std::move(source));
    return source;
}

}  // namespace

std::unique_ptr<byte_source> byte_source::open(const std::string& path, byte_source_options opts) {
    return make_source(path, std::make_unique<file_input>(path), opts);
}

std::unique_ptr<byte_source> byte_source::from_memory(std::string name, std::string bytes, byte_source_options opts) {
    return make_source(std::move(name), std::make_unique<memory_input>(std::move(bytes)), opts);
}

}  // namespace registry_redirector
