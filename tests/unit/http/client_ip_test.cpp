#include <gtest/gtest.h>

#include <cstring>

#include "registry_redirector/http/client_ip.hpp"
#include "registry_redirector/http/proxy_protocol.hpp"

namespace registry_redirector {
namespace {

const trusted_proxy_set trusted({parse_ip_prefix("192.0.2.0/24").prefix, parse_ip_prefix("2001:db8::/32").prefix});
const ip_address proxy = *parse_ip_address("192.0.2.10");
const ip_address stranger = *parse_ip_address("198.51.100.1");
const ip_address client = *parse_ip_address("203.0.113.5");

client_ip_policy policy(std::vector<client_ip_header> headers = {client_ip_header::x_real_ip}, unsigned hops = 1) {
    return {trusted, std::move(headers), hops};
}

header_lines lines(std::initializer_list<std::string_view> values) {
    header_lines h;
    for (auto v : values) h.add(v);
    return h;
}

proxy_header_lines real_ip(std::initializer_list<std::string_view> values) {
    proxy_header_lines p;
    p.x_real_ip = lines(values);
    return p;
}

TEST(ClientIpTest, NoHeaderUsesThePeer) {
    const auto c = resolve_client_ip(stranger, {}, policy());
    EXPECT_EQ(c.address, stranger);
    EXPECT_EQ(c.source, client_ip_source::peer);
    EXPECT_EQ(resolve_client_ip(stranger, {}, policy(), client_ip_source::proxy_protocol).source,
              client_ip_source::proxy_protocol);
}

TEST(ClientIpTest, TrustedPeerNamesTheClient) {
    const auto c = resolve_client_ip(proxy, real_ip({"203.0.113.5"}), policy());
    EXPECT_EQ(c.address, client);
    EXPECT_EQ(c.source, client_ip_source::x_real_ip);
    const auto v6 = resolve_client_ip(*parse_ip_address("2001:db8::1"), real_ip({" 2001:db8:ffff::9\t"}), policy());
    EXPECT_EQ(v6.address, *parse_ip_address("2001:db8:ffff::9"));
}

TEST(ClientIpTest, UntrustedPeerHeaderIsIgnoredAndCounted) {
    const auto c = resolve_client_ip(stranger, real_ip({"203.0.113.5"}), policy());
    EXPECT_EQ(c.address, stranger);
    EXPECT_EQ(c.source, client_ip_source::untrusted_header);
    proxy_header_lines xff;
    xff.x_forwarded_for = lines({"203.0.113.5"});
    EXPECT_EQ(resolve_client_ip(stranger, xff, policy()).source, client_ip_source::untrusted_header);
}

TEST(ClientIpTest, InvalidRealIpFallsBackToThePeer) {
    for (const char* bad : {"", "1.2.3", "256.1.1.1", "1.2.3.4/24", "1.2.3.4:8080", "1.2.3.4, 5.6.7.8", "unknown",
                            "[2001:db8::1]", "1.2.3.4 5.6.7.8"}) {
        const auto c = resolve_client_ip(proxy, real_ip({bad}), policy());
        EXPECT_EQ(c.address, proxy) << bad;
        EXPECT_EQ(c.source, client_ip_source::invalid_header) << bad;
    }
    const auto two = resolve_client_ip(proxy, real_ip({"203.0.113.5", "203.0.113.6"}), policy());
    EXPECT_EQ(two.source, client_ip_source::invalid_header);
}

TEST(ClientIpTest, MappedPeerMatchesIpv4TrustedRange) {
    const auto c = resolve_client_ip(*parse_ip_address("::ffff:192.0.2.10"), real_ip({"203.0.113.5"}), policy());
    EXPECT_EQ(c.source, client_ip_source::x_real_ip);
}

TEST(ClientIpTest, NothingTrustedByDefault) {
    const auto c = resolve_client_ip(proxy, real_ip({"203.0.113.5"}), client_ip_policy{});
    EXPECT_EQ(c.source, client_ip_source::untrusted_header);
}

TEST(ClientIpTest, XForwardedForCountsTrustedHopsFromTheRight) {
    // Google Cloud LB: "<whatever the client sent>, <client>, <lb>".
    proxy_header_lines h;
    h.x_forwarded_for = lines({"1.1.1.1, 203.0.113.5, 192.0.2.99"});
    const auto gclb = resolve_client_ip(proxy, h, policy({client_ip_header::x_forwarded_for}, 2));
    EXPECT_EQ(gclb.address, client);
    EXPECT_EQ(gclb.source, client_ip_source::x_forwarded_for);
    // ingress-nginx: appends the address it saw, the last entry.
    h.x_forwarded_for = lines({"6.6.6.6,203.0.113.5"});
    EXPECT_EQ(resolve_client_ip(proxy, h, policy({client_ip_header::x_forwarded_for}, 1)).address, client);
    // Several lines are one list (RFC 9110 section 5.3).
    h.x_forwarded_for = lines({"6.6.6.6", "203.0.113.5", "192.0.2.99"});
    EXPECT_EQ(resolve_client_ip(proxy, h, policy({client_ip_header::x_forwarded_for}, 2)).address, client);
    // Ports and brackets, as some balancers write them.
    EXPECT_EQ(pick_forwarded_for(lines({"203.0.113.5:4711"}), 1), client);
    EXPECT_EQ(pick_forwarded_for(lines({"[2001:db8::7]:443"}), 1), *parse_ip_address("2001:db8::7"));
    EXPECT_EQ(pick_forwarded_for(lines({"2001:db8::7"}), 1), *parse_ip_address("2001:db8::7"));
}

TEST(ClientIpTest, XForwardedForTooShortOrBadIsInvalid) {
    proxy_header_lines h;
    h.x_forwarded_for = lines({"203.0.113.5"});
    EXPECT_EQ(resolve_client_ip(proxy, h, policy({client_ip_header::x_forwarded_for}, 2)).source,
              client_ip_source::invalid_header);
    for (const char* bad : {"garbage", "203.0.113.5,", "", " , ", "1.2.3.4:99999", "[2001:db8::1", "unknown"}) {
        h.x_forwarded_for = lines({bad});
        const auto c = resolve_client_ip(proxy, h, policy({client_ip_header::x_forwarded_for}, 1));
        EXPECT_EQ(c.source, client_ip_source::invalid_header) << bad;
        EXPECT_EQ(c.address, proxy) << bad;
    }
    header_lines many;
    for (int i = 0; i < 9; ++i) many.add("203.0.113.5");
    EXPECT_FALSE(pick_forwarded_for(many, 1));  // more lines than we keep: not trusted
}

TEST(ClientIpTest, ForwardedHeaderRfc7239) {
    auto pick = [](std::initializer_list<std::string_view> v, unsigned hops = 1) { return pick_forwarded(lines(v), hops); };
    EXPECT_EQ(pick({"for=203.0.113.5"}), client);
    EXPECT_EQ(pick({"For=\"203.0.113.5:8080\";proto=https;by=192.0.2.1"}), client);
    EXPECT_EQ(pick({"for=\"[2001:db8:cafe::17]:4711\""}), *parse_ip_address("2001:db8:cafe::17"));
    EXPECT_EQ(pick({"for=\"[2001:db8:cafe::17]\""}), *parse_ip_address("2001:db8:cafe::17"));
    EXPECT_EQ(pick({"for=192.0.2.43, for=203.0.113.5"}), client);
    EXPECT_EQ(pick({"for=203.0.113.5, for=192.0.2.43"}, 2), client);
    EXPECT_EQ(pick({"for=203.0.113.5", "for=192.0.2.43"}, 2), client);
    EXPECT_EQ(pick({"for=\"_gazonk\""}), std::nullopt);      // obfuscated
    EXPECT_EQ(pick({"for=unknown"}), std::nullopt);
    EXPECT_EQ(pick({"proto=https"}), std::nullopt);          // no for=
    // RFC 7239 wants IPv6 quoted and bracketed; a trusted proxy that skips
    // that still means the address, so it is read leniently.
    EXPECT_EQ(pick({"for=2001:db8::1"}), *parse_ip_address("2001:db8::1"));
    EXPECT_EQ(pick({"for=\"a,b\", for=203.0.113.5"}), client);  // a quoted comma does not split
    EXPECT_EQ(pick({"for=\"203.0.113.5\\\"\""}), std::nullopt);
}

TEST(ClientIpTest, FirstPresentHeaderInPrecedenceOrderDecides) {
    proxy_header_lines h;
    h.x_real_ip = lines({"198.51.100.200"});
    h.forwarded = lines({"for=203.0.113.5"});
    const auto c = resolve_client_ip(proxy, h, policy({client_ip_header::forwarded, client_ip_header::x_real_ip}));
    EXPECT_EQ(c.address, client);
    EXPECT_EQ(c.source, client_ip_source::forwarded);
    const auto d = resolve_client_ip(proxy, h, policy({client_ip_header::x_real_ip, client_ip_header::forwarded}));
    EXPECT_EQ(d.source, client_ip_source::x_real_ip);
    // A header the deployment does not honour is ignored, even from a trusted peer.
    const auto e = resolve_client_ip(proxy, h, policy({client_ip_header::x_forwarded_for}));
    EXPECT_EQ(e.address, proxy);
    EXPECT_EQ(e.source, client_ip_source::peer);
}

TEST(ProxyProtocolTest, Version1) {
    const std::string tcp4 = "PROXY TCP4 203.0.113.5 192.0.2.1 56324 443\r\nGET / HTTP/1.1\r\n";
    auto r = parse_proxy_protocol(tcp4.data(), tcp4.size());
    ASSERT_EQ(r.what, proxy_protocol_result::kind::header);
    EXPECT_EQ(r.consumed, tcp4.find("GET"));
    EXPECT_EQ(r.source, client);
    const std::string tcp6 = "PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n";
    r = parse_proxy_protocol(tcp6.data(), tcp6.size());
    ASSERT_EQ(r.what, proxy_protocol_result::kind::header);
    EXPECT_EQ(r.source, *parse_ip_address("2001:db8::1"));
    const std::string unknown = "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n";
    r = parse_proxy_protocol(unknown.data(), unknown.size());
    EXPECT_EQ(r.what, proxy_protocol_result::kind::header);
    EXPECT_FALSE(r.source);
    for (std::size_t n = 0; n < tcp4.find("\r\n") + 1; ++n)
        EXPECT_EQ(parse_proxy_protocol(tcp4.data(), n).what, proxy_protocol_result::kind::need_more) << n;
    for (const char* bad : {"PROXY TCP4 203.0.113.5 192.0.2.1 56324\r\n", "PROXY TCP4 2001:db8::1 192.0.2.1 1 2\r\n",
                            "PROXY TCP5 203.0.113.5 192.0.2.1 1 2\r\n", "PROXY TCP4 203.0.113.5 192.0.2.1 1 99999\r\n",
                            "PROXY TCP4 203.0.113.5 192.0.2.1 1 2 3\r\n"})
        EXPECT_EQ(parse_proxy_protocol(bad, std::strlen(bad)).what, proxy_protocol_result::kind::invalid) << bad;
    const std::string endless = "PROXY TCP4 " + std::string(200, '1');
    EXPECT_EQ(parse_proxy_protocol(endless.data(), endless.size()).what, proxy_protocol_result::kind::invalid);
    const std::string http = "GET / HTTP/1.1\r\n\r\n";
    EXPECT_EQ(parse_proxy_protocol(http.data(), http.size()).what, proxy_protocol_result::kind::absent);
    EXPECT_EQ(parse_proxy_protocol("G", 1).what, proxy_protocol_result::kind::absent);
}

std::string v2(unsigned char command, unsigned char family, std::string addresses) {
    std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
    h += static_cast<char>(0x20 | command);
    h += static_cast<char>(family);
    h += static_cast<char>(addresses.size() >> 8);
    h += static_cast<char>(addresses.size() & 0xff);
    return h + addresses;
}

TEST(ProxyProtocolTest, Version2) {
    const std::string ipv4 = v2(1, 0x11, std::string("\xcb\x00\x71\x05\xc0\x00\x02\x01\x12\x34\x01\xbb", 12));
    auto r = parse_proxy_protocol(ipv4.data(), ipv4.size());
    ASSERT_EQ(r.what, proxy_protocol_result::kind::header);
    EXPECT_EQ(r.consumed, 28u);
    EXPECT_EQ(r.source, client);
    std::string a6(36, '\0');
    a6[0] = '\x20'; a6[1] = '\x01'; a6[2] = '\x0d'; a6[3] = '\xb8'; a6[15] = '\x07';
    const std::string ipv6 = v2(1, 0x21, a6 + "TLVs");  // TLVs after the addresses are skipped
    r = parse_proxy_protocol(ipv6.data(), ipv6.size());
    ASSERT_EQ(r.what, proxy_protocol_result::kind::header);
    EXPECT_EQ(r.consumed, ipv6.size());
    EXPECT_EQ(r.source, *parse_ip_address("2001:db8::7"));
    const std::string local = v2(0, 0x00, "");
    r = parse_proxy_protocol(local.data(), local.size());
    EXPECT_EQ(r.what, proxy_protocol_result::kind::header);
    EXPECT_FALSE(r.source);
    for (std::size_t n = 0; n < ipv4.size(); ++n)
        EXPECT_EQ(parse_proxy_protocol(ipv4.data(), n).what, proxy_protocol_result::kind::need_more) << n;
    const std::string short_v4 = v2(1, 0x11, std::string(4, '\x01'));
    EXPECT_EQ(parse_proxy_protocol(short_v4.data(), short_v4.size()).what, proxy_protocol_result::kind::invalid);
    std::string bad_version = ipv4;
    bad_version[12] = '\x11';
    EXPECT_EQ(parse_proxy_protocol(bad_version.data(), bad_version.size()).what, proxy_protocol_result::kind::invalid);
    const std::string huge = v2(1, 0x11, std::string(5000, '\x01'));
    EXPECT_EQ(parse_proxy_protocol(huge.data(), 16).what, proxy_protocol_result::kind::invalid);
}

TEST(ProxyProtocolTest, Version2FamiliesWithoutAnIpAddressFallBackToThePeer) {
    // proxy-protocol.txt section 2.2: a receiver falls back to UNSPEC (the
    // real connection's addresses) for a valid family it does not support.
    using no_source = proxy_protocol_result::no_source;
    const std::string unix_socket = v2(1, 0x31, std::string(216, '\0') + "TLV");
    auto r = parse_proxy_protocol(unix_socket.data(), unix_socket.size());
    ASSERT_EQ(r.what, proxy_protocol_result::kind::header);
    EXPECT_EQ(r.consumed, unix_socket.size());
    EXPECT_FALSE(r.source);
    EXPECT_EQ(r.fallback, no_source::v2_unix);
    for (const std::string& unspec : {v2(1, 0x00, ""), v2(1, 0x01, std::string(12, '\x01'))}) {
        r = parse_proxy_protocol(unspec.data(), unspec.size());
        ASSERT_EQ(r.what, proxy_protocol_result::kind::header);
        EXPECT_EQ(r.consumed, unspec.size());
        EXPECT_FALSE(r.source);
        EXPECT_EQ(r.fallback, no_source::v2_unspec);
    }
    const std::string local = v2(0, 0x31, std::string(216, '\0'));  // LOCAL ignores the family
    EXPECT_EQ(parse_proxy_protocol(local.data(), local.size()).fallback, no_source::local);
    const std::string v4 = v2(1, 0x11, std::string(12, '\x01'));
    EXPECT_EQ(parse_proxy_protocol(v4.data(), v4.size()).fallback, no_source::none);
    const std::string v1_unknown = "PROXY UNKNOWN\r\n";
    EXPECT_EQ(parse_proxy_protocol(v1_unknown.data(), v1_unknown.size()).fallback, no_source::v1_unknown);
    // Still refused: a truncated AF_UNIX block, families above AF_UNIX and
    // transports above DGRAM ("must be rejected as invalid by receivers").
    for (const std::string& bad : {v2(1, 0x31, std::string(100, '\0')), v2(1, 0x41, std::string(12, '\x01')),
                                   v2(1, 0xf1, ""), v2(1, 0x13, std::string(12, '\x01'))}) {
        EXPECT_EQ(parse_proxy_protocol(bad.data(), bad.size()).what, proxy_protocol_result::kind::invalid)
            << testing::PrintToString(bad.substr(12, 4));
    }
}

}  // namespace
}  // namespace registry_redirector
