#pragma once
/// A sequential byte stream read from a file (or memory), decompressed on the
/// fly: plain, gzip or bzip2, chosen by the first bytes, never by the name.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace registry_redirector {

enum class compression : std::uint8_t { none, gzip, bzip2 };

const char* to_string(compression c) noexcept;

/// Detects the compression from the first bytes of a stream (gzip 1f 8b,
/// bzip2 "BZh" + block size digit); anything else is plain.
compression detect_compression(const unsigned char* head, std::size_t size) noexcept;

struct byte_source_options {
    /// Decompress on a second thread, up to a few MiB ahead of the caller,
    /// so decompression and parsing overlap on two cores.
    bool read_ahead = false;
};

/// Reads a whole stream in bounded chunks; the file is never held in memory.
/// Concatenated gzip members and bzip2 streams (pigz, pbzip2) are read as one.
/// Not thread-safe: one reader per instance (with read-ahead, the decoder runs
/// on an internal thread but read() is still for one caller).
class byte_source {
public:
    /// Opens `path` and detects its compression. Throws config_error naming
    /// the file when it cannot be opened.
    static std::unique_ptr<byte_source> open(const std::string& path, byte_source_options opts = {});
    /// The same over bytes in memory (tests, fuzzing); `name` labels errors.
    static std::unique_ptr<byte_source> from_memory(std::string name, std::string bytes, byte_source_options opts = {});

    virtual ~byte_source() = default;

    /// Copies up to `size` decompressed bytes into `out` and returns how many;
    /// fewer than `size` only at the end of the stream, 0 once it is over.
    /// Throws config_error naming the file on a read error or corrupt
    /// compressed data. A compressed stream that merely stops early is not an
    /// error here: read() returns 0 and truncated() says why.
    std::size_t read(char* out, std::size_t size);

    /// After the end: set when the compressed stream ended without its
    /// end-of-stream marker (the file was cut off), with a reason naming the
    /// compressed byte offset.
    const std::optional<std::string>& truncated() const noexcept { return truncated_; }
    compression kind() const noexcept { return kind_; }
    const std::string& name() const noexcept { return name_; }
    /// Decompressed bytes delivered so far.
    std::uint64_t position() const noexcept { return position_; }

protected:
    byte_source(std::string name, compression kind) : name_(std::move(name)), kind_(kind) {}
    /// Fills up to `size` bytes; returns 0 at the end (setting truncated_ if so).
    virtual std::size_t read_some(char* out, std::size_t size) = 0;

    std::string name_;
    compression kind_;
    std::optional<std::string> truncated_;

private:
    std::uint64_t position_ = 0;
};

}  // namespace registry_redirector
