// libFuzzer target: everything that turns attacker-supplied text into the
// client address a request is routed by.
//
// Input layout: 3 control bytes, then text.
//   [0] bits 0-2 peer (see `peers`), bit 3 peer_source proxy_protocol
//   [1] honoured headers and their order (see `policies`)
//   [2] trusted_hops (0-17: 0 and >16 are outside the config's range but
//       the API takes them)
// The text is
//  - handed whole to parse_proxy_protocol, as a connection's first bytes;
//  - split into lines; each whole line goes through parse_ip_address,
//    parse_ip_prefix, make_ip_prefix and parse_real_ip_value, and a line
//    starting "R:", "X:" or "F:" is an X-Real-Ip, X-Forwarded-For or
//    Forwarded header line (value after the colon) for resolve_client_ip.

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry_redirector/http/client_ip.hpp"
#include "registry_redirector/net/ip_address.hpp"
#include "registry_redirector/net/ip_prefix.hpp"
#include "registry_redirector/http/proxy_protocol.hpp"
#include "fuzz_check.hpp"

using namespace registry_redirector;


namespace {

ip_prefix prefix(const char* text) {
    const auto r = parse_ip_prefix(text);
    CHECK(r.ok());
    return r.prefix;
}

const trusted_proxy_set& trusted() {
    static const trusted_proxy_set t({prefix("127.0.0.0/8"), prefix("2001:db8::/64"), prefix("10.0.0.0/31")});
    return t;
}

constexpr const char* peers[8] = {"127.0.0.1", "127.255.255.254", "::ffff:127.0.0.1", "192.0.2.1",
                                  "2001:db8::1", "2001:db8:0:1::1", "10.0.0.1", "10.0.0.2"};

std::vector<client_ip_header> policy_headers(unsigned b) {
    using h = client_ip_header;
    static const std::vector<client_ip_header> policies[] = {
        {h::x_real_ip},
        {h::x_forwarded_for},
        {h::forwarded},
        {h::x_real_ip, h::x_forwarded_for, h::forwarded},
        {h::forwarded, h::x_forwarded_for, h::x_real_ip},
        {h::x_forwarded_for, h::x_real_ip},
        {h::forwarded, h::x_real_ip},
        {},
    };
    return policies[b % 8];
}

void check_address_text(std::string_view s) {
    // parse_ipv4_text agrees with inet_pton (which also refuses leading zeros).
    if (s.size() < 64 && s.find('\0') == std::string_view::npos) {
        char z[64];
        std::memcpy(z, s.data(), s.size());
        z[s.size()] = '\0';
        unsigned char bytes[16];
        const bool libc = inet_pton(AF_INET, z, bytes) == 1;
        const auto ours = parse_ipv4_text(s);
        CHECK(libc == ours.has_value());
        if (ours) CHECK(*ours == (std::uint32_t{bytes[0]} << 24 | std::uint32_t{bytes[1]} << 16 |
                                  std::uint32_t{bytes[2]} << 8 | bytes[3]));
    }
    if (const auto a = parse_ip_address(s)) {
        // Canonical text reads back as the same address, and mapped
        // addresses are always folded into IPv4.
        CHECK(parse_ip_address(to_string(*a)) == a);
        if (a->family == ip_family::v6) CHECK((a->v6 >> 32) != 0xffff);
        CHECK(parse_real_ip_value(s) == a);
    }
    const auto p = parse_ip_prefix(s);
    if (p.ok()) {
        const ip_prefix& x = p.prefix;
        CHECK(x.length <= x.max_length());
        if (x.family == ip_family::v4) {
            CHECK((x.v4 & ~v4_mask(x.length)) == 0);
        } else {
            CHECK((x.v6 & ~v6_mask(x.length)) == 0);
            CHECK(!(x.length >= 96 && (x.v6 >> 32) == 0xffff));
        }
        const auto again = parse_ip_prefix(to_string(x));
        CHECK(again.ok() && again.prefix == x);
        const auto slash = s.find('/');
        const auto split = make_ip_prefix(s.substr(0, slash), s.substr(slash + 1));
        CHECK(split.ok() && split.prefix == x);
    }
}

bool same(const proxy_protocol_result& a, const proxy_protocol_result& b) {
    return a.what == b.what && a.consumed == b.consumed && a.source == b.source;
}

void check_proxy_protocol(const char* data, std::size_t size) {
    using kind = proxy_protocol_result::kind;
    const proxy_protocol_result full = parse_proxy_protocol(data, size);
    if (full.what == kind::header) CHECK(full.consumed > 0 && full.consumed <= size);
    if (full.what == kind::need_more) CHECK(size < 1024);  // the session's buffer is never exhausted by it
    if (full.what == kind::header && full.source && full.source->family == ip_family::v6)
        CHECK((full.source->v6 >> 32) != 0xffff);
    // Bytes arrive in pieces: a prefix may only say "need more" or what the
    // whole says, and a decided header never changes with later bytes.
    for (std::size_t k : {std::size_t{1}, std::size_t{5}, std::size_t{6}, std::size_t{12}, std::size_t{15},
                          std::size_t{16}, std::size_t{28}, std::size_t{52}, std::size_t{106}, std::size_t{107},
                          std::size_t{108}, size / 2, size - (size > 0)}) {
        if (k == 0 || k >= size) continue;
        const proxy_protocol_result part = parse_proxy_protocol(data, k);
        if (part.what == kind::need_more) continue;
        CHECK(same(part, full));
    }
}

/// With `suffix` appended to the last line by a trusted proxy, whatever the
/// client wrote before must not change which entry is picked.
template <class Pick>
void check_appended(const header_lines& lines, std::string_view suffix, unsigned hops, Pick pick) {
    if (lines.count == 0 || lines.count > header_lines::max_lines) return;
    header_lines with = lines;
    const std::string last = std::string(lines.values[lines.count - 1]) + std::string(suffix);
    with.values[lines.count - 1] = last;
    const auto got = pick(with, hops);
    CHECK(got.has_value() && *got == *parse_ip_address("203.0.113.9"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    const ip_address peer = *parse_ip_address(peers[data[0] & 7]);
    const client_ip_source peer_source = (data[0] & 8) ? client_ip_source::proxy_protocol : client_ip_source::peer;
    client_ip_policy policy;
    policy.trusted = trusted();
    policy.headers = policy_headers(data[1]);
    policy.trusted_hops = data[2] % 18;
    const char* text = reinterpret_cast<const char*>(data + 3);
    const std::size_t text_size = size - 3;

    check_proxy_protocol(text, text_size);

    proxy_header_lines headers;
    std::vector<std::string_view> lines;
    for (std::size_t at = 0; at <= text_size;) {
        std::size_t eol = std::string_view(text, text_size).find('\n', at);
        if (eol == std::string_view::npos) eol = text_size;
        std::string_view line(text + at, eol - at);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        check_address_text(line);
        if (line.size() >= 2 && line[1] == ':') {
            const std::string_view value = line.substr(2);
            if (line[0] == 'R') headers.x_real_ip.add(value);
            if (line[0] == 'X') headers.x_forwarded_for.add(value);
            if (line[0] == 'F') headers.forwarded.add(value);
        }
        at = eol + 1;
    }

    const client_ip got = resolve_client_ip(peer, headers, policy, peer_source);
    const bool is_trusted = policy.trusted.contains(peer);
    const bool any = headers.x_real_ip.count || headers.x_forwarded_for.count || headers.forwarded.count;
    if (!is_trusted) CHECK(got.address == peer);  // an untrusted peer never names the client
    if (!any) CHECK(got.address == peer && got.source == peer_source);
    switch (got.source) {
        case client_ip_source::peer:
        case client_ip_source::proxy_protocol:
            CHECK(got.source == peer_source && got.address == peer);
            break;
        case client_ip_source::untrusted_header:
        case client_ip_source::invalid_header:
            CHECK(got.address == peer && any);
            CHECK(is_trusted == (got.source == client_ip_source::invalid_header));
            break;
        case client_ip_source::x_real_ip:
            CHECK(is_trusted && headers.x_real_ip.count == 1);
            CHECK(parse_real_ip_value(headers.x_real_ip.values[0]) == got.address);
            break;
        case client_ip_source::x_forwarded_for:
            CHECK(is_trusted && pick_forwarded_for(headers.x_forwarded_for, policy.trusted_hops) == got.address);
            break;
        case client_ip_source::forwarded:
            CHECK(is_trusted && pick_forwarded(headers.forwarded, policy.trusted_hops) == got.address);
            break;
    }
    // The first honoured header present decides.
    for (const client_ip_header h : policy.headers) {
        const unsigned count = h == client_ip_header::x_real_ip         ? headers.x_real_ip.count
                               : h == client_ip_header::x_forwarded_for ? headers.x_forwarded_for.count
                                                                        : headers.forwarded.count;
        if (count == 0) continue;
        const client_ip_source expected = h == client_ip_header::x_real_ip         ? client_ip_source::x_real_ip
                                          : h == client_ip_header::x_forwarded_for ? client_ip_source::x_forwarded_for
                                                                                   : client_ip_source::forwarded;
        if (is_trusted) CHECK(got.source == expected || got.source == client_ip_source::invalid_header);
        else CHECK(got.source == client_ip_source::untrusted_header);
        break;
    }

    // Anti-spoofing: the client controls everything left of what its
    // trusted proxies append (ingress-nginx: ", <client>"; a Google load
    // balancer: ", <client>, <lb>").
    auto xff = [](const header_lines& l, unsigned hops) { return pick_forwarded_for(l, hops); };
    auto fwd = [](const header_lines& l, unsigned hops) { return pick_forwarded(l, hops); };
    check_appended(headers.x_forwarded_for, ", 203.0.113.9", 1, xff);
    check_appended(headers.x_forwarded_for, ",203.0.113.9, 198.51.100.1", 2, xff);
    check_appended(headers.forwarded, ", for=203.0.113.9", 1, fwd);
    check_appended(headers.forwarded, ", for=\"203.0.113.9\";proto=https, for=198.51.100.1", 2, fwd);
    return 0;
}
