#pragma once
// Builders for crafted MRT records (RFC 6396) in tests: big-endian fields,
// attributes, AS paths, RIB and BGP4MP records.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace registry_redirector::testing::mrt {

inline std::string u8(unsigned v) { return std::string(1, static_cast<char>(v & 0xff)); }
inline std::string be16(unsigned v) { return u8(v >> 8) + u8(v); }
inline std::string be32(std::uint32_t v) { return be16(v >> 16) + be16(v & 0xffff); }

/// An MRT record: header (time, type, subtype, length) and body.
inline std::string record(std::uint32_t time, unsigned type, unsigned subtype, const std::string& body) {
    return be32(time) + be16(type) + be16(subtype) + be32(static_cast<std::uint32_t>(body.size())) + body;
}

struct segment {
    unsigned type;  // 1 AS_SET, 2 AS_SEQUENCE, 3 AS_CONFED_SEQUENCE, 4 AS_CONFED_SET
    std::vector<std::uint32_t> asns;
};
inline segment seq(std::vector<std::uint32_t> a) { return {2, std::move(a)}; }
inline segment set(std::vector<std::uint32_t> a) { return {1, std::move(a)}; }

/// A path attribute; extended length when the value needs it or is asked for.
inline std::string attribute(unsigned type, const std::string& value, bool extended = false) {
    extended = extended || value.size() > 255;
    const unsigned flags = 0x40 | (extended ? 0x10 : 0);
    return u8(flags) + u8(type) + (extended ? be16(static_cast<unsigned>(value.size())) : u8(static_cast<unsigned>(value.size()))) + value;
}

inline std::string path_value(const std::vector<segment>& segments, unsigned as_size) {
    std::string v;
    for (const auto& s : segments) {
        v += u8(s.type) + u8(static_cast<unsigned>(s.asns.size()));
        for (auto a : s.asns) v += as_size == 4 ? be32(a) : be16(a);
    }
    return v;
}
inline std::string as_path_attr(const std::vector<segment>& s, unsigned as_size = 4) { return attribute(2, path_value(s, as_size)); }
inline std::string as4_path_attr(const std::vector<segment>& s) { return attribute(17, path_value(s, 4)) ; }
inline std::string origin_igp() { return attribute(1, u8(0)); }

/// NLRI encoding of a prefix: length, then the significant octets of `bytes`.
inline std::string nlri(const std::string& bytes, unsigned length) { return u8(length) + bytes.substr(0, (length + 7) / 8); }
inline std::string v4(unsigned a, unsigned b, unsigned c, unsigned d) { return u8(a) + u8(b) + u8(c) + u8(d); }
/// 2001:db8:XXXX:: as 16 bytes.
inline std::string v6_db8(unsigned third) { return be16(0x2001) + be16(0x0db8) + be16(third) + std::string(10, '\0'); }

struct peer_entry {
    std::string address;  // 4 or 16 bytes
    std::uint32_t asn;
    std::uint32_t bgp_id;
};
inline std::string peer_index_table(std::uint32_t collector, const std::string& view, const std::vector<peer_entry>& peers) {
    std::string b = be32(collector) + be16(static_cast<unsigned>(view.size())) + view + be16(static_cast<unsigned>(peers.size()));
    for (const auto& p : peers) {
        const bool v6 = p.address.size() == 16;
        b += u8((v6 ? 1 : 0) | 2) + be32(p.bgp_id) + p.address + be32(p.asn);
    }
    return b;
}

struct rib_entry {
    unsigned peer_index;
    std::string attributes;
    std::uint32_t path_id = 0;
};
/// RIB_AFI_SAFI body (RFC 6396 4.3.2); ADD-PATH (RFC 8050) adds a path id.
inline std::string rib(std::uint32_t sequence, const std::string& prefix_nlri, const std::vector<rib_entry>& entries,
                       bool addpath = false) {
    std::string b = be32(sequence) + prefix_nlri + be16(static_cast<unsigned>(entries.size()));
    for (const auto& e : entries) {
        b += be16(e.peer_index) + be32(1400000000);
        if (addpath) b += be32(e.path_id);
        b += be16(static_cast<unsigned>(e.attributes.size())) + e.attributes;
    }
    return b;
}

/// A BGP UPDATE message (RFC 4271 4.3) with its 19-byte header.
inline std::string update(const std::string& withdrawn, const std::string& attributes, const std::string& nlri_bytes) {
    const std::string body = be16(static_cast<unsigned>(withdrawn.size())) + withdrawn +
                             be16(static_cast<unsigned>(attributes.size())) + attributes + nlri_bytes;
    return std::string(16, '\xff') + be16(static_cast<unsigned>(19 + body.size())) + u8(2) + body;
}

/// BGP4MP_MESSAGE(_AS4) body over IPv4 or IPv6 peer/local addresses.
inline std::string bgp4mp_message(bool as4, std::uint32_t peer_as, const std::string& peer_address,
                                  const std::string& message) {
    const bool v6 = peer_address.size() == 16;
    std::string b = as4 ? be32(peer_as) + be32(64999) : be16(peer_as) + be16(64999);
    b += be16(0) + be16(v6 ? 2 : 1) + peer_address + std::string(v6 ? 16 : 4, '\x01') + message;
    return b;
}

}  // namespace registry_redirector::testing::mrt
