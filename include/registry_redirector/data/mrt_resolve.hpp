#pragma once
/// From BGP RIB dumps (and update files) to a prefix -> origin-ASN table:
/// the rules of `registry-redirector resolve` and of an MRT file given in
/// `prefixes:`.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "registry_redirector/data/byte_source.hpp"
#include "registry_redirector/data/prefix_table.hpp"
#include "registry_redirector/net/ip_prefix.hpp"

namespace registry_redirector {

/// The thresholds (the main config's `mrt:` block carries the first two).
struct mrt_resolve_options {
    /// A (prefix, origin) pair is kept only when at least this many distinct
    /// peers carry it. A peer is one BGP session: one PEER_INDEX_TABLE entry
    /// (one TABLE_DUMP peer) of one RIB file.
    unsigned min_peers = 2;
    /// Keep prefixes longer than /24 (IPv4) and /48 (IPv6).
    bool keep_long = false;
    /// Keep what was read before a truncated file instead of failing.
    bool allow_truncated = false;
};

/// One input file as the table's header names it.
struct mrt_input_info {
    std::string path;
    std::string sha256;  ///< of the file as stored (compressed bytes)
    bool updates = false;
    compression input_compression = compression::none;
    std::vector<std::uint32_t> collector_bgp_ids;  ///< from its PEER_INDEX_TABLEs
    std::uint32_t dump_time = 0;   ///< PEER_INDEX_TABLE time, else the first record's
    std::uint32_t last_time = 0;   ///< the last record's
    std::uint64_t records = 0;
    std::uint64_t routes = 0;      ///< RIB entries, or announcements + withdrawals
    std::optional<std::string> truncated;
};

/// What was kept and dropped, counted in (prefix, origin) pairs.
struct mrt_resolve_counts {
    std::uint64_t pairs_seen = 0;
    std::uint64_t kept_v4 = 0;
    std::uint64_t kept_v6 = 0;
    std::uint64_t dropped_default = 0;
    std::uint64_t dropped_bogon = 0;
    std::uint64_t dropped_long = 0;
    std::uint64_t dropped_min_peers = 0;
    std::uint64_t routes_without_origin = 0;  ///< empty AS path (locally originated)
    std::uint64_t updates_applied = 0;
    std::uint64_t updates_before_dump = 0;  ///< older than the oldest RIB: skipped
    std::uint64_t peers = 0;                ///< distinct sessions seen
};

struct mrt_resolve_result {
    /// Sorted by (network, length, origin), duplicates removed.
    origin_table table;
    std::vector<mrt_input_info> inputs;
    mrt_resolve_counts counts;
    /// The newest RIB dump time (the data's age; 0 without RIBs).
    std::uint32_t data_time = 0;
};

/// Reads every RIB (at least one), applies the update files in timestamp order
/// (events older than the oldest RIB dump are skipped; an update names its
/// session by peer address and AS and applies to every RIB session with both),
/// then keeps each (prefix, origin) pair seen by at least min_peers sessions,
/// dropping the default route, bogons (is_bogon) and, unless keep_long, long
/// prefixes. Memory: one row per distinct (prefix, origin) pair, plus per-
/// session state only for the prefixes the update files touch.
/// Throws mrt_error / config_error naming file, record, offset and reason.
mrt_resolve_result resolve_mrt(const std::vector<std::string>& ribs, const std::vector<std::string>& updates,
                               const mrt_resolve_options& options);

/// The header `resolve` writes above the rows: inputs (file name, sha256,
/// collector BGP IDs, dump times), thresholds, counts and a "# data time:"
/// line that load_prefix_file reads back. No wall-clock time, so equal input
/// gives equal bytes. `extra` (lines starting "# ") goes before the counts.
std::string resolve_table_header(const mrt_resolve_result& result, const mrt_resolve_options& options,
                                 const std::string& extra = {});

/// Loads one `prefixes:` entry: an MRT RIB dump (detected by content) is
/// resolved with `options` (format mrt, data_time its dump time); anything
/// else is a text table (load_prefix_file). Throws config_error / mrt_error.
prefix_file_stats load_prefix_source(const std::string& path, origin_table& into, const mrt_resolve_options& options,
                                     const prefix_file_limits& limits = {});
/// The same into a sink (e.g. routing's provider_row_filter); an MRT dump's
/// rows arrive sorted, IPv4 first.
prefix_file_stats load_prefix_source(const std::string& path, origin_sink& into, const mrt_resolve_options& options,
                                     const prefix_file_limits& limits = {});

/// "2014-05-23T06:00:00Z" for Unix seconds.
std::string utc_text(std::uint32_t seconds);

/// True when `p` lies inside (or is) an RFC 6890 special-purpose block that is
/// not globally reachable (private, loopback, link-local, documentation,
/// benchmarking, shared address space, reserved, ULA, ...) or inside multicast
/// (224.0.0.0/4, ff00::/8), or is IPv4-mapped (::ffff:0:0/96).
bool is_bogon(const ip_prefix& p) noexcept;

/// Dotted-quad text of a BGP identifier.
std::string bgp_id_text(std::uint32_t id);

}  // namespace registry_redirector
