#include "registry_redirector/data/mrt_reader.hpp"

#include <algorithm>
#include <cstring>

namespace registry_redirector {

// Record layouts: RFC 6396 (MRT), section numbers below; ADD-PATH subtypes
// from RFC 8050; 2/4-byte AS paths and AS4_PATH from RFC 6793; BGP UPDATE from
// RFC 4271 4.3 and MP_REACH/MP_UNREACH_NLRI from RFC 4760.

namespace {

namespace mrt_type {
constexpr std::uint16_t table_dump = 12;
constexpr std::uint16_t table_dump_v2 = 13;
constexpr std::uint16_t bgp4mp = 16;
constexpr std::uint16_t bgp4mp_et = 17;
}  // namespace mrt_type

namespace td2 {  // TABLE_DUMP_V2 subtypes (RFC 6396 4.3, RFC 8050 4)
constexpr std::uint16_t peer_index_table = 1;
constexpr std::uint16_t rib_ipv4_unicast = 2;
constexpr std::uint16_t rib_ipv4_multicast = 3;
constexpr std::uint16_t rib_ipv6_unicast = 4;
constexpr std::uint16_t rib_ipv6_multicast = 5;
constexpr std::uint16_t rib_generic = 6;
constexpr std::uint16_t rib_ipv4_unicast_addpath = 8;
constexpr std::uint16_t rib_ipv4_multicast_addpath = 9;
constexpr std::uint16_t rib_ipv6_unicast_addpath = 10;
constexpr std::uint16_t rib_ipv6_multicast_addpath = 11;
constexpr std::uint16_t rib_generic_addpath = 12;
}  // namespace td2

namespace b4 {  // BGP4MP subtypes (RFC 6396 4.4, RFC 8050 3)
constexpr std::uint16_t state_change = 0;
constexpr std::uint16_t message = 1;
constexpr std::uint16_t message_as4 = 4;
constexpr std::uint16_t state_change_as4 = 5;
constexpr std::uint16_t message_local = 6;
constexpr std::uint16_t message_as4_local = 7;
constexpr std::uint16_t message_addpath = 8;
constexpr std::uint16_t message_as4_addpath = 9;
constexpr std::uint16_t message_local_addpath = 10;
constexpr std::uint16_t message_as4_local_addpath = 11;
}  // namespace b4

namespace attr {  // BGP path attribute type codes
constexpr std::uint8_t as_path = 2;
constexpr std::uint8_t mp_reach_nlri = 14;
constexpr std::uint8_t mp_unreach_nlri = 15;
constexpr std::uint8_t as4_path = 17;
}  // namespace attr

constexpr std::uint16_t afi_ipv4 = 1;
constexpr std::uint16_t afi_ipv6 = 2;
constexpr std::uint8_t safi_unicast = 1;
constexpr std::size_t header_bytes = 12;
constexpr std::size_t bgp_header_bytes = 19;  // marker 16, length 2, type 1
constexpr std::uint8_t bgp_update = 2;

/// Thrown while decoding one record; the reader adds file, record and offset.
struct malformed {
    std::string reason;
};

/// Bounds-checked big-endian reads over one record (or a part of it). Every
/// length in the input goes through need(), so nothing reads past the record.
class cursor {
public:
    cursor(const unsigned char* data, std::size_t size) : p_(data), end_(data + size) {}

    std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - p_); }
    bool empty() const noexcept { return p_ == end_; }
    const unsigned char* data() const noexcept { return p_; }

    void need(std::size_t n, const char* what) const {
        if (n > remaining())
            throw malformed{std::string(what) + ": needs " + std::to_string(n) + " bytes, only " +
                            std::to_string(remaining()) + " left"};
    }
    std::uint8_t u8(const char* what) {
        need(1, what);
        return *p_++;
    }
    std::uint16_t u16(const char* what) {
        need(2, what);
        const auto v = static_cast<std::uint16_t>((p_[0] << 8) | p_[1]);
        p_ += 2;
        return v;
    }
    std::uint32_t u32(const char* what) {
        need(4, what);
        const std::uint32_t v = (std::uint32_t{p_[0]} << 24) | (std::uint32_t{p_[1]} << 16) |
                                (std::uint32_t{p_[2]} << 8) | std::uint32_t{p_[3]};
        p_ += 4;
        return v;
    }
    /// The next n bytes as their own cursor.
    cursor sub(std::size_t n, const char* what) {
        need(n, what);
        cursor c(p_, n);
        p_ += n;
        return c;
    }
    void skip(std::size_t n, const char* what) {
        need(n, what);
        p_ += n;
    }

private:
    const unsigned char* p_;
    const unsigned char* end_;
};

