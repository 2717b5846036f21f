// Writes a synthetic TABLE_DUMP_V2 RIB dump (RFC 6396) of realistic shape to
// stdout, for bench/mrt_bench.sh: a PEER_INDEX_TABLE of P peers (half IPv4,
// half IPv6 sessions, 4-byte ASNs), then N IPv4 and M IPv6 prefixes
// (distinct, lengths as in a real table: mostly /24 and /48, some shorter),
// each carried by every peer with ORIGIN, AS_PATH (3 to 7 ASNs ending at the
// prefix's origin; 1 % end in an AS_SET; 5 % of peers see another origin),
// NEXT_HOP or an abbreviated MP_REACH_NLRI, MED and, for a third, COMMUNITIES.
//
//   make_synthetic_rib [--v4 N] [--v6 M] [--peers P] [--seed S] > rib.mrt
//
// Deterministic for given arguments.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <unordered_set>
#include <vector>

namespace {

struct rng {
    std::uint64_t s;
    std::uint64_t next() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    }
    std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>(next() % n); }
};

void u8(std::string& b, unsigned v) { b.push_back(static_cast<char>(v & 0xff)); }
void u16(std::string& b, unsigned v) {
    u8(b, v >> 8);
    u8(b, v);
}
void u32(std::string& b, std::uint32_t v) {
    u16(b, v >> 16);
    u16(b, v & 0xffff);
}

void record(std::FILE* out, std::uint32_t time, unsigned subtype, const std::string& body) {
    std::string h;
    u32(h, time);
    u16(h, 13);
    u16(h, subtype);
    u32(h, static_cast<std::uint32_t>(body.size()));
    std::fwrite(h.data(), 1, h.size(), out);
    std::fwrite(body.data(), 1, body.size(), out);
}

void attribute(std::string& b, unsigned flags, unsigned type, const std::string& value) {
    if (value.size() > 255) flags |= 0x10;
    u8(b, flags);
    u8(b, type);
    if (flags & 0x10) u16(b, static_cast<unsigned>(value.size()));
    else u8(b, static_cast<unsigned>(value.size()));
    b += value;
}

}  // namespace

