#include <gtest/gtest.h>

#include <random>

#include "registry_redirector/data/config_error.hpp"
#include "registry_redirector/routing/routing_table.hpp"

namespace registry_redirector {
namespace {

provider_config provider(std::string name, std::vector<std::uint32_t> asns, bool redirects = true,
                         std::vector<std::string> cidrs = {}) {
    provider_config p;
    p.name = name;
    p.file = name + ".yaml";
    if (redirects) p.redirects_to = redirect_target{"registry." + name + ".example", "artifacts." + name + ".example"};
    p.asns = std::move(asns);
    std::sort(p.asns.begin(), p.asns.end());
    for (const auto& c : cidrs) p.cidrs.push_back(parse_ip_prefix(c).prefix);
    return p;
}

void add(origin_table& t, const std::string& prefix, std::uint32_t asn) {
    const auto p = parse_ip_prefix(prefix).prefix;
    if (p.family == ip_family::v4)
        t.v4.push_back({p.v4, p.length, asn});
    else
        t.v6.push_back({p.v6, p.length, asn});
}

class RoutingTableTest : public ::testing::Test {
protected:
    // Files sort as: aaa-cloud, bigcloud, google, nolink.
    std::vector<provider_config> providers{provider("aaa-cloud", {64510}), provider("bigcloud", {64500, 64501}),
                                           provider("google", {64520, 64510}), provider("nolink", {64530}, false)};