ip_address read_address(cursor& c, bool v6, const char* what) {
    if (!v6) return ip_address::from_v4(c.u32(what));
    c.need(16, what);
    unsigned char bytes[16];
    std::memcpy(bytes, c.data(), 16);
    c.skip(16, what);
    return ip_address::from_v6_bytes(bytes);
}

/// A prefix in NLRI encoding (RFC 4271 4.3): a length in bits, then just
/// enough octets. Trailing bits past the length are ignored, as the RFC says.
ip_prefix read_nlri_prefix(cursor& c, bool v6, const char* what) {
    const std::uint8_t length = c.u8(what);
    const unsigned max = v6 ? 128 : 32;
    if (length > max)
        throw malformed{std::string(what) + ": prefix length " + std::to_string(length) + " is over " +
                        std::to_string(max)};
    const std::size_t octets = (length + 7u) / 8u;
    c.need(octets, what);
    ip_prefix p;
    p.length = length;
    const unsigned char* b = c.data();
    if (v6) {
        p.family = ip_family::v6;
        uint128 v = 0;
        for (std::size_t i = 0; i < 16; ++i) v = (v << 8) | (i < octets ? b[i] : 0u);
        p.v6 = v & v6_mask(length);
    } else {
        p.family = ip_family::v4;
        std::uint32_t v = 0;
        for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | (i < octets ? b[i] : 0u);
        p.v4 = v & v4_mask(length);
    }
    c.skip(octets, what);
    return p;
}

/// Path length as RFC 4271 9.1.2.2 counts it (and RFC 6793 4.2.3 compares):
/// an AS_SET counts 1, confederation segments 0.
std::size_t path_length(const as_path& p) {
    std::size_t n = 0;
    for (const auto& s : p.segments) {
        if (s.type == as_segment_type::sequence) n += s.count;
        else if (s.type == as_segment_type::set) n += 1;
    }
    return n;
}

void decode_as_path(cursor c, unsigned as_size, as_path& out, const char* what) {
    out.clear();
    while (!c.empty()) {
        const std::uint8_t type = c.u8(what);
        if (type < 1 || type > 4)
            throw malformed{std::string(what) + ": segment type " + std::to_string(type) +
                            " (expected 1 AS_SET, 2 AS_SEQUENCE, 3 AS_CONFED_SEQUENCE or 4 AS_CONFED_SET)"};
        const std::uint8_t count = c.u8(what);
        c.need(std::size_t{count} * as_size, what);
        const auto begin = static_cast<std::uint32_t>(out.asns.size());
        for (unsigned i = 0; i < count; ++i) out.asns.push_back(as_size == 4 ? c.u32(what) : c.u16(what));
        out.segments.push_back({static_cast<as_segment_type>(type), begin, count});
    }
}

/// Reconstructs the 4-byte path from a 2-byte AS_PATH and an AS4_PATH
/// (RFC 6793 4.2.3): when AS_PATH is shorter than AS4_PATH, AS4_PATH is
/// ignored; otherwise the leading ASes of AS_PATH that AS4_PATH lacks are kept
/// and AS4_PATH follows. Confederation segments in AS4_PATH are discarded
/// (RFC 6793 6). `as2` becomes the result.
void merge_as4_path(as_path& as2, const as_path& as4_raw, as_path& scratch) {
    // Drop confederation segments from AS4_PATH.
    as_path& as4 = scratch;
    as4.clear();
    for (const auto& s : as4_raw.segments) {
        if (s.type == as_segment_type::confed_sequence || s.type == as_segment_type::confed_set) continue;
        const auto begin = static_cast<std::uint32_t>(as4.asns.size());
        const auto m = as4_raw.members(s);
        as4.asns.insert(as4.asns.end(), m.begin(), m.end());
        as4.segments.push_back({s.type, begin, s.count});
    }
    const std::size_t n2 = path_length(as2);
    const std::size_t n4 = path_length(as4);
    if (n2 < n4) return;
    std::size_t keep = n2 - n4;
    std::size_t segments = 0;
    std::size_t asns = 0;
    for (auto& s : as2.segments) {
        if (keep == 0) break;
        if (s.type == as_segment_type::sequence) {
            const auto take = static_cast<std::uint32_t>(std::min<std::size_t>(keep, s.count));
            s.count = take;
            keep -= take;
        } else if (s.type == as_segment_type::set) {
            keep -= 1;
        }
        ++segments;
        asns = s.begin + s.count;
    }
    as2.segments.resize(segments);
    as2.asns.resize(asns);
    for (const auto& s : as4.segments) {
        const auto begin = static_cast<std::uint32_t>(as2.asns.size());
        const auto m = as4.members(s);
        as2.asns.insert(as2.asns.end(), m.begin(), m.end());
        as2.segments.push_back({s.type, begin, s.count});
    }
}

