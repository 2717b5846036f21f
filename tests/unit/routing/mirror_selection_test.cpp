#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "registry_redirector/data/config_error.hpp"
#include "registry_redirector/routing/route_decision.hpp"

namespace registry_redirector {
namespace {

provider_config provider_yaml(const std::string& name, const std::string& yaml) {
    return parse_provider(name + ".yaml", "name: " + name + "\n" + yaml);
}

void add(origin_table& t, const std::string& prefix, std::uint32_t asn) {
    const auto p = parse_ip_prefix(prefix).prefix;
    if (p.family == ip_family::v4)
        t.v4.push_back({p.v4, p.length, asn});
    else
        t.v6.push_back({p.v6, p.length, asn});
}

labelled_source aws_ranges(const std::string& json, const std::string& provider = "amazon") {
    labelled_source s;
    s.source.provider = provider;
    s.source.format = cloud_format::aws;
    s.source.file = "aws.json";
    s.source.line = 3;
    s.config_path = "main.yaml";
    s.ranges = parse_cloud_ranges("aws.json", json, cloud_format::aws);
    return s;
}

ip_address ip(const char* text) { return *parse_ip_address(text); }

/// amazon: AS64500, range file: 198.51.0.0/16 us-east-1, 198.51.100.0/24
/// eu-west-3 (nested), 2001:db8::/32 us-east-1; google (default): 64520.
class MirrorSelectionTest : public ::testing::Test {
protected:
    std::vector<provider_config> providers;
    origin_table origins;
    routing_options options;

    void SetUp() override {
        add(origins, "198.51.0.0/16", 64500);
        add(origins, "198.51.7.0/24", 64500);   // an ASN-table prefix inside the us-east-1 range
        add(origins, "198.51.8.0/24", 64999);   // a customer network inside it: no provider
        add(origins, "203.0.113.0/24", 64500);  // amazon, no region
        add(origins, "192.0.2.0/24", 64520);
        options.clouds.push_back(aws_ranges(R"({"prefixes":[
            {"ip_prefix":"198.51.0.0/16","region":"us-east-1"},
            {"ip_prefix":"198.51.100.0/24","region":"eu-west-3"},
            {"ip_prefix":"100.64.0.0/16","region":"GLOBAL"},
            {"ip_prefix":"100.64.1.0/24","region":"ap-south-1"}],
            "ipv6_prefixes":[{"ipv6_prefix":"2001:db8::/32","region":"us-east-1"}]})"));
    }

    routing_table build() { return build_routing_table(providers, "google", origins, options); }

    std::string region(const routing_table& t, const char* address) {
        return std::string(t.region_name(t.networks()[t.network_for(ip(address))].region));
    }

