#include <gtest/gtest.h>

#include "registry_redirector/client_ip.hpp"

namespace registry_redirector {
namespace {

const trusted_proxy_set trusted({parse_ip_prefix("192.0.2.0/24").prefix, parse_ip_prefix("2001:db8::/32").prefix});
const ip_address proxy = *parse_ip_address("192.0.2.10");
const ip_address stranger = *parse_ip_address("198.51.100.1");

TEST(ClientIpTest, NoHeaderUsesThePeer) {
    const auto c = resolve_client_ip(stranger, {}, trusted);
    EXPECT_EQ(c.address, stranger);
    EXPECT_EQ(c.source, client_ip_source::peer);
}

TEST(ClientIpTest, TrustedPeerNamesTheClient) {
    const auto c = resolve_client_ip(proxy, {"203.0.113.5", 1}, trusted);
    EXPECT_EQ(c.address, *parse_ip_address("203.0.113.5"));
    EXPECT_EQ(c.source, client_ip_source::x_real_ip);
    const auto v6 = resolve_client_ip(*parse_ip_address("2001:db8::1"), {" 2001:db8:ffff::9\t", 1}, trusted);
    EXPECT_EQ(v6.address, *parse_ip_address("2001:db8:ffff::9"));
}

TEST(ClientIpTest, UntrustedPeerHeaderIsIgnoredAndCounted) {
    const auto c = resolve_client_ip(stranger, {"203.0.113.5", 1}, trusted);
    EXPECT_EQ(c.address, stranger);
    EXPECT_EQ(c.source, client_ip_source::untrusted_header);
}

TEST(ClientIpTest, InvalidValuesFallBackToThePeer) {
    for (const char* bad : {"", "1.2.3", "256.1.1.1", "1.2.3.4/24", "1.2.3.4:8080", "1.2.3.4, 5.6.7.8", "unknown",
                            "[2001:db8::1]", "1.2.3.4 5.6.7.8"}) {
        const auto c = resolve_client_ip(proxy, {bad, 1}, trusted);
        EXPECT_EQ(c.address, proxy) << bad;
        EXPECT_EQ(c.source, client_ip_source::invalid_header) << bad;
    }
}

TEST(ClientIpTest, TwoHeaderLinesAreInvalid) {
    const auto c = resolve_client_ip(proxy, {"203.0.113.5", 2}, trusted);
    EXPECT_EQ(c.address, proxy);
    EXPECT_EQ(c.source, client_ip_source::invalid_header);
}

TEST(ClientIpTest, MappedPeerMatchesIpv4TrustedRange) {
    const auto mapped = *parse_ip_address("::ffff:192.0.2.10");
    const auto c = resolve_client_ip(mapped, {"203.0.113.5", 1}, trusted);
    EXPECT_EQ(c.source, client_ip_source::x_real_ip);
}

TEST(ClientIpTest, NothingTrustedByDefault) {
    const auto c = resolve_client_ip(proxy, {"203.0.113.5", 1}, trusted_proxy_set{});
    EXPECT_EQ(c.source, client_ip_source::untrusted_header);
}

}  // namespace
}  // namespace registry_redirector
