#pragma once
/// A streaming reader of MRT routing dumps (RFC 6396, with RFC 8050 ADD-PATH
/// and RFC 6793 4-byte ASNs): RIB dumps and BGP update files as published by
/// RouteViews and RIPE RIS, plain, gzip or bzip2.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "registry_redirector/data/config_error.hpp"
#include "registry_redirector/data/byte_source.hpp"
#include "registry_redirector/net/ip_address.hpp"
#include "registry_redirector/net/ip_prefix.hpp"

namespace registry_redirector {

/// A rejected MRT file. what() reads
/// "FILE: record N at byte offset O: REASON"; offsets count decompressed bytes
/// from the start of the MRT stream, records count from 1.
class mrt_error : public config_error {
public:
    mrt_error(const std::string& file, std::uint64_t record, std::uint64_t offset, const std::string& reason)
        : config_error(file, 0, "record " + std::to_string(record) + " at byte offset " + std::to_string(offset) + ": " + reason),
          record_(record),
          offset_(offset) {}
    std::uint64_t record() const noexcept { return record_; }
    std::uint64_t offset() const noexcept { return offset_; }

private:
    std::uint64_t record_;
    std::uint64_t offset_;
};

enum class as_segment_type : std::uint8_t { set = 1, sequence = 2, confed_sequence = 3, confed_set = 4 };

/// One AS_PATH segment; its ASNs are asns[begin, begin + count) of the path.
struct as_segment {
    as_segment_type type;
    std::uint32_t begin;
    std::uint32_t count;
};

/// An AS path as a flat list (reused between routes, so reading allocates
/// nothing once warm). After AS4_PATH merging (RFC 6793 4.2.3).
struct as_path {
    std::vector<std::uint32_t> asns;
    std::vector<as_segment> segments;

