#include "registry_redirector/data/prefix_table.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

#include "registry_redirector/data/byte_source.hpp"
#include "registry_redirector/data/config_error.hpp"
#include "registry_redirector/net/ip_prefix.hpp"

namespace registry_redirector {

namespace {

bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }

/// Splits a line into at most `max` fields separated by runs of blanks.
/// Returns the number of fields, or max + 1 when there are more.
std::size_t split_fields(std::string_view line, std::string_view* fields, std::size_t max) noexcept {
    std::size_t n = 0;
    std::size_t i = 0;
    while (true) {
        while (i < line.size() && is_blank(line[i])) ++i;
        if (i == line.size()) return n;
        const std::size_t start = i;
        while (i < line.size() && !is_blank(line[i])) ++i;
        if (n == max) return max + 1;
        fields[n++] = line.substr(start, i - start);
    }
}

std::optional<std::uint32_t> parse_asn(std::string_view s) noexcept {
    if (s.size() > 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's')) s.remove_prefix(2);
    if (s.empty() || s.size() > 10) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v > 0xffffffffu) return std::nullopt;
    return static_cast<std::uint32_t>(v);
}

/// The sink that keeps every pair.
class table_sink final : public origin_sink {
public:
    explicit table_sink(origin_table& t) : table_(t) { received = t.v4.size() + t.v6.size(); }
    void add(const origin_v4& row) override { table_.v4.push_back(row); }
    void add(const origin_v6& row) override { table_.v6.push_back(row); }

private:
    origin_table& table_;
};

class line_parser {
public:
    line_parser(const std::string& path, origin_sink& into, const prefix_file_limits& limits,
                prefix_file_stats& stats)
        : path_(path), into_(into), limits_(limits), stats_(stats) {}

    void parse(std::string_view line) {
        ++stats_.lines;
        if (line.size() > limits_.max_line_bytes)
            fail("line is longer than " + std::to_string(limits_.max_line_bytes) + " bytes");
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        std::size_t first = 0;
        while (first < line.size() && is_blank(line[first])) ++first;
        if (first == line.size() || line[first] == '#' || line[first] == ';') {
            read_data_time(line.substr(first));
            return;
        }

        std::string_view f[3];
        const std::size_t n = split_fields(line, f, 3);
        if (!format_) {
            if (n == 2 && f[0].find('/') != std::string_view::npos)
                format_ = prefix_format::pfx2asn;
            else if (n == 3 && f[0].find('/') == std::string_view::npos)
                format_ = prefix_format::caida;
            else
                fail("unrecognised format: expected \"PREFIX/LEN<TAB>ASN\" (pfx2asn) or "
                     "\"NETWORK<TAB>LEN<TAB>ORIGIN\" (CAIDA pfx2as)");
            stats_.format = *format_;
        }
        if (*format_ == prefix_format::pfx2asn) {
            if (n != 2) fail("expected 2 fields \"PREFIX/LEN<TAB>ASN\", found " + count(n));
            const auto p = parse_ip_prefix(f[0]);
            if (!p.ok()) fail(std::string("bad prefix \"") + std::string(f[0]) + "\": " + p.error);
            const auto asn = parse_asn(f[1]);
            if (!asn) fail("bad origin ASN \"" + std::string(f[1]) + "\": expected 0 to 4294967295");
            add(p.prefix, *asn);
            return;
        }
        if (n != 3) fail("expected 3 fields \"NETWORK<TAB>LEN<TAB>ORIGIN\", found " + count(n));
        const auto p = make_ip_prefix(f[0], f[1]);
        if (!p.ok())
            fail("bad prefix \"" + std::string(f[0]) + "/" + std::string(f[1]) + "\": " + p.error);
        // ORIGIN: one ASN, a_b_c (multi-origin), or an AS-set "a,b"; both
        // separators may appear together.
        std::string_view origins = f[2];
        std::size_t added = 0;
        while (true) {
            const std::size_t sep = origins.find_first_of("_,");
            const std::string_view part = origins.substr(0, sep);
            const auto asn = parse_asn(part);
            if (!asn)
                fail("bad origin \"" + std::string(f[2]) +
                     "\": expected ASN, a_b_c (multi-origin) or a,b (AS-set)");
            add(p.prefix, *asn);
            ++added;
            if (sep == std::string_view::npos) break;
            origins.remove_prefix(sep + 1);
        }
    }

    bool saw_data() const noexcept { return format_.has_value(); }