/// What a record's attribute block holds that the reader uses.
struct attributes {
    std::optional<cursor> mp_reach;
    std::optional<cursor> mp_unreach;
};

const char* subtype_name(std::uint16_t type, std::uint16_t subtype) {
    if (type == mrt_type::table_dump) return subtype == afi_ipv6 ? "TABLE_DUMP/AFI_IPv6" : "TABLE_DUMP/AFI_IPv4";
    if (type == mrt_type::table_dump_v2) {
        switch (subtype) {
            case td2::peer_index_table: return "TABLE_DUMP_V2/PEER_INDEX_TABLE";
            case td2::rib_ipv4_unicast: return "TABLE_DUMP_V2/RIB_IPV4_UNICAST";
            case td2::rib_ipv6_unicast: return "TABLE_DUMP_V2/RIB_IPV6_UNICAST";
            case td2::rib_ipv4_unicast_addpath: return "TABLE_DUMP_V2/RIB_IPV4_UNICAST_ADDPATH";
            case td2::rib_ipv6_unicast_addpath: return "TABLE_DUMP_V2/RIB_IPV6_UNICAST_ADDPATH";
            default: return "TABLE_DUMP_V2";
        }
    }
    return type == mrt_type::bgp4mp_et ? "BGP4MP_ET" : "BGP4MP";
}

class reader {
public:
    reader(byte_source& source, mrt_visitor& visitor, const mrt_read_options& options)
        : source_(source), visitor_(visitor), options_(options) {
        stats_.path = source.name();
        stats_.input_compression = source.kind();
    }

    mrt_read_stats run() {
        unsigned char header[header_bytes];
        while (true) {
            const std::uint64_t offset = offset_;
            const std::size_t got = source_.read(reinterpret_cast<char*>(header), header_bytes);
            if (got == 0) break;
            const std::uint64_t number = stats_.records + 1;
            if (got < header_bytes) {
                truncated(number, offset,
                          "the stream ends inside the 12-byte record header (" + std::to_string(got) + " bytes)");
                return stats_;
            }
            cursor h(header, header_bytes);
            const std::uint32_t timestamp = h.u32("");
            const std::uint16_t type = h.u16("");
            const std::uint16_t subtype = h.u16("");
            const std::uint32_t length = h.u32("");
            if (length > options_.max_record_bytes)
                throw mrt_error(source_.name(), number, offset,
                                "record length " + std::to_string(length) + " is over the limit of " +
                                    std::to_string(options_.max_record_bytes) + " bytes (type " +
                                    std::to_string(type) + ", subtype " + std::to_string(subtype) +
                                    "); not an MRT file, or a corrupt one");
            body_.resize(length);
            const std::size_t body_got = source_.read(reinterpret_cast<char*>(body_.data()), length);
            if (body_got < length) {
                truncated(number, offset,
                          "the stream ends inside the record (" + std::to_string(body_got) + " of " +
                              std::to_string(length) + " body bytes)");
                return stats_;
            }
            offset_ += header_bytes + length;
            stats_.records = number;
            stats_.bytes = offset_;
            if (stats_.first_timestamp == 0) stats_.first_timestamp = timestamp;
            stats_.last_timestamp = timestamp;
            try {
                dispatch(timestamp, type, subtype, cursor(body_.data(), body_.size()), number);
            } catch (const malformed& m) {
                throw mrt_error(source_.name(), number, offset, std::string(subtype_name(type, subtype)) + ": " + m.reason);
            }
        }
        if (source_.truncated()) truncated(stats_.records + 1, offset_, *source_.truncated());
        return stats_;
    }

private:
    void truncated(std::uint64_t number, std::uint64_t offset, const std::string& why) {
        const std::string reason = "truncated: " + why + "; " + std::to_string(stats_.records) +
                                   " complete records before it";
        if (!options_.allow_truncated)
            throw mrt_error(source_.name(), number, offset,
                            reason + " (allow truncated input, e.g. --allow-truncated, to keep them)");
        stats_.truncated = source_.name() + ": record " + std::to_string(number) + " at byte offset " +
                           std::to_string(offset) + ": " + reason;
    }

