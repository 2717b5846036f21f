#include <gtest/gtest.h>

#include "registry_redirector/routing/route_decision.hpp"

namespace registry_redirector {
namespace {

const char* main_yaml = R"(providers_dir: p
prefixes: [t]
routes:
  status: 307
  upstream: https://up.example/v2/proj/images{v2_path}
  classes: {ping: ok, blob: mirror, manifest: upstream, other_v2: upstream,
            root: "https://project.example/", artifact: not_found}
  fixed: {"/privacy": "https://policy.example/privacy/", "/v2/_catalog": not_found}
  cache_control: {blob: "public, max-age=3600", ping: "no-store"}
)";

class RouteDecisionTest : public ::testing::Test {
protected:
    routing_table table;
    void SetUp() override {
        const server_config config = parse_server_config("main.yaml", main_yaml);
        std::vector<provider_config> providers{
            parse_provider("amazon.yaml", R"(name: amazon
asns: [64500]
mirrors:
  - {name: s3-use1, regions: [us-east-1], registry: r.example, blobs: "https://s3-{region}.example/containers/images/{digest}"}
  - {name: cdn, registry: cdn.example}
)"),
            parse_provider("google.yaml", "name: google\nasns: [64520]\nmirrors:\n  - {name: g, registry: 'https://g.example/base/', artifacts: art.g.example}\n")};
        origin_table origins;
        origins.v4.push_back({0xc6336400u, 24, 64500});  // 198.51.100.0/24
        routing_options options;
        labelled_source s;
        s.source.provider = "amazon";
        s.ranges = parse_cloud_ranges("aws.json", R"({"prefixes":[{"ip_prefix":"198.51.100.0/24","region":"us-east-1"}]})",
                                      cloud_format::aws);
        options.clouds.push_back(s);
        options.routes = config.routes;
        table = build_routing_table(providers, "google", origins, options);
    }

    std::string location(const route_decision& d) {
        return d.location ? render_url(*d.location, d.values) : std::string("-");
    }
};

TEST_F(RouteDecisionTest, EveryClassAndAction) {
    const auto aws = *parse_ip_address("198.51.100.7");
    const auto other = *parse_ip_address("203.0.113.9");
    const std::string digest = "sha256:da86e6ba6ca197bf6bc5e9d900febd906b133eaa4750e6bed647b0fbe50ed43e";

    const std::string blob = "/v2/pause/blobs/" + digest, blob_query = blob + "?ns=x";
    auto d = decide_route(table, blob, aws, false);
    EXPECT_EQ(d.what, decision_kind::redirect);
    EXPECT_EQ(d.status, 307u);
    EXPECT_EQ(d.klass, path_class::blob);
    EXPECT_EQ(d.action, class_action_kind::mirror);
    EXPECT_EQ(table.mirrors()[d.mirror].name, "s3-use1");
    EXPECT_EQ(location(d), "https://s3-us-east-1.example/containers/images/" + digest);
    EXPECT_EQ(d.cache_control, "public, max-age=3600");

    d = decide_route(table, blob_query, other, false);
    EXPECT_EQ(table.mirrors()[d.mirror].name, "g");
    EXPECT_EQ(location(d), "https://g.example/base/v2/pause/blobs/" + digest + "?ns=x");

    d = decide_route(table, "/v2/pause/manifests/3.9", aws, false);
    EXPECT_EQ(d.action, class_action_kind::upstream);
    EXPECT_EQ(location(d), "https://up.example/v2/proj/images/pause/manifests/3.9");
    EXPECT_EQ(d.cache_control, "");

    d = decide_route(table, "/v2/pause/tags/list?n=10&last=a", other, false);
    EXPECT_EQ(d.klass, path_class::other_v2);
    EXPECT_EQ(location(d), "https://up.example/v2/proj/images/pause/tags/list?n=10&last=a");  // query kept

    d = decide_route(table, "/v2/", other, false);
    EXPECT_EQ(d.what, decision_kind::ok);
    EXPECT_EQ(d.cache_control, "no-store");

    d = decide_route(table, "/", other, false);
    EXPECT_EQ(d.action, class_action_kind::fixed);
    EXPECT_EQ(location(d), "https://project.example/");

    d = decide_route(table, "/privacy-anything?x", other, false);
    EXPECT_EQ(d.action, class_action_kind::fixed);
    EXPECT_EQ(location(d), "https://policy.example/privacy/");

    d = decide_route(table, "/v2/_catalog?n=1", other, false);
    EXPECT_EQ(d.what, decision_kind::not_found);
    EXPECT_EQ(d.action, class_action_kind::not_found);

    d = decide_route(table, "/v3/", other, false);
    EXPECT_EQ(d.what, decision_kind::not_found);
    d = decide_route(table, "/v2foo", other, false);
    EXPECT_EQ(d.what, decision_kind::not_found);

    d = decide_route(table, "/v2/../../foo/manifests/latest", other, false);
    EXPECT_EQ(d.what, decision_kind::bad_request);
}

TEST_F(RouteDecisionTest, SkippingEveryMirrorIsNoMirror) {
    const auto d = decide_route(table, "/v2/a/blobs/sha256:ab", *parse_ip_address("203.0.113.9"), false,
                                [](std::uint32_t) { return true; });
    EXPECT_EQ(d.what, decision_kind::no_mirror);
}

TEST(RouteDecisionLegacyTest, WithoutRoutesRegistryAndArtifactsByPath) {
    std::vector<provider_config> providers{
        parse_provider("google.yaml", "name: google\nasns: [1]\nredirectsTo: {registry: reg.example, artifacts: art.example}\n")};
    const auto t = build_routing_table(providers, "google", {});
    const auto a = *parse_ip_address("192.0.2.1");
    auto loc = [&](const char* target) {
        const auto d = decide_route(t, target, a, false);
        EXPECT_EQ(d.status, 302u);
        EXPECT_FALSE(d.oci);
        return render_url(*d.location, d.values);
    };
    EXPECT_EQ(loc("/v2/pause/blobs/sha256:ab?x"), "https://reg.example/v2/pause/blobs/sha256:ab?x");
    EXPECT_EQ(loc("/v2?x"), "https://reg.example/v2?x");
    EXPECT_EQ(loc("/v2/../x"), "https://reg.example/v2/../x");  // no OCI checks without routes
    EXPECT_EQ(loc("/v2foo"), "https://art.example/v2foo");
    EXPECT_EQ(loc("/"), "https://art.example/");
}

}  // namespace
}  // namespace registry_redirector