    /// "# data time: 2014-05-23T06:00:00Z (1400824800)" (resolve) or
    /// "# source date: 2026-06-19" (reduce): stats.data_time, for the
    /// freshness metric. Other comments are ignored.
    void read_data_time(std::string_view comment) {
        constexpr std::string_view time_key = "# data time:";
        constexpr std::string_view date_key = "# source date:";
        if (comment.substr(0, time_key.size()) == time_key) {
            const std::size_t open = comment.rfind('(');
            const std::size_t close = comment.rfind(')');
            if (open == std::string_view::npos || close == std::string_view::npos || close < open) return;
            if (const auto v = parse_asn(comment.substr(open + 1, close - open - 1))) stats_.data_time = *v;
        } else if (comment.substr(0, date_key.size()) == date_key && stats_.data_time == 0) {
            std::string_view d = comment.substr(date_key.size());
            while (!d.empty() && is_blank(d.front())) d.remove_prefix(1);
            while (!d.empty() && is_blank(d.back())) d.remove_suffix(1);
            if (d.size() != 10 || d[4] != '-' || d[7] != '-') return;
            const auto y = parse_asn(d.substr(0, 4)), m = parse_asn(d.substr(5, 2)), day = parse_asn(d.substr(8, 2));
            if (!y || !m || !day || *y < 1970 || *m < 1 || *m > 12 || *day < 1 || *day > 31) return;
            stats_.data_time = static_cast<std::uint32_t>(days_from_civil(*y, *m, *day) * 86400);
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
    /// days_from_civil algorithm).
    static std::int64_t days_from_civil(std::int64_t y, std::int64_t m, std::int64_t d) noexcept {
        y -= m <= 2;
        const std::int64_t era = y / 400;
        const std::int64_t yoe = y - era * 400;
        const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
    }

    [[noreturn]] void fail(const std::string& reason) const {
        throw config_error(path_, static_cast<int>(stats_.lines), reason);
    }

private:
    static std::string count(std::size_t n) { return n > 3 ? "more" : std::to_string(n); }

    void add(const ip_prefix& p, std::uint32_t asn) {
        if (into_.received >= limits_.max_entries)
            fail("more than " + std::to_string(limits_.max_entries) + " prefix entries in all");
        ++into_.received;
        if (p.family == ip_family::v4) {
            into_.add(origin_v4{p.v4, p.length, asn});
            ++stats_.entries_v4;
        } else {
            into_.add(origin_v6{p.v6, p.length, asn});
            ++stats_.entries_v6;
        }
    }

    const std::string& path_;
    origin_sink& into_;
    const prefix_file_limits& limits_;
    prefix_file_stats& stats_;
    std::optional<prefix_format> format_;
};

}  // namespace

prefix_file_stats load_prefix_text(const std::string& name, std::string_view text, origin_table& into,
                                   const prefix_file_limits& limits) {
    prefix_file_stats stats;
    stats.path = name;
    table_sink sink(into);
    line_parser parser(name, sink, limits, stats);
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t eol = text.find('\n', start);
        if (eol == std::string_view::npos) eol = text.size();
        parser.parse(text.substr(start, eol - start));
        start = eol + 1;
    }
    if (!parser.saw_data()) throw config_error(name, 0, "holds no prefixes");
    return stats;
}

prefix_file_stats load_prefix_file(const std::string& path, origin_table& into,
                                   const prefix_file_limits& limits) {
    table_sink sink(into);
    return load_prefix_file(path, sink, limits);
}