    void dispatch(std::uint32_t timestamp, std::uint16_t type, std::uint16_t subtype, cursor body, std::uint64_t number) {
        route_ = mrt_route{};
        route_.timestamp = timestamp;
        route_.record = number;
        switch (type) {
            case mrt_type::table_dump: return table_dump(subtype, body);
            case mrt_type::table_dump_v2: return table_dump_v2(timestamp, subtype, body);
            case mrt_type::bgp4mp: return bgp4mp(subtype, body);
            case mrt_type::bgp4mp_et:
                route_.microseconds = body.u32("BGP4MP_ET microsecond timestamp");
                return bgp4mp(subtype, body);
            default: ++stats_.skipped_other_records; return;
        }
    }

    // RFC 6396 4.2: legacy TABLE_DUMP, one RIB entry per record, 2-byte ASNs.
    void table_dump(std::uint16_t subtype, cursor c) {
        if (subtype != afi_ipv4 && subtype != afi_ipv6)
            throw malformed{"subtype (AFI) " + std::to_string(subtype) + ", expected 1 (IPv4) or 2 (IPv6)"};
        const bool v6 = subtype == afi_ipv6;
        c.u16("view number");
        c.u16("sequence number");
        cursor prefix_bytes = c.sub(v6 ? 16 : 4, "prefix");
        const std::uint8_t length = c.u8("prefix length");
        const unsigned max = v6 ? 128 : 32;
        if (length > max)
            throw malformed{"prefix length " + std::to_string(length) + " is over " + std::to_string(max)};
        ip_prefix p;
        p.length = length;
        if (v6) {
            p.family = ip_family::v6;
            uint128 v = 0;
            for (std::size_t i = 0; i < 16; ++i) v = (v << 8) | prefix_bytes.data()[i];
            p.v6 = v & v6_mask(length);
        } else {
            p.v4 = prefix_bytes.u32("prefix") & v4_mask(length);
        }
        c.u8("status");
        c.u32("originated time");
        peer_.address = read_address(c, v6, "peer address");
        peer_.asn = c.u16("peer AS");
        peer_.bgp_id = 0;
        const std::uint16_t attr_length = c.u16("attribute length");
        read_attributes(c.sub(attr_length, "attributes"), 2, false);
        ++stats_.rib_records;
        route_.kind = mrt_route_kind::rib;
        route_.prefix = p;
        route_.peer = &peer_;
        emit_with_path();
        ++stats_.rib_entries;
    }

    void table_dump_v2(std::uint32_t timestamp, std::uint16_t subtype, cursor c) {
        switch (subtype) {
            case td2::peer_index_table: return peer_index_table(timestamp, c);
            case td2::rib_ipv4_unicast: return rib(c, false, false, subtype);
            case td2::rib_ipv6_unicast: return rib(c, true, false, subtype);
            case td2::rib_ipv4_unicast_addpath: return rib(c, false, true, subtype);
            case td2::rib_ipv6_unicast_addpath: return rib(c, true, true, subtype);
            case td2::rib_ipv4_multicast:
            case td2::rib_ipv6_multicast:
            case td2::rib_ipv4_multicast_addpath:
            case td2::rib_ipv6_multicast_addpath: ++stats_.skipped_multicast; return;
            case td2::rib_generic:
            case td2::rib_generic_addpath: ++stats_.skipped_generic; return;
            default: ++stats_.skipped_other_records; return;  // GEO_PEER_TABLE (RFC 6397) and unknown
        }
    }