    /// Where the serving table sends `ip`.
    std::string route(const routing_table& t, const char* ip) {
        return t.providers()[t.redirect_for(*parse_ip_address(ip))].name;
    }
    /// Whose prefix holds `ip` (the explainer keeps what the serving table
    /// merges away), checked against the serving table's answer.
    std::string matched(const route_explainer& e, const char* ip) {
        const auto x = e.explain(*parse_ip_address(ip));
        EXPECT_EQ(x.redirect, e.table().redirect_for(*parse_ip_address(ip))) << ip;
        return x.matched == routing_table::no_provider ? "none" : e.table().providers()[x.matched].name;
    }
};

TEST_F(RoutingTableTest, MostSpecificPrefixDecidesAndPunchesHoles) {
    origin_table o;
    add(o, "198.51.0.0/16", 64500);    // bigcloud's block
    add(o, "198.51.100.0/24", 65000);  // a customer inside it: not bigcloud's
    add(o, "198.51.100.128/25", 64501);  // bigcloud again, inside the customer
    const route_explainer t(providers, "google", o);
    EXPECT_EQ(matched(t, "198.51.1.1"), "bigcloud");
    EXPECT_EQ(matched(t, "198.51.100.1"), "none");
    EXPECT_EQ(route(t.table(), "198.51.100.1"), "google");  // no provider: the default
    EXPECT_EQ(matched(t, "198.51.100.200"), "bigcloud");
    EXPECT_EQ(matched(t, "198.52.0.0"), "none");
}

TEST_F(RoutingTableTest, NoMatchGoesToDefault) {
    const route_explainer t(providers, "google", {});
    EXPECT_EQ(matched(t, "192.0.2.1"), "none");
    EXPECT_EQ(route(t.table(), "192.0.2.1"), "google");
    EXPECT_EQ(route(t.table(), "2001:db8::1"), "google");
}

TEST_F(RoutingTableTest, MultiOriginPrefixGoesToTheProviderListingAnOrigin) {
    origin_table o;
    add(o, "203.0.113.0/24", 65000);
    add(o, "203.0.113.0/24", 64501);  // MOAS: one origin is bigcloud's
    const route_explainer t(providers, "google", o);
    EXPECT_EQ(matched(t, "203.0.113.9"), "bigcloud");
    EXPECT_EQ(t.table().stats().ties, 0u);
}

TEST_F(RoutingTableTest, TiesGoToTheFirstFileNameAndWarn) {
    origin_table o;
    add(o, "203.0.113.0/24", 64500);  // bigcloud
    add(o, "203.0.113.0/24", 64520);  // google
    add(o, "192.0.2.0/24", 64510);    // listed by aaa-cloud and google
    const route_explainer t(providers, "google", o);
    EXPECT_EQ(matched(t, "203.0.113.1"), "bigcloud");
    EXPECT_EQ(matched(t, "192.0.2.1"), "aaa-cloud");
    EXPECT_EQ(t.table().stats().ties, 2u);
    auto mentions = [&](const std::string& text) {
        return std::any_of(t.table().warnings().begin(), t.table().warnings().end(),
                           [&](const std::string& w) { return w.find(text) != std::string::npos; });
    };
    EXPECT_TRUE(mentions("203.0.113.0/24 is claimed by several providers"));
    EXPECT_TRUE(mentions("192.0.2.0/24 is claimed by several providers"));
    EXPECT_TRUE(mentions("AS64510 is listed by aaa-cloud and google"));
}

TEST_F(RoutingTableTest, ProviderWithoutPrefixesIsAWarning) {
    providers[3] = provider("nolink", {64530}, false, {"2001:db8:9::/48"});
    origin_table o;
    add(o, "203.0.113.0/24", 64500);  // bigcloud
    add(o, "192.0.2.0/24", 64520);    // google
    const route_explainer t(providers, "google", o);
    std::vector<std::string> empty;
    for (const auto& w : t.table().warnings())
        if (w.find("has no prefixes") != std::string::npos) empty.push_back(w);
    // aaa-cloud's only ASN originates nothing; nolink has its cidr.
    ASSERT_EQ(empty.size(), 1u);
    EXPECT_EQ(empty[0], "provider aaa-cloud (aaa-cloud.yaml) has no prefixes: no table prefix is originated by "
                        "AS64510 and it lists no cidrs, so no client is sent to it");
}

TEST_F(RoutingTableTest, ExplicitCidrsWinOverTables) {
    providers[3] = provider("nolink", {64530}, true, {"198.51.100.0/24", "2001:db8:1::/48"});
    origin_table o;
    add(o, "198.51.100.0/24", 64500);   // the table says bigcloud; the cidr says nolink
    add(o, "198.51.0.0/16", 64500);
    add(o, "198.51.100.64/26", 65000);  // a more specific non-provider prefix still punches a hole
    add(o, "2001:db8::/32", 64520);
    const route_explainer t(providers, "google", o);
    EXPECT_EQ(matched(t, "198.51.100.1"), "nolink");
    EXPECT_EQ(matched(t, "198.51.100.65"), "none");
    EXPECT_EQ(matched(t, "198.51.101.1"), "bigcloud");
    EXPECT_EQ(matched(t, "2001:db8:1::5"), "nolink");
    EXPECT_EQ(matched(t, "2001:db8:2::5"), "google");
    EXPECT_EQ(t.table().providers()[3].prefixes_v4, 1u);
    EXPECT_EQ(t.table().providers()[3].prefixes_v6, 1u);
}

TEST_F(RoutingTableTest, ProviderWithoutRedirectGoesToDefault) {
    origin_table o;
    add(o, "192.0.2.0/24", 64530);
    const route_explainer t(providers, "google", o);
    EXPECT_EQ(matched(t, "192.0.2.1"), "nolink");
    EXPECT_EQ(route(t.table(), "192.0.2.1"), "google");
}

TEST_F(RoutingTableTest, V4MappedClientsUseTheIpv4Table) {
    origin_table o;
    add(o, "192.0.2.0/24", 64500);
    add(o, "::/0", 64520);  // an IPv6 default route must not catch mapped clients
    const route_explainer t(providers, "google", o);
    EXPECT_EQ(matched(t, "::ffff:192.0.2.7"), "bigcloud");
    EXPECT_EQ(matched(t, "::ffff:198.51.100.7"), "none");
    EXPECT_EQ(matched(t, "2001:db8::1"), "google");
}

TEST_F(RoutingTableTest, DefaultProviderMustExistAndRedirect) {
    EXPECT_THROW(build_routing_table(providers, "missing", {}), config_error);
    EXPECT_THROW(build_routing_table(providers, "nolink", {}), config_error);
}

TEST_F(RoutingTableTest, ExplainerNamesPrefixAndOrigins) {
    origin_table o;
    add(o, "198.51.0.0/16", 64500);
    add(o, "198.51.100.0/24", 65000);
    add(o, "198.51.100.0/24", 65001);
    const route_explainer e(providers, "google", o);
    const auto a = e.explain(*parse_ip_address("198.51.100.1"));
    ASSERT_TRUE(a.prefix);
    EXPECT_EQ(to_string(*a.prefix), "198.51.100.0/24");
    EXPECT_EQ(a.origins, (std::vector<std::uint32_t>{65000, 65001}));
    EXPECT_EQ(a.matched, routing_table::no_provider);
    const auto b = e.explain(*parse_ip_address("198.51.1.1"));
    EXPECT_EQ(e.table().providers()[b.matched].name, "bigcloud");
    EXPECT_FALSE(e.explain(*parse_ip_address("192.0.2.1")).prefix);
}

TEST_F(RoutingTableTest, ReducedTableDecidesLikeTheFullOne) {
    std::mt19937_64 rng(7);
    origin_table full;
    const std::uint32_t asns[] = {64500, 64501, 64510, 64520, 64530, 65000, 65001, 65002};
    for (int i = 0; i < 3000; ++i) {
        const unsigned length = 8 + static_cast<unsigned>(rng() % 17);
        const std::uint32_t network = static_cast<std::uint32_t>(rng() % 64) << 24 | (static_cast<std::uint32_t>(rng()) & 0xffffff);
        const std::uint32_t masked = network & (~0u << (32 - length));
        full.v4.push_back({masked, static_cast<std::uint8_t>(length), asns[rng() % 8]});
    }
    // Drop exact (prefix, asn) duplicates the generator may have made.
    std::sort(full.v4.begin(), full.v4.end(), [](auto& a, auto& b) {
        return std::tie(a.network, a.length, a.asn) < std::tie(b.network, b.length, b.asn);
    });
    full.v4.erase(std::unique(full.v4.begin(), full.v4.end(), [](auto& a, auto& b) {
                      return a.network == b.network && a.length == b.length && a.asn == b.asn;
                  }), full.v4.end());
    const auto reduced = reduce_to_providers(providers, full);
    EXPECT_LT(reduced.v4.size(), full.v4.size());
    const route_explainer a(providers, "google", full);
    const route_explainer b(providers, "google", reduced);
    for (int i = 0; i < 20000; ++i) {
        const auto ip = ip_address::from_v4(static_cast<std::uint32_t>(rng() % 64) << 24 | (static_cast<std::uint32_t>(rng()) & 0xffffff));
        ASSERT_EQ(a.explain(ip).matched, b.explain(ip).matched) << to_string(ip);
        ASSERT_EQ(a.table().redirect_for(ip), b.table().redirect_for(ip)) << to_string(ip);
    }
}

TEST_F(RoutingTableTest, StreamingFilterKeepsWhatReduceKeeps) {
    // provider_row_filter sees the rows one at a time, in table order, and
    // must keep exactly what reduce_to_providers keeps from the whole table.
    std::mt19937_64 rng(11);
    origin_table full;
    const std::uint32_t asns[] = {64500, 64501, 64510, 64520, 64530, 65000, 65001, 65002};
    for (int i = 0; i < 5000; ++i) {
        const unsigned length = 14 + static_cast<unsigned>(rng() % 11);
        const std::uint32_t network = static_cast<std::uint32_t>(rng() % 64) << 24 | (static_cast<std::uint32_t>(rng()) & 0xffffff);
        full.v4.push_back({network & (~0u << (32 - length)), static_cast<std::uint8_t>(length), asns[rng() % 8]});
    }
    for (int i = 0; i < 2000; ++i) {
        const unsigned length = 20 + static_cast<unsigned>(rng() % 29);
        const uint128 network = (uint128{0x20010db8u} << 96 | uint128{rng() % 16} << 88 | uint128{rng()} << 24) &
                                ~((uint128{1} << (128 - length)) - 1);
        full.v6.push_back({network, static_cast<std::uint8_t>(length), asns[rng() % 8]});
    }
    auto order = [](auto& a, auto& b) { return std::tie(a.network, a.length, a.asn) < std::tie(b.network, b.length, b.asn); };
    std::sort(full.v4.begin(), full.v4.end(), order);
    std::sort(full.v6.begin(), full.v6.end(), order);
    provider_row_filter filter(providers);
    // The families interleaved, as two files or a mixed file could give them.
    for (std::size_t i = 0; i < std::max(full.v4.size(), full.v6.size()); ++i) {
        if (i < full.v4.size()) filter.add(full.v4[i]);
        if (i < full.v6.size()) filter.add(full.v6[i]);
    }
    ASSERT_TRUE(filter.sorted());
    const origin_table streamed = filter.finish();
    const origin_table reduced = reduce_to_providers(providers, full);
    auto same = [](const auto& a, const auto& b) {
        return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](auto& x, auto& y) {
                   return x.network == y.network && x.length == y.length && x.asn == y.asn;
               });
    };
    EXPECT_LT(streamed.v4.size(), full.v4.size() * 3 / 4);
    EXPECT_TRUE(same(streamed.v4, reduced.v4)) << streamed.v4.size() << " vs " << reduced.v4.size();
    EXPECT_TRUE(same(streamed.v6, reduced.v6)) << streamed.v6.size() << " vs " << reduced.v6.size();
    // And the tables built from them answer alike.
    const routing_table a = build_routing_table(providers, "google", full);
    const routing_table b = build_routing_table(providers, "google", streamed);
    for (int i = 0; i < 20000; ++i) {
        const auto ip = ip_address::from_v4(static_cast<std::uint32_t>(rng() % 64) << 24 | (static_cast<std::uint32_t>(rng()) & 0xffffff));
        ASSERT_EQ(a.redirect_for(ip), b.redirect_for(ip)) << to_string(ip);
    }
}

TEST_F(RoutingTableTest, StreamingFilterNoticesATableOutOfOrder) {
    provider_row_filter filter(providers);
    filter.add(origin_v4{0xC6336400u, 24, 64500});  // 198.51.100.0/24
    filter.add(origin_v4{0xC6336400u, 24, 65000});  // same prefix, another origin: fine
    filter.add(origin_v4{0xC6336400u, 25, 65000});  // more specific after: fine
    EXPECT_TRUE(filter.sorted());
    filter.add(origin_v4{0xC6330000u, 16, 65000});  // 198.51.0.0/16 after 198.51.100.0/25
    EXPECT_FALSE(filter.sorted());
}

}  // namespace
}  // namespace registry_redirector