prefix_file_stats load_prefix_file(const std::string& path, origin_sink& into, const prefix_file_limits& limits) {
    prefix_file_stats stats;
    stats.path = path;
    // Decompressed (gzip or bzip2, by content) on a second thread, a few MiB
    // ahead, so inflating a whole-Internet table and parsing it overlap on two
    // cores instead of adding up (start-up time is a stated target).
    byte_source_options options;
    options.read_ahead = true;
    const auto source = byte_source::open(path, options);
    line_parser parser(path, into, limits, stats);
    std::string carry;  // an unfinished line from the previous chunk
    std::string chunk(1 << 20, '\0');
    while (true) {
        chunk.resize(1 << 20);
        chunk.resize(source->read(chunk.data(), chunk.size()));
        if (chunk.empty()) {
            if (source->truncated())
                throw config_error(path, static_cast<int>(stats.lines + 1), "truncated: " + *source->truncated());
            if (!carry.empty()) parser.parse(carry);  // last line without '\n'
            break;
        }
        const std::string_view data(chunk);
        std::size_t start = 0;
        if (!carry.empty()) {
            const std::size_t eol = data.find('\n');
            carry.append(data.substr(0, eol));
            if (carry.size() > limits.max_line_bytes) {
                ++stats.lines;
                parser.fail("line is longer than " + std::to_string(limits.max_line_bytes) + " bytes");
            }
            if (eol == std::string_view::npos) continue;
            parser.parse(carry);
            carry.clear();
            start = eol + 1;
        }
        while (true) {
            const std::size_t eol = data.find('\n', start);
            if (eol == std::string_view::npos) break;
            parser.parse(data.substr(start, eol - start));
            start = eol + 1;
        }
        carry.assign(data.substr(start));
        if (carry.size() > limits.max_line_bytes) {
            ++stats.lines;
            parser.fail("line is longer than " + std::to_string(limits.max_line_bytes) + " bytes");
        }
    }
    if (!parser.saw_data()) throw config_error(path, 0, "holds no prefixes");
    return stats;
}

namespace {

template <class Row>
std::string row_text(const Row& r) {
    ip_prefix p;
    if constexpr (sizeof(r.network) == 4)
        p = {ip_family::v4, r.network, 0, r.length};
    else
        p = {ip_family::v6, 0, r.network, r.length};
    return to_string(p) + "\t" + std::to_string(r.asn) + "\n";
}

/// Output to a file descriptor, plain or gzip, with errors as config_error.
class table_output {
public:
    table_output(const std::string& path, int fd, bool gzip) : path_(path), fd_(fd) {
        if (gzip) {
            gz_ = gzdopen(fd, "wb9");
            if (!gz_) throw config_error(path_, 0, "cannot start gzip output");
        }
    }
    ~table_output() {
        if (gz_) gzclose(gz_);
        else if (fd_ >= 0) ::close(fd_);
    }
    table_output(const table_output&) = delete;
    table_output& operator=(const table_output&) = delete;

    void write(const std::string& s) {
        buffer_ += s;
        if (buffer_.size() >= (1 << 16)) flush();
    }
    void flush() {
        if (buffer_.empty()) return;
        if (gz_) {
            if (gzwrite(gz_, buffer_.data(), static_cast<unsigned>(buffer_.size())) != static_cast<int>(buffer_.size()))
                throw config_error(path_, 0, "write failed");
        } else {
            std::size_t done = 0;
            while (done < buffer_.size()) {
                const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
                if (n < 0) {
                    if (errno == EINTR) continue;
                    throw config_error(path_, 0, std::string("write failed: ") + std::strerror(errno));
                }
                done += static_cast<std::size_t>(n);
            }
        }
        buffer_.clear();
    }
    /// Flushes everything to disk and closes.
    void finish() {
        flush();
        if (gz_) {
            // gzflush then fsync the descriptor gzclose would close.
            if (gzflush(gz_, Z_FINISH) != Z_OK) throw config_error(path_, 0, "write failed (gzip)");
        }
        if (::fsync(fd_) != 0) throw config_error(path_, 0, std::string("fsync failed: ") + std::strerror(errno));
        const int rc = gz_ ? gzclose(gz_) : ::close(fd_);
        gz_ = nullptr;
        fd_ = -1;
        if (rc != 0) throw config_error(path_, 0, "close failed");
    }

private:
    std::string path_;
    int fd_;
    gzFile gz_ = nullptr;
    std::string buffer_;
};

}  // namespace

void write_prefix_table(const std::string& path, const std::string& header, const origin_table& table) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::string temp = (folder / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
    const int fd = ::mkstemp(temp.data());
    if (fd < 0) throw config_error(path, 0, std::string("cannot create a temporary file beside it: ") + std::strerror(errno));
    try {
        const bool gzip = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
        table_output out(temp, fd, gzip);
        out.write(header);
        for (const auto& r : table.v4) out.write(row_text(r));
        for (const auto& r : table.v6) out.write(row_text(r));
        out.finish();
        ::chmod(temp.c_str(), 0644);  // mkstemp makes it 0600; the server may run as another user
        if (std::rename(temp.c_str(), path.c_str()) != 0)
            throw config_error(path, 0, std::string("cannot rename the temporary file into place: ") + std::strerror(errno));
    } catch (...) {
        std::remove(temp.c_str());
        throw;
    }
}

}  // namespace registry_redirector