    // RFC 6396 4.3.1.
    void peer_index_table(std::uint32_t timestamp, cursor c) {
        mrt_peer_index_table t;
        t.timestamp = timestamp;
        t.collector_bgp_id = c.u32("collector BGP ID");
        const std::uint16_t name_length = c.u16("view name length");
        cursor name = c.sub(name_length, "view name");
        t.view_name.assign(reinterpret_cast<const char*>(name.data()), name_length);
        const std::uint16_t count = c.u16("peer count");
        t.peers.reserve(count);
        for (std::uint16_t i = 0; i < count; ++i) {
            const std::uint8_t type = c.u8("peer type");
            mrt_peer p;
            p.bgp_id = c.u32("peer BGP ID");
            p.address = read_address(c, (type & 0x01) != 0, "peer address");
            p.asn = (type & 0x02) != 0 ? c.u32("peer AS") : c.u16("peer AS");
            t.peers.push_back(p);
        }
        peers_ = std::move(t);
        ++stats_.peer_index_tables;
        visitor_.on_peer_index_table(*peers_);
    }

    // RFC 6396 4.3.2 (RIB_AFI_SAFI), RFC 8050 4 (path identifier per entry).
    void rib(cursor c, bool v6, bool addpath, std::uint16_t subtype) {
        if (!peers_)
            throw malformed{"RIB record before any PEER_INDEX_TABLE: its peer indexes cannot be resolved"};
        c.u32("sequence number");
        const ip_prefix prefix = read_nlri_prefix(c, v6, "prefix");
        const std::uint16_t entries = c.u16("entry count");
        ++stats_.rib_records;
        (void)subtype;
        for (std::uint16_t i = 0; i < entries; ++i) {
            const std::uint16_t index = c.u16("peer index");
            if (index >= peers_->peers.size())
                throw malformed{"entry " + std::to_string(i + 1) + ": peer index " + std::to_string(index) +
                                " is not in the PEER_INDEX_TABLE (" + std::to_string(peers_->peers.size()) + " peers)"};
            c.u32("originated time");
            route_.path_id.reset();
            if (addpath) route_.path_id = c.u32("path identifier");
            const std::uint16_t attr_length = c.u16("attribute length");
            read_attributes(c.sub(attr_length, "attributes"), 4, false);
            route_.kind = mrt_route_kind::rib;
            route_.prefix = prefix;
            route_.peer_index = index;
            route_.peer = &peers_->peers[index];
            emit_with_path();
            ++stats_.rib_entries;
        }
        if (!c.empty())
            throw malformed{std::to_string(c.remaining()) + " bytes after the last of " + std::to_string(entries) +
                            " entries"};
    }

