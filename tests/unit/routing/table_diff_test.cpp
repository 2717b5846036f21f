// diff_tables on crafted before/after tables.
#include <gtest/gtest.h>

#include "registry_redirector/data/cloud_ranges.hpp"
#include "registry_redirector/routing/table_diff.hpp"

namespace registry_redirector {
namespace {

provider_config provider(const std::string& name, std::vector<std::uint32_t> asns, std::vector<ip_prefix> cidrs = {}) {
    provider_config p;
    p.name = name;
    p.redirects_to = redirect_target{"r." + name + ".example", "a." + name + ".example"};
    p.asns = std::move(asns);
    p.cidrs = std::move(cidrs);
    return p;
}

ip_prefix prefix(const char* text) {
    const auto r = parse_ip_prefix(text);
    EXPECT_TRUE(r.ok()) << text;
    return r.prefix;
}

diff_side side(std::vector<std::pair<const char*, std::uint32_t>> rows) {
    diff_side s;
    s.providers = {provider("amazon", {16509}), provider("google", {15169})};
    s.default_provider = "google";
    for (const auto& [text, asn] : rows) {
        const ip_prefix p = prefix(text);
        if (p.family == ip_family::v4) s.origins.v4.push_back({p.v4, p.length, asn});
        else s.origins.v6.push_back({p.v6, p.length, asn});
    }
    return s;
}

TEST(TableDiffTest, SameAnswersWithDifferentRowsIsNoChange) {
    // An extra row whose origin nobody lists, inside nobody's prefix: same answers.
    const auto d = diff_tables(side({{"1.0.0.0/24", 16509}}), side({{"1.0.0.0/24", 16509}, {"9.9.9.0/24", 64500}}));
    EXPECT_FALSE(d.answers_changed);
    EXPECT_TRUE(d.moves.empty());
    EXPECT_EQ(d.prefixes_changed, 0u);
}

TEST(TableDiffTest, MovesAreSizedAndListedLargestFirst) {
    const auto before = side({{"1.0.0.0/16", 16509}, {"2a00:1450::/32", 15169}, {"8.8.8.0/24", 15169}});
    const auto after = side({{"1.0.0.0/16", 15169}, {"1.0.1.0/24", 16509}, {"2a00:1450::/32", 15169},
                             {"2a00:1450:4000::/36", 16509}, {"8.8.4.0/24", 15169}});
    const auto d = diff_tables(before, after);
    EXPECT_TRUE(d.answers_changed);
    // 1.0.0.0/16 moves amazon -> google except 1.0.1.0/24 (255 /24s);
    // 2a00:1450:4000::/36 moves google -> amazon (4096 /48s); 8.8.8.0/24 is
    // lost by google, 8.8.4.0/24 gained.
    EXPECT_DOUBLE_EQ(d.v4_moved, 255 + 2);
    EXPECT_DOUBLE_EQ(d.v6_moved, 4096);
    ASSERT_GE(d.moves.size(), 3u);
    EXPECT_EQ(to_string(*d.moves[0].new_prefix), "2a00:1450:4000::/36");
    EXPECT_EQ(d.moves[0].from, (diff_answer{"google", "", "google"}));
    EXPECT_EQ(d.moves[0].to, (diff_answer{"amazon", "", "amazon"}));
    EXPECT_EQ(d.moves[0].new_origins, std::vector<std::uint32_t>{16509});
    EXPECT_EQ(to_string(*d.moves[1].old_prefix), "1.0.0.0/16");
    EXPECT_DOUBLE_EQ(d.moves[1].size, 255);
    ASSERT_EQ(d.providers.size(), 2u);
    const auto& amazon = d.providers[0];
    const auto& google = d.providers[1];
    EXPECT_EQ(amazon.provider, "amazon");
    EXPECT_DOUBLE_EQ(amazon.v4_lost, 255);
    EXPECT_DOUBLE_EQ(amazon.v6_gained, 4096);
    EXPECT_EQ(amazon.prefixes_lost, 1u);    // 1.0.0.0/16
    EXPECT_EQ(amazon.prefixes_gained, 2u);  // 1.0.1.0/24, 2a00:1450:4000::/36
    EXPECT_DOUBLE_EQ(google.v4_gained, 255 + 1);
    EXPECT_DOUBLE_EQ(google.v4_lost, 1);
    EXPECT_EQ(d.prefixes_changed, 5u);
    const std::string text = diff_text(d);
    EXPECT_NE(text.find("2a00:1450::/32 (AS15169) -> 2a00:1450:4000::/36 (AS16509): google -> amazon, 4096 /48s"),
              std::string::npos)
        << text;
    const std::string json = diff_json(d);
    EXPECT_NE(json.find("\"answers_changed\":true"), std::string::npos) << json;
    EXPECT_NE(json.find("{\"provider\":\"amazon\",\"region\":null,\"prefixes_gained\":2,\"prefixes_lost\":1,\"ipv4_24s_gained\":0,"
                        "\"ipv4_24s_lost\":255,\"ipv6_48s_gained\":4096"),
              std::string::npos)
        << json;
}

TEST(TableDiffTest, ExplicitCidrsAndWholeSpace) {
    auto before = side({});
    auto after = side({});
    after.providers[0].cidrs = {prefix("::/0")};
    const auto d = diff_tables(before, after);
    EXPECT_TRUE(d.answers_changed);
    EXPECT_DOUBLE_EQ(d.v6_moved, static_cast<double>(static_cast<long double>(~uint128{0}) / (uint128{1} << 80)));
    EXPECT_DOUBLE_EQ(d.v4_moved, 0);
}

/// An AWS ip-ranges.json for amazon with these (prefix, region) entries.
labelled_source aws(std::vector<std::pair<const char*, const char*>> entries) {
    std::string v4, v6;
    for (const auto& [p, region] : entries) {
        const bool is_v6 = std::string_view(p).find(':') != std::string_view::npos;
        std::string& list = is_v6 ? v6 : v4;
        list += (list.empty() ? "" : ",") + std::string("{\"") + (is_v6 ? "ipv6_prefix" : "ip_prefix") + "\":\"" + p +
                "\",\"region\":\"" + region + "\"}";
    }
    labelled_source s;
    s.source.provider = "amazon";
    s.source.format = cloud_format::aws;
    s.source.file = "aws.json";
    s.config_path = "main.yaml";
    s.ranges = parse_cloud_ranges("aws.json", "{\"prefixes\":[" + v4 + "],\"ipv6_prefixes\":[" + v6 + "]}", cloud_format::aws);
    return s;
}

const provider_delta* find_delta(const table_diff& d, const std::string& provider, const std::string& region) {
    for (const auto& p : d.providers)
        if (p.provider == provider && p.region == region) return &p;
    return nullptr;
}

TEST(TableDiffTest, SameRegionsWithDifferentRowsIsNoChange) {
    // 198.51.100.0/24 (AS16509) sits in amazon's us-east-1 /16 on both sides;
    // the range file lists its prefixes in another order and once more.
    auto before = side({{"198.51.100.0/24", 16509}});
    auto after = side({{"198.51.100.0/24", 16509}, {"9.9.9.0/24", 64500}});
    before.clouds = {aws({{"198.51.0.0/16", "us-east-1"}, {"2001:db8::/32", "eu-west-1"}})};
    after.clouds = {aws({{"2001:db8::/32", "eu-west-1"}, {"198.51.0.0/16", "us-east-1"}, {"198.51.0.0/16", "us-east-1"}})};
    const auto d = diff_tables(before, after);
    EXPECT_FALSE(d.answers_changed);
    EXPECT_TRUE(d.moves.empty());
    EXPECT_EQ(d.prefixes_changed, 0u);
    ASSERT_EQ(d.providers.size(), 2u);  // no region rows without a change
    EXPECT_EQ(d.providers[0].region, "");
    EXPECT_NE(diff_text(d).find("no address changes provider or region"), std::string::npos) << diff_text(d);
}

TEST(TableDiffTest, RegionMoveWithinAProviderIsAChange) {
    // A new ip-ranges.json moves 198.51.0.0/16 from us-east-1 to us-east-2; the
    // table's 198.51.100.0/24 (AS16509) inside it inherits the region.
    auto before = side({{"198.51.100.0/24", 16509}});
    auto after = before;
    before.clouds = {aws({{"198.51.0.0/16", "us-east-1"}, {"2001:db8::/32", "eu-west-1"}})};
    after.clouds = {aws({{"198.51.0.0/16", "us-east-2"}, {"2001:db8::/32", "eu-west-1"}})};
    const auto d = diff_tables(before, after);
    EXPECT_TRUE(d.answers_changed);
    EXPECT_DOUBLE_EQ(d.v4_moved, 256);
    EXPECT_DOUBLE_EQ(d.v6_moved, 0);
    EXPECT_EQ(d.prefixes_changed, 2u);  // the /16 and the /24 inside it
    ASSERT_EQ(d.moves.size(), 2u);
    EXPECT_EQ(to_string(*d.moves[0].old_prefix), "198.51.0.0/16");
    EXPECT_DOUBLE_EQ(d.moves[0].size, 255);
    EXPECT_EQ(d.moves[0].from, (diff_answer{"amazon", "us-east-1", "amazon"}));
    EXPECT_EQ(d.moves[0].to, (diff_answer{"amazon", "us-east-2", "amazon"}));
    EXPECT_EQ(to_string(*d.moves[1].old_prefix), "198.51.100.0/24");
    EXPECT_EQ(d.moves[1].old_origins, std::vector<std::uint32_t>{16509});
    EXPECT_EQ(label(d.moves[1].to), "amazon/us-east-2");
    const auto* east1 = find_delta(d, "amazon", "us-east-1");
    const auto* east2 = find_delta(d, "amazon", "us-east-2");
    ASSERT_TRUE(east1 && east2);
    EXPECT_EQ(east1->prefixes_lost, 2u);
    EXPECT_EQ(east1->prefixes_gained, 0u);
    EXPECT_DOUBLE_EQ(east1->v4_lost, 256);
    EXPECT_EQ(east2->prefixes_gained, 2u);
    EXPECT_DOUBLE_EQ(east2->v4_gained, 256);
    EXPECT_EQ(find_delta(d, "amazon", "eu-west-1"), nullptr);  // unchanged: not listed
    const auto* amazon = find_delta(d, "amazon", "");
    ASSERT_TRUE(amazon);
    EXPECT_DOUBLE_EQ(amazon->v4_gained + amazon->v4_lost, 0);
    const std::string text = diff_text(d);
    EXPECT_NE(text.find("198.51.0.0/16 (-) -> 198.51.0.0/16 (-): amazon/us-east-1 -> amazon/us-east-2, 255 /24s"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("198.51.100.0/24 (AS16509) -> 198.51.100.0/24 (AS16509): amazon/us-east-1 -> amazon/us-east-2, 1 /24s"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\namazon/us-east-2         2         0          256            0            0            0\n"),
              std::string::npos)
        << text;
    const std::string json = diff_json(d);
    EXPECT_NE(json.find("\"from\":{\"provider\":\"amazon\",\"region\":\"us-east-1\",\"redirect\":\"amazon\"},"
                        "\"to\":{\"provider\":\"amazon\",\"region\":\"us-east-2\",\"redirect\":\"amazon\"}"),
              std::string::npos)
        << json;
    EXPECT_NE(json.find("{\"provider\":\"amazon\",\"region\":\"us-east-1\",\"prefixes_gained\":0,\"prefixes_lost\":2,"
                        "\"ipv4_24s_gained\":0,\"ipv4_24s_lost\":256,"),
              std::string::npos)
        << json;
}

TEST(TableDiffTest, RegionPrefixesGainedAndLost) {
    // After: 2001:db8::/32 (eu-west-1) is new, 203.0.113.0/24 (ap-south-1) is gone
    // and 192.0.2.0/24 goes from amazon's us-west-2 to google (AS15169 row,
    // more specific than the range).
    auto before = side({});
    auto after = side({{"192.0.2.0/25", 15169}});
    before.clouds = {aws({{"203.0.113.0/24", "ap-south-1"}, {"192.0.2.0/24", "us-west-2"}})};
    after.clouds = {aws({{"2001:db8::/32", "eu-west-1"}, {"192.0.2.0/24", "us-west-2"}})};
    const auto d = diff_tables(before, after);
    EXPECT_TRUE(d.answers_changed);
    EXPECT_DOUBLE_EQ(d.v6_moved, 65536);
    EXPECT_DOUBLE_EQ(d.v4_moved, 1.5);
    const auto* eu = find_delta(d, "amazon", "eu-west-1");
    const auto* ap = find_delta(d, "amazon", "ap-south-1");
    const auto* us = find_delta(d, "amazon", "us-west-2");
    const auto* google = find_delta(d, "google", "");
    ASSERT_TRUE(eu && ap && us && google);
    EXPECT_EQ(eu->prefixes_gained, 1u);
    EXPECT_DOUBLE_EQ(eu->v6_gained, 65536);
    EXPECT_EQ(ap->prefixes_lost, 1u);
    EXPECT_DOUBLE_EQ(ap->v4_lost, 1);
    EXPECT_EQ(us->prefixes_lost, 0u);  // its prefix is still its own; half its addresses are not
    EXPECT_DOUBLE_EQ(us->v4_lost, 0.5);
    EXPECT_EQ(google->prefixes_gained, 1u);
    EXPECT_DOUBLE_EQ(google->v4_gained, 0.5);
    ASSERT_EQ(d.moves.size(), 3u);
    EXPECT_FALSE(d.moves[0].old_prefix);
    EXPECT_EQ(d.moves[0].from, (diff_answer{"none", "", "google"}));
    EXPECT_EQ(label(d.moves[0].to), "amazon/eu-west-1");
    const std::string text = diff_text(d);
    EXPECT_NE(text.find("203.0.113.0/24 (-) -> (none) (-): amazon/ap-south-1 -> none, 1 /24s"), std::string::npos)
        << text;
    EXPECT_NE(text.find("192.0.2.0/24 (-) -> 192.0.2.0/25 (AS15169): amazon/us-west-2 -> google, 0.5 /24s"),
              std::string::npos)
        << text;
    EXPECT_NE(diff_json(d).find("\"to\":{\"provider\":\"none\",\"region\":null,\"redirect\":\"google\"}"),
              std::string::npos)
        << diff_json(d);
}

}  // namespace
}  // namespace registry_redirector