    void clear() noexcept {
        asns.clear();
        segments.clear();
    }
    std::span<const std::uint32_t> members(const as_segment& s) const noexcept { return {asns.data() + s.begin, s.count}; }
};

/// The path in bgpdump's notation: "a b {c,d}", confederation segments as
/// "(a b)" and "[a,b]". For messages and tests.
std::string to_string(const as_path& path);

/// The origin rule: the last segment that is not a confederation segment
/// (those name member ASes inside the neighbour's confederation, never an
/// origin seen from outside) decides. An AS_SEQUENCE gives its last ASN; an
/// AS_SET gives every member (a multi-origin prefix, as CAIDA's pfx2as writes
/// AS-sets). An empty path (a locally originated route) gives no origin.
/// Appends to `out`, which it clears first.
void path_origins(const as_path& path, std::vector<std::uint32_t>& out);

/// A BGP neighbour of the collector: one entry of a PEER_INDEX_TABLE, or the
/// peer named in a TABLE_DUMP / BGP4MP record.
struct mrt_peer {
    ip_address address;
    std::uint32_t asn = 0;
    std::uint32_t bgp_id = 0;  ///< router id; 0 where the record has none (BGP4MP, TABLE_DUMP)
};

/// TABLE_DUMP_V2 PEER_INDEX_TABLE: the collector and its peers, indexed by
/// the RIB entries that follow.
struct mrt_peer_index_table {
    std::uint32_t timestamp = 0;  ///< the dump time
    std::uint32_t collector_bgp_id = 0;
    std::string view_name;
    std::vector<mrt_peer> peers;
};

enum class mrt_route_kind : std::uint8_t {
    rib,       ///< an entry of a RIB dump (TABLE_DUMP or TABLE_DUMP_V2)
    announce,  ///< a prefix announced in a BGP UPDATE (NLRI or MP_REACH_NLRI)
    withdraw,  ///< a prefix withdrawn in a BGP UPDATE (withdrawn routes or MP_UNREACH_NLRI)
};

/// One (prefix, peer) route. The references are valid during the callback only.
struct mrt_route {
    mrt_route_kind kind = mrt_route_kind::rib;
    std::uint32_t timestamp = 0;     ///< MRT header time, Unix seconds
    std::uint32_t microseconds = 0;  ///< BGP4MP_ET only
    std::uint64_t record = 0;        ///< record number, from 1
    ip_prefix prefix;
    std::optional<std::uint32_t> path_id;  ///< ADD-PATH (RFC 8050) only
    /// TABLE_DUMP_V2: the PEER_INDEX_TABLE entry; otherwise none.
    std::optional<std::uint16_t> peer_index;
    const mrt_peer* peer = nullptr;
    const as_path* path = nullptr;         ///< empty for withdrawals
    std::span<const std::uint32_t> origins;  ///< path_origins(*path); empty for withdrawals
};

/// Receives what the reader finds, in file order. Exceptions thrown by a
/// callback propagate out of read_mrt unchanged.
class mrt_visitor {
public:
    virtual ~mrt_visitor() = default;
    virtual void on_peer_index_table(const mrt_peer_index_table&) {}
    virtual void on_route(const mrt_route&) {}
};

struct mrt_read_options {
    /// Keep what was read before a cut-off record or compressed stream
    /// instead of throwing; mrt_read_stats::truncated says where it stopped.
    bool allow_truncated = false;
    /// Records above this are rejected (the header's length field is 32 bits;
    /// real RIB records stay far below, the largest seen are ~100 KiB).
    std::uint32_t max_record_bytes = 16u << 20;
    /// Decompress on a second thread (byte_source_options::read_ahead).
    bool read_ahead = true;
};

struct mrt_read_stats {
    std::string path;
    compression input_compression = compression::none;
    std::uint64_t bytes = 0;    ///< decompressed bytes of complete records
    std::uint64_t records = 0;  ///< complete records
    std::uint64_t peer_index_tables = 0;
    std::uint64_t rib_records = 0;     ///< TABLE_DUMP and TABLE_DUMP_V2 unicast RIB records
    std::uint64_t rib_entries = 0;     ///< routes of kind rib
    std::uint64_t update_messages = 0; ///< BGP4MP UPDATE messages
    std::uint64_t announcements = 0;
    std::uint64_t withdrawals = 0;
    /// Skipped, with their counts: multicast and RIB_GENERIC subtypes, other
    /// MRT types, BGP4MP state changes, non-UPDATE messages, non-unicast NLRI.
    std::uint64_t skipped_multicast = 0;
    std::uint64_t skipped_generic = 0;
    std::uint64_t skipped_other_records = 0;
    std::uint64_t state_changes = 0;
    std::uint64_t skipped_bgp_messages = 0;
    std::uint64_t skipped_non_unicast = 0;
    std::uint32_t first_timestamp = 0;  ///< of the first complete record (0: none)
    std::uint32_t last_timestamp = 0;
    /// Set when the stream was cut off and allow_truncated was given: the file,
    /// the record number and byte offset of the cut, and why.
    std::optional<std::string> truncated;
};

/// Reads one MRT file (plain, gzip or bzip2, by content) record by record,
/// calling `visitor` for each peer index table and route; the file is never
/// held in memory (one record at a time, plus read-ahead). Throws mrt_error
/// naming file, record number, byte offset and reason for a malformed record
/// (a RIB entry before any PEER_INDEX_TABLE, a length past its record, a prefix
/// length over 32/128, ...) and, unless allow_truncated, for a truncated file;
/// config_error when the file cannot be read or its compression is corrupt.
/// Not thread-safe per visitor; independent calls may run in parallel.
mrt_read_stats read_mrt_file(const std::string& path, mrt_visitor& visitor, const mrt_read_options& options = {});

/// The same over an open source (tests, fuzzing).
mrt_read_stats read_mrt(byte_source& source, mrt_visitor& visitor, const mrt_read_options& options = {});

/// True when the file's first decompressed bytes look like an MRT record
/// header of a type this reader knows (used to tell an MRT dump from a text
/// prefix table in `prefixes:`). Throws config_error when it cannot be opened.
bool looks_like_mrt_file(const std::string& path);

}  // namespace registry_redirector