    // RFC 6396 4.4.2 (BGP4MP_MESSAGE, _AS4), RFC 8050 3 (_ADDPATH).
    void bgp4mp(std::uint16_t subtype, cursor c) {
        bool as4 = false;
        bool addpath = false;
        switch (subtype) {
            case b4::state_change:
            case b4::state_change_as4: ++stats_.state_changes; return;
            case b4::message: break;
            case b4::message_as4: as4 = true; break;
            case b4::message_addpath: addpath = true; break;
            case b4::message_as4_addpath: as4 = addpath = true; break;
            case b4::message_local:
            case b4::message_as4_local:
            case b4::message_local_addpath:
            case b4::message_as4_local_addpath:
                // Sent by the collector, not learned from the peer.
                ++stats_.skipped_bgp_messages;
                return;
            default: ++stats_.skipped_other_records; return;
        }
        peer_.asn = as4 ? c.u32("peer AS") : c.u16("peer AS");
        if (as4)
            c.u32("local AS");
        else
            c.u16("local AS");
        c.u16("interface index");
        const std::uint16_t afi = c.u16("address family");
        if (afi != afi_ipv4 && afi != afi_ipv6)
            throw malformed{"address family " + std::to_string(afi) + ", expected 1 (IPv4) or 2 (IPv6)"};
        peer_.address = read_address(c, afi == afi_ipv6, "peer address");
        peer_.bgp_id = 0;
        read_address(c, afi == afi_ipv6, "local address");
        c.skip(16, "BGP marker");
        const std::uint16_t length = c.u16("BGP message length");
        if (length < bgp_header_bytes)
            throw malformed{"BGP message length " + std::to_string(length) + " is under the 19-byte header"};
        const std::uint8_t type = c.u8("BGP message type");
        cursor m = c.sub(length - bgp_header_bytes, "BGP message");
        if (type != bgp_update) {
            ++stats_.skipped_bgp_messages;
            return;
        }
        ++stats_.update_messages;
        route_.peer = &peer_;

        // RFC 4271 4.3: withdrawn routes (IPv4), path attributes, NLRI (IPv4).
        const std::uint16_t withdrawn_length = m.u16("withdrawn routes length");
        cursor withdrawn = m.sub(withdrawn_length, "withdrawn routes");
        const std::uint16_t attr_length = m.u16("total path attribute length");
        const attributes a = read_attributes(m.sub(attr_length, "path attributes"), as4 ? 4 : 2, true);
        cursor nlri = m;

        emit_withdrawals(withdrawn, false, addpath, "withdrawn routes");
        if (a.mp_unreach) {
            cursor u = *a.mp_unreach;
            const std::uint16_t mp_afi = u.u16("MP_UNREACH_NLRI AFI");
            const std::uint8_t safi = u.u8("MP_UNREACH_NLRI SAFI");
            if (safi != safi_unicast || (mp_afi != afi_ipv4 && mp_afi != afi_ipv6))
                ++stats_.skipped_non_unicast;
            else
                emit_withdrawals(u, mp_afi == afi_ipv6, addpath, "MP_UNREACH_NLRI");
        }
        emit_announcements(nlri, false, addpath, "NLRI");
        if (a.mp_reach) {
            cursor r = *a.mp_reach;
            const std::uint16_t mp_afi = r.u16("MP_REACH_NLRI AFI");
            const std::uint8_t safi = r.u8("MP_REACH_NLRI SAFI");
            const std::uint8_t next_hop_length = r.u8("MP_REACH_NLRI next hop length");
            r.skip(next_hop_length, "MP_REACH_NLRI next hop");
            r.u8("MP_REACH_NLRI reserved octet");
            if (safi != safi_unicast || (mp_afi != afi_ipv4 && mp_afi != afi_ipv6))
                ++stats_.skipped_non_unicast;
            else
                emit_announcements(r, mp_afi == afi_ipv6, addpath, "MP_REACH_NLRI");
        }
    }

    void emit_withdrawals(cursor c, bool v6, bool addpath, const char* what) {
        while (!c.empty()) {
            route_.path_id.reset();
            if (addpath) route_.path_id = c.u32(what);
            route_.kind = mrt_route_kind::withdraw;
            route_.prefix = read_nlri_prefix(c, v6, what);
            route_.path = &empty_path_;
            route_.origins = {};
            visitor_.on_route(route_);
            ++stats_.withdrawals;
        }
    }

    void emit_announcements(cursor c, bool v6, bool addpath, const char* what) {
        while (!c.empty()) {
            route_.path_id.reset();
            if (addpath) route_.path_id = c.u32(what);
            route_.kind = mrt_route_kind::announce;
            route_.prefix = read_nlri_prefix(c, v6, what);
            emit_with_path();
            ++stats_.announcements;
        }
    }

    void emit_with_path() {
        route_.path = &path_;
        route_.origins = origins_;
        visitor_.on_route(route_);
    }

    /// Walks one attribute block (RFC 4271 4.3): decodes AS_PATH (merged with
    /// AS4_PATH when the path is 2-byte) into path_ and origins_, and returns
    /// MP_REACH/MP_UNREACH when `want_mp` (inside a TABLE_DUMP_V2 entry,
    /// MP_REACH_NLRI is abbreviated to the next hop and of no use here).
    attributes read_attributes(cursor c, unsigned as_size, bool want_mp) {
        attributes a;
        std::optional<cursor> as_path_value;
        std::optional<cursor> as4_path_value;
        while (!c.empty()) {
            const std::uint8_t flags = c.u8("attribute flags");
            const std::uint8_t type = c.u8("attribute type");
            const std::size_t length = (flags & 0x10) != 0 ? c.u16("attribute length") : c.u8("attribute length");
            cursor value = c.sub(length, type == attr::as_path    ? "AS_PATH"
                                         : type == attr::as4_path ? "AS4_PATH"
                                                                  : "attribute value");
            // A repeated attribute: the first one counts (RFC 7606 3 (g)
            // discards the repeats).
            if (type == attr::as_path && !as_path_value) as_path_value = value;
            else if (type == attr::as4_path && !as4_path_value) as4_path_value = value;
            else if (want_mp && type == attr::mp_reach_nlri && !a.mp_reach) a.mp_reach = value;
            else if (want_mp && type == attr::mp_unreach_nlri && !a.mp_unreach) a.mp_unreach = value;
        }
        path_.clear();
        if (as_path_value) decode_as_path(*as_path_value, as_size, path_, "AS_PATH");
        // AS4_PATH only means something next to a 2-byte AS_PATH (RFC 6793 4.2.3).
        if (as_size == 2 && as4_path_value) {
            decode_as_path(*as4_path_value, 4, as4_, "AS4_PATH");
            merge_as4_path(path_, as4_, scratch_);
        }
        path_origins(path_, origins_);
        return a;
    }