int main(int argc, char** argv) {
    std::uint32_t v4 = 1'000'000, v6 = 200'000, peers = 30;
    std::uint64_t seed = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        const unsigned long v = std::strtoul(argv[i + 1], nullptr, 10);
        if (a == "--v4") v4 = static_cast<std::uint32_t>(v);
        else if (a == "--v6") v6 = static_cast<std::uint32_t>(v);
        else if (a == "--peers") peers = static_cast<std::uint32_t>(v);
        else if (a == "--seed") seed = v;
        else {
            std::fprintf(stderr, "usage: make_synthetic_rib [--v4 N] [--v6 M] [--peers P] [--seed S] > rib.mrt\n");
            return 2;
        }
    }
    if (peers == 0 || peers > 65535 || v4 > 4'000'000 || v6 > 1'000'000) {
        std::fprintf(stderr, "peers 1..65535, v4 at most 4000000, v6 at most 1000000\n");
        return 2;
    }
    std::FILE* out = stdout;
    std::vector<char> buffer(1 << 20);
    std::setvbuf(out, buffer.data(), _IOFBF, buffer.size());
    const std::uint32_t time = 1781856000;  // 2026-06-19T08:00:00Z

    std::string b;
    u32(b, 0xc0000201);  // collector BGP ID
    u16(b, 0);           // no view name
    u16(b, peers);
    for (std::uint32_t i = 0; i < peers; ++i) {
        const bool v6_peer = i % 2 == 1;
        u8(b, (v6_peer ? 1 : 0) | 2);
        u32(b, 0x0a000000 + i);
        if (v6_peer) {
            u32(b, 0x20010db8);
            u32(b, 0);
            u32(b, 0);
            u32(b, i);
        } else {
            u32(b, 0xc6336400 + i);  // 198.51.100.i
        }
        u32(b, 64512 + i * 7 + 100000);
    }
    record(out, time, 1, b);

    rng r{seed * 0x9e3779b97f4a7c15ULL + 1};
    std::uint32_t sequence = 0;
    std::string attrs, value;
    auto rib_record = [&](bool is_v6, const std::string& prefix_nlri, std::uint32_t origin) {
        b.clear();
        u32(b, sequence++);
        b += prefix_nlri;
        u16(b, peers);
        const bool set_origin = r.below(100) == 0;
        for (std::uint32_t p = 0; p < peers; ++p) {
            attrs.clear();
            attribute(attrs, 0x40, 1, std::string(1, '\0'));  // ORIGIN IGP
            value.clear();
            const unsigned hops = 2 + r.below(5);
            u8(value, 2);
            u8(value, hops + 1);
            u32(value, 64512 + p * 7 + 100000);  // the peer's AS first
            for (unsigned h = 1; h < hops; ++h) u32(value, 1000 + r.below(60000));
            const std::uint32_t o = r.below(20) == 0 ? origin + 1 : origin;  // 5 %: another origin (MOAS, leaks)
            u32(value, o);
            if (set_origin) {
                u8(value, 1);
                u8(value, 2);
                u32(value, o);
                u32(value, o + 7);
            }
            attribute(attrs, 0x50, 2, value);  // AS_PATH, extended length as collectors write it
            value.clear();
            if (is_v6) {
                u8(value, 16);  // abbreviated MP_REACH_NLRI (RFC 6396 4.3.4): next hop only
                u32(value, 0x20010db8);
                u32(value, 0);
                u32(value, 0);
                u32(value, p);
                attribute(attrs, 0x80, 14, value);
            } else {
                u32(value, 0xc6336400 + p);
                attribute(attrs, 0x40, 3, value);  // NEXT_HOP
            }
            value.clear();
            u32(value, r.below(1000));
            attribute(attrs, 0x80, 4, value);  // MED
            if (p % 3 == 0) {
                value.clear();
                u32(value, (o & 0xffff) << 16 | 100);
                u32(value, (o & 0xffff) << 16 | 2000);
                attribute(attrs, 0xc0, 8, value);  // COMMUNITIES
            }
            u16(b, p);
            u32(b, time - r.below(86400 * 30));
            u16(b, static_cast<unsigned>(attrs.size()));
            b += attrs;
        }
        record(out, time, is_v6 ? 4 : 2, b);
    };

    // IPv4: 60 % /24, the rest /16../23, over the /8s that hold no bogon
    // (a bijective stride over their /24s keeps the /24s distinct; a shorter
    // prefix that repeats one already written becomes the /24 instead).
    std::vector<unsigned> firsts;
    for (unsigned f = 1; f <= 223; ++f)
        if (f != 10 && f != 100 && f != 127 && f != 169 && f != 172 && f != 192 && f != 198 && f != 203) firsts.push_back(f);
    const std::uint64_t slots = std::uint64_t{firsts.size()} << 16;
    std::uint64_t stride = 2654435761u;
    while (std::gcd(stride, slots) != 1) stride += 2;
    std::unordered_set<std::uint64_t> seen;
    std::string nlri;
    for (std::uint32_t i = 0; i < v4; ++i) {
        const std::uint64_t slot = (std::uint64_t{i} * stride) % slots;
        const std::uint32_t slash24 = static_cast<std::uint32_t>(firsts[slot >> 16] << 24 | (slot & 0xffff) << 8);
        unsigned length = 24;
        if (r.below(10) >= 6) length = 16 + r.below(8);
        std::uint32_t network = slash24 & (~std::uint32_t{0} << (32 - length));
        if (!seen.insert(std::uint64_t{network} << 8 | length).second) {
            length = 24;
            network = slash24;
            seen.insert(std::uint64_t{network} << 8 | length);
        }
        nlri.clear();
        u8(nlri, length);
        for (unsigned k = 0; k < (length + 7) / 8; ++k) u8(nlri, network >> (24 - 8 * k));
        rib_record(false, nlri, 1000 + (i % 70000) * 3 + 200000);
    }
    // IPv6: under 2a00::/12, prefix i in bits 32..51 (so even the /32s are
    // distinct), 50 % /48, the rest /32../47.
    for (std::uint32_t i = 0; i < v6; ++i) {
        unsigned length = 48;
        if (r.below(2) == 0) length = 32 + r.below(16);
        const std::uint64_t top = (std::uint64_t{0x2a0} << 52) | (std::uint64_t{i} << 32) | (std::uint64_t{r.below(0x10000)} << 16);
        const std::uint64_t masked = top & (~std::uint64_t{0} << (64 - length));
        nlri.clear();
        u8(nlri, length);
        for (unsigned k = 0; k < (length + 7) / 8; ++k) u8(nlri, static_cast<unsigned>(masked >> (56 - 8 * k)));
        rib_record(true, nlri, 1000 + (i % 30000) * 5 + 300000);
    }
    return std::fflush(out) == 0 ? 0 : 1;
}
