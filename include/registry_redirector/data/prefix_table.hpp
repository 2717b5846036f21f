#pragma once
/// Prefix -> origin-ASN tables (pyasn/pfx2asn and CAIDA pfx2as), plain or gzip.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "registry_redirector/net/ip_address.hpp"

namespace registry_redirector {

struct origin_v4 {
    std::uint32_t network;
    std::uint8_t length;
    std::uint32_t asn;
};
struct origin_v6 {
    uint128 network;
    std::uint8_t length;
    std::uint32_t asn;
};

enum class prefix_format { pfx2asn, caida, mrt };

/// Every (prefix, origin) pair of one or more files. A multi-origin prefix
/// appears once per origin. Not sorted or deduplicated: routing does that.
struct origin_table {
    std::vector<origin_v4> v4;
    std::vector<origin_v6> v6;
};

struct prefix_file_stats {
    std::string path;
    prefix_format format = prefix_format::pfx2asn;
    std::size_t lines = 0;
    std::size_t entries_v4 = 0;
    std::size_t entries_v6 = 0;
    /// When the data was taken, Unix seconds (0: unknown): an MRT dump's time,
    /// or a table's "# data time: ... (SECONDS)" header line (resolve writes it).
    std::uint32_t data_time = 0;
};

/// Bounds that keep a hostile or broken file from exhausting memory.
struct prefix_file_limits {
    std::size_t max_line_bytes = 1024;
    std::size_t max_entries = 20'000'000;  ///< over all files loaded into one table
};

/// Receives the (prefix, origin) pairs of a file as they are parsed, in file
/// order, so that a consumer can keep only what it needs instead of the
/// whole table (see routing's provider_row_filter).
class origin_sink {
public:
    virtual ~origin_sink() = default;
    virtual void add(const origin_v4& row) = 0;
    virtual void add(const origin_v6& row) = 0;
    /// Pairs received over all files; the parser checks max_entries on it.
    std::size_t received = 0;
};

/// Appends the pairs of one file to `into`. The format is detected from the
/// first data line: "PREFIX/LEN<ws>ASN" (pyasn, pfx2asn; ';' and '#' start
/// comments) or "NETWORK<ws>LEN<ws>ORIGIN" (CAIDA; ORIGIN an ASN, a_b_c for
/// multi-origin, or an AS-set with ','). gzip is detected by its magic bytes.
/// Throws config_error naming file, line and reason on any bad line, an
/// unreadable or truncated file, or a file over the limits; `into` may then
/// hold part of the file, so callers load into a scratch table.
prefix_file_stats load_prefix_file(const std::string& path, origin_table& into,
                                   const prefix_file_limits& limits = {});
/// The same, handing each pair to `into` as it is parsed (same errors).
prefix_file_stats load_prefix_file(const std::string& path, origin_sink& into, const prefix_file_limits& limits = {});

/// The same parser over text in memory (no gzip); `name` labels errors.
prefix_file_stats load_prefix_text(const std::string& name, std::string_view text, origin_table& into,
                                   const prefix_file_limits& limits = {});

/// Writes `table` in pfx2asn format ("PREFIX/LEN<TAB>ASN" rows, v4 then v6,
/// in the table's order) after `header` (lines starting with "# "), gzip-
/// compressed when `path` ends in ".gz". Atomic: written to a temporary file
/// in the same folder, flushed to disk, then renamed over `path`; on any error
/// the temporary file is removed and `path` is untouched. The gzip header
/// carries no name or time, so equal input gives equal bytes. Throws
/// config_error naming the file.
void write_prefix_table(const std::string& path, const std::string& header, const origin_table& table);

}  // namespace registry_redirector
