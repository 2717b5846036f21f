#include <gtest/gtest.h>

#include "registry_redirector/net/ip_address.hpp"
#include "registry_redirector/net/ip_prefix.hpp"

namespace registry_redirector {
namespace {

TEST(IpAddressTest, ParsesDottedQuad) {
    const auto a = parse_ip_address("192.0.2.1");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->family, ip_family::v4);
    EXPECT_EQ(a->v4, 0xC0000201u);
    EXPECT_EQ(to_string(*a), "192.0.2.1");
}

TEST(IpAddressTest, RejectsMalformedIpv4) {
    for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", " 1.2.3.4", "1..3.4",
                            "1.2.3.4/24", "1.2.3.4:80", "a.b.c.d", "1.2.3.-4", "1.2.3.4."}) {
        EXPECT_FALSE(parse_ip_address(bad)) << bad;
    }
}

TEST(IpAddressTest, ParsesIpv6Forms) {
    const auto a = parse_ip_address("2001:db8::1");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->family, ip_family::v6);
    EXPECT_EQ(to_string(*a), "2001:db8::1");
    const auto exploded = parse_ip_address("2001:0db8:0000:0000:0000:0000:0000:0001");
    ASSERT_TRUE(exploded);
    EXPECT_EQ(*exploded, *a);
    EXPECT_TRUE(parse_ip_address("::"));
    EXPECT_TRUE(parse_ip_address("::1"));
}

TEST(IpAddressTest, RejectsMalformedIpv6) {
    for (const char* bad : {"2001:db8::1::2", "2001:db8:::1", "fe80::1%eth0", "[2001:db8::1]", "2001:db8::g",
                            "1:2:3:4:5:6:7:8:9", "2001:db8::1/64"}) {
        EXPECT_FALSE(parse_ip_address(bad)) << bad;
    }
}

TEST(IpAddressTest, FoldsV4MappedToIpv4) {
    const auto a = parse_ip_address("::ffff:198.51.100.7");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->family, ip_family::v4);
    EXPECT_EQ(to_string(*a), "198.51.100.7");
    const auto hex = parse_ip_address("::ffff:c633:6407");
    ASSERT_TRUE(hex);
    EXPECT_EQ(*hex, *a);
    // ::198.51.100.7 (IPv4-compatible, deprecated) is not mapped: stays IPv6.
    EXPECT_EQ(parse_ip_address("::198.51.100.7")->family, ip_family::v6);
}

TEST(IpPrefixTest, ParsesCanonicalPrefixes) {
    const auto r = parse_ip_prefix("203.0.113.0/24");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.prefix.length, 24);
    EXPECT_EQ(to_string(r.prefix), "203.0.113.0/24");
    EXPECT_TRUE(parse_ip_prefix("0.0.0.0/0").ok());
    EXPECT_TRUE(parse_ip_prefix("203.0.113.9/32").ok());
    EXPECT_TRUE(parse_ip_prefix("::/0").ok());
    EXPECT_TRUE(parse_ip_prefix("2001:db8::1/128").ok());
    EXPECT_EQ(to_string(parse_ip_prefix("2001:db8::/32").prefix), "2001:db8::/32");
}

TEST(IpPrefixTest, RejectsBadPrefixesWithReason) {
    struct bad_case {
        const char* text;
        const char* reason_part;
    };
    for (const auto& c : {bad_case{"203.0.113.1/24", "host bits"}, bad_case{"203.0.113.0/33", "0 to 32"},
                          bad_case{"203.0.113.0", "ADDRESS/LENGTH"}, bad_case{"203.0.113.0/", "0 to 32"},
                          bad_case{"203.0.113.0/024", "0 to 32"}, bad_case{"2001:db8::/129", "0 to 128"},
                          bad_case{"2001:db8::1/64", "host bits"}, bad_case{"300.0.0.0/8", "IPv4"},
                          bad_case{"2001:db8::zz/64", "IPv6"}, bad_case{"::ffff:192.0.2.0/120", "IPv4-mapped"},
                          bad_case{"10.0.0.0/-1", "0 to 32"}}) {
        const auto r = parse_ip_prefix(c.text);
        ASSERT_FALSE(r.ok()) << c.text;
        EXPECT_NE(std::string(r.error).find(c.reason_part), std::string::npos) << c.text << ": " << r.error;
    }
}

TEST(IpPrefixTest, ContainsRespectsFamilyAndBoundaries) {
    const auto p = parse_ip_prefix("198.51.100.0/24").prefix;
    EXPECT_TRUE(p.contains(*parse_ip_address("198.51.100.0")));
    EXPECT_TRUE(p.contains(*parse_ip_address("198.51.100.255")));
    EXPECT_FALSE(p.contains(*parse_ip_address("198.51.101.0")));
    EXPECT_FALSE(p.contains(*parse_ip_address("198.51.99.255")));
    EXPECT_FALSE(p.contains(*parse_ip_address("2001:db8::1")));
    EXPECT_TRUE(p.contains(*parse_ip_address("::ffff:198.51.100.9")));
}

}  // namespace
}  // namespace registry_redirector