    std::string chosen(const routing_table& t, const char* address, bool range = false) {
        const auto d = decide_route(t, "/v2/p/blobs/sha256:ab", ip(address), range);
        if (d.mirror == no_mirror) return "none";
        return t.mirrors()[d.mirror].name + "@" + std::to_string(d.tier);
    }
};

TEST_F(MirrorSelectionTest, RegionIsTheMostSpecificLabelledPrefixOfTheOwner) {
    providers = {provider_yaml("amazon", "asns: [64500]\nredirectsTo: {registry: r.aws.example, artifacts: a.aws.example}\n"),
                 provider_yaml("google", "asns: [64520]\nredirectsTo: {registry: r.g.example, artifacts: a.g.example}\n")};
    const auto t = build();
    EXPECT_EQ(region(t, "198.51.0.1"), "us-east-1");
    EXPECT_EQ(region(t, "198.51.7.1"), "us-east-1");    // an ASN-table /24 inherits its container's label
    EXPECT_EQ(region(t, "198.51.100.1"), "eu-west-3");  // the more specific label wins
    EXPECT_EQ(region(t, "198.51.8.1"), "");             // a hole of no provider has no region
    EXPECT_EQ(region(t, "203.0.113.1"), "");            // amazon, but unlabelled
    EXPECT_EQ(region(t, "100.64.0.1"), "GLOBAL");
    EXPECT_EQ(region(t, "100.64.1.1"), "ap-south-1");   // longest prefix, not archeio's shortest
    EXPECT_EQ(region(t, "2001:db8::1"), "us-east-1");
    EXPECT_EQ(region(t, "192.0.2.1"), "");
    // A range file prefix is the provider's like a cidr, even without an ASN.
    EXPECT_EQ(t.providers()[t.redirect_for(ip("100.64.1.1"))].name, "amazon");
    EXPECT_EQ(t.stats().labelled_prefixes, 5u);
}

TEST_F(MirrorSelectionTest, AnotherProvidersLabelIsNotInherited) {
    // 203.0.113.0/24 is amazon's by ASN; microsoft's range file labels the /16 around it.
    add(origins, "203.0.0.0/16", 64600);
    labelled_source ms = aws_ranges(R"({"prefixes":[{"ip_prefix":"203.0.0.0/16","region":"eastus"}]})", "microsoft");
    options.clouds.push_back(ms);
    providers = {provider_yaml("amazon", "asns: [64500]\nredirectsTo: {registry: r.aws.example, artifacts: a.aws.example}\n"),
                 provider_yaml("google", "asns: [64520]\nredirectsTo: {registry: r.g.example, artifacts: a.g.example}\n"),
                 provider_yaml("microsoft", "asns: [64600]\nredirectsTo: {registry: r.m.example, artifacts: a.m.example}\n")};
    const auto t = build();
    EXPECT_EQ(region(t, "203.0.113.1"), "");
    EXPECT_EQ(region(t, "203.0.5.1"), "eastus");
}

TEST_F(MirrorSelectionTest, ReduceKeepsHolesInsideCloudRangePrefixes) {
    providers = {provider_yaml("amazon", "asns: [64500]\nredirectsTo: {registry: r.aws.example, artifacts: a.aws.example}\n"),
                 provider_yaml("google", "asns: [64520]\nredirectsTo: {registry: r.g.example, artifacts: a.g.example}\n")};
    add(origins, "100.64.9.0/24", 64999);  // a customer network inside AWS GLOBAL 100.64.0.0/16
    auto has_hole = [](const origin_table& t) {
        return std::any_of(t.v4.begin(), t.v4.end(), [](const origin_v4& r) { return r.asn == 64999u && r.length == 24 && (r.network >> 8) == 0x644009u; });
    };
    EXPECT_FALSE(has_hole(reduce_to_providers(providers, origins)));
    const auto reduced = reduce_to_providers(providers, origins, options.clouds);
    EXPECT_TRUE(has_hole(reduced));
    const auto full = build(), small = build_routing_table(providers, "google", reduced, options);
    for (const char* a : {"100.64.9.1", "100.64.1.1", "198.51.8.1", "198.51.100.1"})
        EXPECT_EQ(full.network_for(ip(a)), small.network_for(ip(a))) << a;
}

TEST_F(MirrorSelectionTest, UnknownProviderInCloudRangesIsAnErrorAtItsLine) {
    options.clouds[0].source.provider = "amazn";
    providers = {provider_yaml("google", "asns: [64520]\nredirectsTo: {registry: r.g.example, artifacts: a.g.example}\n")};
    try {
        build();
        FAIL();
    } catch (const config_error& e) {
        EXPECT_EQ(e.file(), "main.yaml");
        EXPECT_EQ(e.line(), 3);
        EXPECT_NE(e.reason().find("\"amazn\""), std::string::npos);
    }
}

TEST_F(MirrorSelectionTest, TiersInOrder) {
    providers = {provider_yaml("amazon", R"(asns: [64500]
mirrors:
  - {name: use1, regions: [us-east-1], registry: use1.example}
  - {name: any, registry: any.example}
  - {name: euw3-only, regions: [eu-west-3], registry: euw3.example, ipv6: false}
)"),
                 provider_yaml("google", R"(asns: [64520]
mirrors:
  - {name: g-apsouth, regions: [ap-south-1], registry: gap.example}
  - {name: g-any, registry: g.example}
)")};
    auto t = build();
    EXPECT_EQ(chosen(t, "198.51.0.1"), "use1@1");     // (1) the region's mirror
    EXPECT_EQ(chosen(t, "198.51.100.1"), "euw3-only@1");
    EXPECT_EQ(chosen(t, "203.0.113.1"), "any@2");     // (2) no region: the any-region mirror
    EXPECT_EQ(chosen(t, "100.64.1.1"), "any@2");      // region with no mirror of its own
    EXPECT_EQ(chosen(t, "192.0.2.1"), "g-any@2");     // the default's own clients
    EXPECT_EQ(chosen(t, "8.8.8.8"), "g-any@2");
    // Drop "any": amazon's unregioned clients go to (3) any of its mirrors.
    providers[0] = provider_yaml("amazon", R"(asns: [64500]
mirrors:
  - {name: use1, regions: [us-east-1], registry: use1.example}
  - {name: euw3-only, regions: [eu-west-3], registry: euw3.example, ipv6: false}
)");
    t = build();
    EXPECT_EQ(chosen(t, "203.0.113.1").substr(chosen(t, "203.0.113.1").size() - 2), "@3");
    // (4) the default's region mirror: a client of a provider with no mirror for it.
    providers[0] = provider_yaml("amazon", R"(asns: [64500]
mirrors:
  - {name: euw3-only, regions: [eu-west-3], registry: euw3.example, ipv6: false}
)");
    t = build();
    EXPECT_EQ(chosen(t, "2001:db8::1"), "g-any@5");  // IPv6: euw3-only cannot; the default has no us-east-1 mirror
}

TEST_F(MirrorSelectionTest, DefaultRegionTierAndProviderWithoutMirrors) {
    providers = {provider_yaml("amazon", "asns: [64500]\n"),  // no redirectsTo, no mirrors
                 provider_yaml("google", R"(asns: [64520]
mirrors:
  - {name: g-apsouth, regions: [ap-south-1], registry: gap.example}
  - {name: g-any, registry: g.example}
)")};
    const auto t = build();
    EXPECT_EQ(chosen(t, "100.64.1.1"), "g-apsouth@1");  // the default's own tiers, with amazon's region label
    EXPECT_EQ(region(t, "100.64.1.1"), "ap-south-1");
}

TEST_F(MirrorSelectionTest, InactiveProviderGoesToTheDefault) {
    providers = {provider_yaml("amazon", "asns: [64500]\nactive: false\nmirrors:\n  - {name: use1, registry: use1.example}\n"),
                 provider_yaml("google", "asns: [64520]\nmirrors:\n  - {name: g-any, registry: g.example}\n")};
    const auto t = build();
    EXPECT_EQ(chosen(t, "198.51.0.1"), "g-any@2");
    EXPECT_TRUE(std::any_of(t.warnings().begin(), t.warnings().end(),
                            [](const std::string& w) { return w.find("amazon is active: false") != std::string::npos; }));
}

TEST_F(MirrorSelectionTest, CapabilityFilters) {
    providers = {provider_yaml("amazon", R"(asns: [64500]
mirrors:
  - {name: v4-only, regions: [us-east-1], registry: a.example, ipv6: false}
  - {name: no-ranges, regions: [us-east-1], registry: b.example, ranges: false, weight: 1000000}
)"),
                 provider_yaml("google", "asns: [64520]\nmirrors:\n  - {name: g-any, registry: g.example}\n")};
    const auto t = build();
    EXPECT_EQ(chosen(t, "2001:db8::1"), "no-ranges@1");
    EXPECT_EQ(chosen(t, "2001:db8::1", true), "g-any@5");  // neither can serve IPv6 + Range
    EXPECT_EQ(chosen(t, "198.51.0.1", true), "v4-only@1");
}

TEST_F(MirrorSelectionTest, DefaultMustServeEveryClient) {
    providers = {provider_yaml("google", "asns: [64520]\nmirrors:\n  - {name: g, registry: g.example, ipv6: false}\n")};
    options.clouds.clear();
    try {
        build();
        FAIL();
    } catch (const config_error& e) {
        EXPECT_NE(e.reason().find("may serve IPv6 clients"), std::string::npos) << e.what();
    }
}

TEST_F(MirrorSelectionTest, WeightZeroIsStandbyAndSkipKeepsTheOrder) {
    providers = {provider_yaml("amazon", R"(asns: [64500]
mirrors:
  - {name: main-a, regions: [us-east-1], registry: a.example}
  - {name: main-b, regions: [us-east-1], registry: b.example}
  - {name: standby, regions: [us-east-1], registry: s.example, weight: 0}
  - {name: any, registry: any.example}
)"),
                 provider_yaml("google", "asns: [64520]\nmirrors:\n  - {name: g-any, registry: g.example}\n")};
    const auto t = build();
    std::map<std::string, int> seen;
    for (int i = 0; i < 256; ++i) {
        const std::string a = "198.51." + std::to_string(i) + ".1";
        seen[chosen(t, a.c_str())]++;
    }
    EXPECT_EQ(seen.count("standby@1"), 0u);
    EXPECT_GT(seen["main-a@1"], 60);
    EXPECT_GT(seen["main-b@1"], 60);
    const std::uint32_t network = t.network_for(ip("198.51.0.1"));
    const auto name_of = [&](std::uint32_t m) { return t.mirrors()[m].name; };
    std::uint32_t a = 0, b = 0, s = 0;
    for (std::uint32_t m = 0; m < t.mirrors().size(); ++m) {
        if (name_of(m) == "main-a") a = m;
        if (name_of(m) == "main-b") b = m;
        if (name_of(m) == "standby") s = m;
    }
    const auto key = client_network_key(ip("198.51.0.1"));
    auto pick = [&](std::set<std::uint32_t> down) {
        const auto c = t.select_mirror(network, 0, key, [&](std::uint32_t m) { return down.count(m) > 0; });
        return name_of(c.mirror) + "@" + std::to_string(c.tier);
    };
    EXPECT_EQ(pick({a, b}), "standby@1");  // only when no positive-weight mirror is left in the tier
    EXPECT_EQ(pick({a, b, s}), "any@2");   // then the next tier
    const std::string first = pick({});
    EXPECT_TRUE(first == "main-a@1" || first == "main-b@1");
    EXPECT_EQ(pick({first == "main-a@1" ? a : b}), first == "main-a@1" ? "main-b@1" : "main-a@1");
}

/// 1 M synthetic client networks: shares follow the weights within 2 %, and
/// adding a mirror moves only clients to it, about its share.
TEST_F(MirrorSelectionTest, WeightedRendezvousSharesAndMinimalMovement) {
    const std::string three = R"(asns: [64500]
mirrors:
  - {name: w100, registry: a.example, weight: 100}
  - {name: w200, registry: b.example, weight: 200}
  - {name: w700, registry: c.example, weight: 700}
)";
    providers = {provider_yaml("amazon", three),
                 provider_yaml("google", "asns: [64520]\nmirrors:\n  - {name: g-any, registry: g.example}\n")};
    const auto before = build();
    providers[0] = provider_yaml("amazon", three + "  - {name: w250, registry: d.example, weight: 250}\n");
    const auto after = build();
    const std::uint32_t network = before.network_for(ip("203.0.113.1"));
    ASSERT_EQ(network, after.network_for(ip("203.0.113.1")));
    constexpr int n = 1'000'000;
    std::map<std::string, int> share, share_after;
    int moved = 0, moved_elsewhere = 0;
    for (int i = 0; i < n; ++i) {
        // Every /24 of 10.0.0.0/8 and 11.0.0.0/12: distinct client networks.
        const auto address = ip_address::from_v4(0x0a000000u + (static_cast<std::uint32_t>(i) << 8));
        const auto key = client_network_key(address);
        const auto& b = before.mirrors()[before.select_mirror(network, 0, key).mirror].name;
        const auto& a = after.mirrors()[after.select_mirror(network, 0, key).mirror].name;
        ++share[b];
        ++share_after[a];
        if (a != b) {
            ++moved;
            if (a != "w250") ++moved_elsewhere;
        }
    }
    auto near = [](int count, double expected) {
        return std::abs(count / static_cast<double>(n) - expected) <= 0.02 * expected;
    };
    EXPECT_TRUE(near(share["w100"], 0.1)) << share["w100"];
    EXPECT_TRUE(near(share["w200"], 0.2)) << share["w200"];
    EXPECT_TRUE(near(share["w700"], 0.7)) << share["w700"];
    EXPECT_EQ(moved_elsewhere, 0);  // only the new mirror's share moves
    EXPECT_TRUE(near(moved, 250.0 / 1250.0)) << moved;
    EXPECT_TRUE(near(share_after["w700"], 700.0 / 1250.0)) << share_after["w700"];
}

TEST_F(MirrorSelectionTest, SameClientNetworkSticks) {
    providers = {provider_yaml("amazon", "asns: [64500]\nmirrors:\n  - {name: a, registry: a.example}\n  - {name: b, registry: b.example}\n  - {name: c, registry: c.example}\n"),
                 provider_yaml("google", "asns: [64520]\nmirrors:\n  - {name: g-any, registry: g.example}\n")};
    const auto t = build();
    for (int i = 0; i < 50; ++i) {
        const std::string net = "198.51." + std::to_string(i) + ".";
        const std::string first = chosen(t, (net + "1").c_str());
        EXPECT_EQ(chosen(t, (net + "254").c_str()), first);
    }
    EXPECT_EQ(client_network_key(ip("2001:db8:1:ffff::1")), client_network_key(ip("2001:db8:1::2")));
    EXPECT_NE(client_network_key(ip("2001:db8:1::1")), client_network_key(ip("2001:db8:2::1")));
}

TEST_F(MirrorSelectionTest, UnknownMirrorRegionIsAWarning) {
    providers = {provider_yaml("amazon", "asns: [64500]\nmirrors:\n  - {name: x, regions: [us-eats-1], registry: a.example}\n"),
                 provider_yaml("google", "asns: [64520]\nmirrors:\n  - {name: g-any, registry: g.example}\n")};
    const auto t = build();
    EXPECT_TRUE(std::any_of(t.warnings().begin(), t.warnings().end(),
                            [](const std::string& w) { return w.find("\"us-eats-1\"") != std::string::npos; }));
}

TEST_F(MirrorSelectionTest, MirrorNameClashWithARedirectsToProviderIsAnError) {
    providers = {provider_yaml("amazon", "asns: [64500]\nmirrors:\n  - {name: google, registry: a.example}\n"),
                 provider_yaml("google", "asns: [64520]\nredirectsTo: {registry: r.g.example, artifacts: a.g.example}\n")};
    EXPECT_THROW(build(), config_error);
}

}  // namespace
}  // namespace registry_redirector