    byte_source& source_;
    mrt_visitor& visitor_;
    const mrt_read_options& options_;
    mrt_read_stats stats_;
    std::uint64_t offset_ = 0;
    std::vector<unsigned char> body_;
    std::optional<mrt_peer_index_table> peers_;
    mrt_peer peer_;  // of the current TABLE_DUMP or BGP4MP record
    mrt_route route_;
    as_path path_, as4_, scratch_, empty_path_;
    std::vector<std::uint32_t> origins_;
};

}  // namespace

void path_origins(const as_path& path, std::vector<std::uint32_t>& out) {
    out.clear();
    for (auto it = path.segments.rbegin(); it != path.segments.rend(); ++it) {
        if (it->type == as_segment_type::confed_sequence || it->type == as_segment_type::confed_set) continue;
        if (it->count == 0) continue;
        const auto m = path.members(*it);
        if (it->type == as_segment_type::sequence) {
            out.push_back(m.back());
        } else {
            out.assign(m.begin(), m.end());
            std::sort(out.begin(), out.end());
            out.erase(std::unique(out.begin(), out.end()), out.end());
        }
        return;
    }
}

std::string to_string(const as_path& path) {
    std::string s;
    for (const auto& seg : path.segments) {
        if (!s.empty()) s += ' ';
        const auto m = path.members(seg);
        const char* open = "";
        const char* close = "";
        char sep = ' ';
        switch (seg.type) {
            case as_segment_type::sequence: break;
            case as_segment_type::set: open = "{", close = "}", sep = ','; break;
            case as_segment_type::confed_sequence: open = "(", close = ")"; break;
            case as_segment_type::confed_set: open = "[", close = "]", sep = ','; break;
        }
        s += open;
        for (std::size_t i = 0; i < m.size(); ++i) {
            if (i) s += sep;
            s += std::to_string(m[i]);
        }
        s += close;
    }
    return s;
}

mrt_read_stats read_mrt(byte_source& source, mrt_visitor& visitor, const mrt_read_options& options) {
    return reader(source, visitor, options).run();
}

mrt_read_stats read_mrt_file(const std::string& path, mrt_visitor& visitor, const mrt_read_options& options) {
    byte_source_options o;
    o.read_ahead = options.read_ahead;
    const auto source = byte_source::open(path, o);
    return read_mrt(*source, visitor, options);
}

bool looks_like_mrt_file(const std::string& path) {
    const auto source = byte_source::open(path);
    unsigned char h[header_bytes];
    if (source->read(reinterpret_cast<char*>(h), header_bytes) < header_bytes) return false;
    const std::uint16_t type = static_cast<std::uint16_t>((h[4] << 8) | h[5]);
    const std::uint16_t subtype = static_cast<std::uint16_t>((h[6] << 8) | h[7]);
    const std::uint32_t length = (std::uint32_t{h[8]} << 24) | (std::uint32_t{h[9]} << 16) | (std::uint32_t{h[10]} << 8) | h[11];
    // Text tables start with printable bytes; an MRT header starts with a
    // binary timestamp and a small type number, and a plausible length.
    const bool known = (type == mrt_type::table_dump && (subtype == afi_ipv4 || subtype == afi_ipv6)) ||
                       (type == mrt_type::table_dump_v2 && subtype >= 1 && subtype <= 12) ||
                       ((type == mrt_type::bgp4mp || type == mrt_type::bgp4mp_et) && subtype <= 11);
    return known && length <= (64u << 20);
}

}  // namespace registry_redirector
