#include <gtest/gtest.h>

#include "registry_redirector/config/config.hpp"
#include "registry_redirector/data/config_error.hpp"
#include "test_files.hpp"

namespace registry_redirector {
namespace {

using testing::temp_dir;

const std::string main_head = "providers_dir: p\nprefixes: [t.tsv]\n";

void expect_rejected(const std::string& file, const std::string& yaml, int line, const std::string& reason_part,
                     bool provider) {
    temp_dir dir;
    const auto path = dir.write(file, yaml);
    try {
        if (provider) load_provider_file(path);
        else load_server_config(path);
        FAIL() << "accepted: " << yaml;
    } catch (const config_error& e) {
        EXPECT_EQ(e.file(), path);
        EXPECT_EQ(e.line(), line) << e.what();
        EXPECT_NE(e.reason().find(reason_part), std::string::npos) << e.what();
    }
}

TEST(MirrorsConfigTest, ReadsEveryMirrorKeyAndDefaults) {
    temp_dir dir;
    const auto p = load_provider_file(dir.write("amazon.yaml", R"(name: amazon
asns: [16509]
active: true
oncall: ops@example.org
mirrors:
  - name: s3-us-east-1
    regions: [us-east-1, us-east-2]
    weight: 50
    ipv6: false
    ranges: false
    registry: https://r.example.org
    artifacts: art.example.org
    blobs: https://b-{region}.example.org/containers/images/{digest}
  - name: fallback
    registry: fallback.example.org
)"));
    ASSERT_EQ(p.mirrors.size(), 2u);
    const auto& m = p.mirrors[0];
    EXPECT_EQ(m.regions, (std::vector<std::string>{"us-east-1", "us-east-2"}));
    EXPECT_FALSE(m.any_region);
    EXPECT_EQ(m.weight, 50u);
    EXPECT_FALSE(m.ipv6);
    EXPECT_FALSE(m.ranges);
    EXPECT_EQ(m.line, 6);
    EXPECT_EQ(m.artifacts.text, "art.example.org");
    const auto& d = p.mirrors[1];
    EXPECT_TRUE(d.any_region);
    EXPECT_EQ(d.weight, 100u);
    EXPECT_TRUE(d.ipv6);
    EXPECT_TRUE(d.ranges);
    EXPECT_EQ(d.blobs.text, "fallback.example.org");      // blobs defaults to registry
    EXPECT_EQ(d.artifacts.text, "fallback.example.org");  // and so do artifacts
    EXPECT_EQ(p.oncall, (std::vector<std::string>{"ops@example.org"}));
    EXPECT_TRUE(p.active);
}

TEST(MirrorsConfigTest, ActiveFalseOncallListAndRedirectsToIgnoredWarning) {
    temp_dir dir;
    const auto p = load_provider_file(dir.write("x.yaml", "name: x\nactive: false\noncall: [a@example.org, '#chan']\n"
                                                          "redirectsTo: {registry: r.example, artifacts: a.example}\n"
                                                          "mirrors:\n  - {name: m, registry: 'http://m.example'}\n"));
    EXPECT_FALSE(p.active);
    EXPECT_EQ(p.oncall.size(), 2u);
    auto has = [&](const char* part) {
        return std::any_of(p.warnings.begin(), p.warnings.end(),
                           [&](const std::string& w) { return w.find(part) != std::string::npos; });
    };
    EXPECT_TRUE(has("redirectsTo is ignored"));
    EXPECT_TRUE(has("http://"));
}

TEST(MirrorsConfigTest, RejectsBadMirrorsWithLineAndReason) {
    const std::string head = "name: p\nasns: [1]\nmirrors:\n";
    struct c {
        std::string yaml;
        int line;
        const char* reason;
    };
    for (const auto& t : {
             c{"  - {name: m, registry: r.example, colour: red}\n", 4, "unknown key \"colour\" in a mirror"},
             c{"  - {registry: r.example}\n", 4, "missing \"name\""},
             c{"  - {name: m}\n", 4, "missing \"registry\""},
             c{"  - name: m\n    registry: 'https://r.example/{tag}'\n", 5, "unknown variable {tag}"},
             c{"  - name: m\n    registry: \"https://r.example/a\\r\\nX: y\"\n", 5, "not allowed in a URL"},
             c{"  - {name: m, registry: r.example, weight: -1}\n", 4, "weight"},
             c{"  - {name: m, registry: r.example, ipv6: maybe}\n", 4, "true or false"},
             c{"  - {name: m, registry: r.example, regions: []}\n", 4, "at least one region"},
             c{"  - {name: m, registry: r.example, regions: [a, a]}\n", 4, "twice"},
             c{"  - {name: m, registry: r.example, regions: ['a b']}\n", 4, "region \"a b\""},
             c{"  - {name: m, registry: r.example}\n  - {name: m, registry: s.example}\n", 5, "used twice"},
             c{"  - {name: 'm/1', registry: r.example}\n", 4, "mirror name"},
         })
        expect_rejected("p.yaml", head + t.yaml, t.line, t.reason, true);
    expect_rejected("p.yaml", "name: p\nactive: yes please\n", 2, "true or false", true);
    expect_rejected("p.yaml", "name: p\nmirrors: []\n", 2, "at least one mirror", true);
}

TEST(MirrorsConfigTest, CheckBlobsDefaultsKeysAndErrors) {
    temp_dir dir;
    const auto path = dir.write("p.yaml", R"(name: p
asns: [1]
mirrors:
  - {name: a, registry: "https://a.example", check_blobs: true}
  - name: b
    registry: https://b.example
    check_blobs: {positive_ttl: 24h, negative_ttl: 0s, timeout: 250ms, max_entries: 5000}
  - {name: c, registry: "https://c.example", check_blobs: false}
  - {name: d, registry: "https://d.example"}
)");
    const provider_config p = load_provider_file(path);
    ASSERT_EQ(p.mirrors.size(), 4u);
    ASSERT_TRUE(p.mirrors[0].check_blobs);
    EXPECT_EQ(*p.mirrors[0].check_blobs, blob_check_config{});
    EXPECT_EQ(p.mirrors[0].check_blobs->positive_ttl, std::chrono::hours(24));
    EXPECT_EQ(p.mirrors[0].check_blobs->negative_ttl, std::chrono::seconds(60));
    ASSERT_TRUE(p.mirrors[1].check_blobs);
    EXPECT_EQ(p.mirrors[1].check_blobs->positive_ttl, std::chrono::hours(24));
    EXPECT_EQ(p.mirrors[1].check_blobs->negative_ttl, std::chrono::milliseconds(0));
    EXPECT_EQ(p.mirrors[1].check_blobs->timeout, std::chrono::milliseconds(250));
    EXPECT_EQ(p.mirrors[1].check_blobs->max_entries, 5000u);
    EXPECT_FALSE(p.mirrors[2].check_blobs);
    EXPECT_FALSE(p.mirrors[3].check_blobs);

    const std::string head = "name: p\nasns: [1]\nmirrors:\n  - name: a\n    registry: https://a.example\n";
    expect_rejected("p.yaml", head + "    check_blobs: {positive_ttl: 31d}\n", 6, "positive_ttl must be a duration",
                    true);
    expect_rejected("p.yaml", head + "    check_blobs: {positive_ttl: 800h}\n", 6, "positive_ttl is out of range", true);
    expect_rejected("p.yaml", head + "    check_blobs: {timeout: 10ms}\n", 6, "timeout is out of range", true);
    expect_rejected("p.yaml", head + "    check_blobs: {max_entries: 0}\n", 6, "max_entries is out of range", true);
    expect_rejected("p.yaml", head + "    check_blobs: {ttl: 5s}\n", 6, "ttl", true);
    expect_rejected("p.yaml", head + "    check_blobs: maybe\n", 6, "check_blobs", true);
}

TEST(MirrorsConfigTest, DuplicateMirrorNamesAcrossProvidersAreAnError) {
    temp_dir dir;
    dir.write("p/a.yaml", "name: a\nasns: [1]\nmirrors:\n  - {name: shared, registry: a.example}\n");
    const auto b = dir.write("p/b.yaml", "name: b\nasns: [2]\nmirrors:\n  - {name: shared, registry: b.example}\n");
    try {
        load_providers((dir.path() / "p").string());
        FAIL();
    } catch (const config_error& e) {
        EXPECT_EQ(e.file(), b);
        EXPECT_EQ(e.line(), 4);
        EXPECT_NE(e.reason().find("unique across providers"), std::string::npos) << e.what();
    }
}

TEST(RoutesConfigTest, ReadsRoutesCloudRangesAndExplainHeader) {
    temp_dir dir;
    const auto c = load_server_config(dir.write("r.yaml", main_head + R"(explain_header: true
cloud_ranges:
  - {provider: amazon, format: aws, file: ranges/aws.json.gz}
  - {provider: microsoft, format: azure, file: /abs/tags.json}
routes:
  status: 307
  upstream: https://us-central1-docker.pkg.dev/v2/k8s-artifacts-prod/images{v2_path}
  classes: {ping: ok, blob: mirror, manifest: upstream, other_v2: upstream,
            root: "https://github.com/kubernetes/registry.k8s.io", artifact: not_found}
  fixed: {"/privacy": "https://www.linuxfoundation.org/privacy-policy/", "/p": "https://p.example/"}
  cache_control: {blob: "public, max-age=3600"}
)"));
    EXPECT_TRUE(c.explain_header);
    ASSERT_EQ(c.cloud_ranges.size(), 2u);
    EXPECT_EQ(c.cloud_ranges[0].provider, "amazon");
    EXPECT_EQ(c.cloud_ranges[0].format, cloud_format::aws);
    EXPECT_EQ(c.cloud_ranges[0].file, (dir.path() / "ranges/aws.json.gz").string());
    EXPECT_EQ(c.cloud_ranges[0].line, 5);
    EXPECT_EQ(c.cloud_ranges[1].file, "/abs/tags.json");
    ASSERT_TRUE(c.routes);
    const auto& r = *c.routes;
    EXPECT_EQ(r.status, 307u);
    auto kind = [&](path_class k) { return r.classes[static_cast<std::size_t>(k)].kind; };
    EXPECT_EQ(kind(path_class::ping), class_action_kind::ok);
    EXPECT_EQ(kind(path_class::blob), class_action_kind::mirror);
    EXPECT_EQ(kind(path_class::manifest), class_action_kind::upstream);
    EXPECT_EQ(kind(path_class::root), class_action_kind::fixed);
    EXPECT_EQ(kind(path_class::artifact), class_action_kind::not_found);
    ASSERT_EQ(r.fixed.size(), 2u);
    EXPECT_EQ(r.fixed[0].prefix, "/privacy");  // longest first
    EXPECT_EQ(r.cache_control[static_cast<std::size_t>(path_class::blob)], "public, max-age=3600");
    EXPECT_TRUE(r.cache_control[static_cast<std::size_t>(path_class::manifest)].empty());
}

TEST(RoutesConfigTest, OmittedClassesMirrorAndNoRoutesMeansLegacy) {
    temp_dir dir;
    const auto legacy = load_server_config(dir.write("a.yaml", main_head));
    EXPECT_FALSE(legacy.routes);
    EXPECT_FALSE(legacy.explain_header);
    EXPECT_TRUE(legacy.cloud_ranges.empty());
    const auto c = load_server_config(dir.write("b.yaml", main_head + "routes: {classes: {ping: ok}}\n"));
    ASSERT_TRUE(c.routes);
    EXPECT_EQ(c.routes->status, 302u);
    EXPECT_EQ(c.routes->classes[static_cast<std::size_t>(path_class::blob)].kind, class_action_kind::mirror);
}

TEST(RoutesConfigTest, RejectsBadRoutesWithLineAndReason) {
    struct c {
        std::string yaml;
        int line;
        const char* reason;
    };
    for (const auto& t : {
             c{"routes:\n  status: 304\n", 4, "301, 302, 303, 307 or 308"},
             c{"routes:\n  status: 200\n", 4, "out of range"},
             c{"routes:\n  classes: {blobs: mirror}\n", 4, "unknown class \"blobs\""},
             c{"routes:\n  classes: {blob: cdn}\n", 4, "is not one of mirror"},
             c{"routes:\n  classes: {blob: ok}\n", 4, "only for ping"},
             c{"routes:\n  classes: {manifest: upstream}\n", 4, "routes.upstream is not set"},
             c{"routes:\n  upstream: 'https://u.example/{tags}'\n", 4, "unknown variable"},
             c{"routes:\n  classes: {root: 'https://x.example/a b'}\n", 4, "not allowed"},
             c{"routes:\n  fixed: {privacy: 'https://x.example/'}\n", 4, "must start with '/'"},
             c{"routes:\n  fixed: {/p: 'x.example'}\n", 4, "must start with https://"},
             c{"routes:\n  cache_control: {blob: \"a\\r\\nb\"}\n", 4, "visible ASCII"},
             c{"routes:\n  colour: red\n", 4, "unknown key \"colour\" in routes"},
             c{"explain_header: sometimes\n", 3, "true or false"},
             c{"cloud_ranges:\n  - {provider: a, format: oracle, file: x.json}\n", 4, "aws, gcp, azure"},
             c{"cloud_ranges:\n  - {provider: a, format: aws}\n", 4, "missing \"file\""},
             c{"cloud_ranges:\n  - {provider: a, format: aws, file: x, region: y}\n", 4, "unknown key \"region\""},
         })
        expect_rejected("main.yaml", main_head + t.yaml, t.line, t.reason, false);
}

}  // namespace
}  // namespace registry_redirector
