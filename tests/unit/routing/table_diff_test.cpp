// diff_tables on crafted before/after tables.
#include <gtest/gtest.h>

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
    EXPECT_EQ(d.moves[0].from, "google");
    EXPECT_EQ(d.moves[0].to, "amazon");
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
    EXPECT_NE(json.find("{\"provider\":\"amazon\",\"prefixes_gained\":2,\"prefixes_lost\":1,\"ipv4_24s_gained\":0,"
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

}  // namespace
}  // namespace registry_redirector
