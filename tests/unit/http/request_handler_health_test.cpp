#include <gtest/gtest.h>

#include "registry_redirector/http/request_handler.hpp"

namespace registry_redirector {
namespace {

const std::string digest = "sha256:da86e6ba6ca197bf6bc5e9d900febd906b133eaa4750e6bed647b0fbe50ed43e";

/// amazon (203.0.113.0/24, region us-east-1) has two regional mirrors and a
/// CDN; google is the default with one mirror from redirectsTo.
class RequestHandlerHealthTest : public ::testing::Test {
protected:
    void build(bool upstream) {
        const server_config config = parse_server_config("main.yaml", std::string(R"(providers_dir: p
prefixes: [t]
)") + (upstream ? R"(routes:
  upstream: https://up.example/v2/proj/images{v2_path}
)" : ""));
        std::vector<provider_config> providers{
            parse_provider("amazon.yaml", R"(name: amazon
asns: [64501]
mirrors:
  - {name: east-a, regions: [us-east-1], registry: "https://east-a.example"}
  - {name: east-b, regions: [us-east-1], registry: "https://east-b.example"}
  - {name: cdn, registry: "https://cdn.example"}
)"),
            parse_provider("google.yaml", "name: google\nasns: [64500]\nredirectsTo: {registry: reg.g.example, artifacts: art.g.example}\n")};
        origin_table origins;
        origins.v4.push_back({0xCB007100u, 24, 64501});  // 203.0.113.0/24
        routing_options options;
        labelled_source src;
        src.source.provider = "amazon";
        src.ranges = parse_cloud_ranges("aws.json", R"({"prefixes":[{"ip_prefix":"203.0.0.0/16","region":"us-east-1"}]})",
                                        cloud_format::aws);
        options.clouds.push_back(src);
        options.routes = config.routes;
        snapshot_ = std::make_unique<serving_snapshot>(serving_snapshot{
            build_routing_table(providers, "google", origins, options), client_ip_policy{}, {0, 1}, 1});
        snapshot_->health = std::make_shared<health_board>(snapshot_->routes.mirrors().size());
    }

    std::uint32_t index_of(std::string_view name) const {
        const auto& mirrors = snapshot_->routes.mirrors();
        for (std::uint32_t i = 0; i < mirrors.size(); ++i)
            if (mirrors[i].name == name) return i;
        ADD_FAILURE() << "no mirror " << name;
        return 0;
    }

    response_plan decide(const char* client) {
        request_view r;
        r.method = "GET";
        r.target = target_;
        return handle_request(r, *parse_ip_address(client), snapshot_.get());
    }

    std::string mirror_of(const response_plan& p) const {
        return p.mirror == no_mirror ? std::string("-") : snapshot_->routes.mirrors()[p.mirror].name;
    }

    std::string target_ = "/v2/pause/blobs/" + digest;
    std::unique_ptr<serving_snapshot> snapshot_;
};

TEST_F(RequestHandlerHealthTest, ADownMirrorIsPassedOverForTheNextInItsTier) {
    build(false);
    const auto healthy = decide("203.0.113.9");
    ASSERT_EQ(healthy.failover, failover_reason::none);
    const std::string first = mirror_of(healthy);
    ASSERT_TRUE(first == "east-a" || first == "east-b") << first;
    const std::string second = first == "east-a" ? "east-b" : "east-a";

    snapshot_->health->set_up(index_of(first), false);
    auto p = decide("203.0.113.9");
    EXPECT_EQ(mirror_of(p), second);
    EXPECT_EQ(p.failover, failover_reason::next_mirror);

    // Drained counts the same as down; then the next tier (any region: cdn).
    snapshot_->health->set_drained(index_of(second), true);
    p = decide("203.0.113.9");
    EXPECT_EQ(mirror_of(p), "cdn");
    EXPECT_EQ(p.failover, failover_reason::next_mirror);

    // A client whose choice health did not change is not counted.
    snapshot_->health->set_drained(index_of(second), false);
    snapshot_->health->set_up(index_of(first), true);
    snapshot_->health->set_up(index_of("cdn"), false);
    EXPECT_EQ(decide("203.0.113.9").failover, failover_reason::none);
}

TEST_F(RequestHandlerHealthTest, EverythingDownGoesToTheUpstream) {
    build(true);
    for (std::uint32_t i = 0; i < snapshot_->routes.mirrors().size(); ++i) snapshot_->health->set_up(i, false);
    const auto p = decide("203.0.113.9");
    EXPECT_EQ(p.failover, failover_reason::upstream);
    EXPECT_TRUE(is_redirect(p.status));
    request_view r;
    r.method = "GET";
    r.target = target_;
    std::string out;
    write_response(p, r, "Tue, 24 Nov 2026 10:00:00 GMT", out);
    EXPECT_NE(out.find("Location: https://up.example/v2/proj/images/pause/blobs/" + digest + "\r\n"), std::string::npos)
        << out;
}

TEST_F(RequestHandlerHealthTest, EverythingDownWithoutUpstreamIsTheDefaultsMirrorAsIfUp) {
    build(false);
    for (std::uint32_t i = 0; i < snapshot_->routes.mirrors().size(); ++i) snapshot_->health->set_up(i, false);
    const auto p = decide("203.0.113.9");
    EXPECT_EQ(p.failover, failover_reason::last_resort);
    EXPECT_TRUE(is_redirect(p.status));
    EXPECT_EQ(mirror_of(p), "google");
    EXPECT_EQ(p.host, "reg.g.example");
}

TEST_F(RequestHandlerHealthTest, NoBoardMeansEveryMirrorIsUp) {
    build(false);
    snapshot_->health.reset();
    const auto p = decide("203.0.113.9");
    EXPECT_EQ(p.failover, failover_reason::none);
    EXPECT_NE(p.mirror, no_mirror);
}

/// Blob existence checks on east-a and east-b (none on the cdn), settled
/// from their caches.
class BlobSettleTest : public RequestHandlerHealthTest {
protected:
    void SetUp() override {
        build(false);
        snapshot_->blob_checks.resize(snapshot_->routes.mirrors().size());
        for (const char* name : {"east-a", "east-b"})
            snapshot_->blob_checks[index_of(name)] =
                std::make_shared<const blob_check>(blob_check{{}, std::make_shared<blob_existence_cache>(64), nullptr});
    }
    blob_existence_cache& cache_of(std::string_view name) { return *snapshot_->blob_checks[index_of(name)]->cache; }
    void learn(std::string_view mirror, bool exists) {
        cache_of(mirror).insert("https://" + std::string(mirror) + ".example/v2/pause/blobs/" + digest, exists,
                                now_ + std::chrono::minutes(1));
    }
    const blob_check* settle(response_plan& plan) {
        request_view r;
        r.method = "GET";
        r.target = target_;
        return settle_blob_check(plan, r, *parse_ip_address(client_), *snapshot_, client_ip_source::peer, excluded_,
                                 url_, now_);
    }

    const char* client_ = "203.0.113.9";
    blob_existence_cache::clock::time_point now_ = blob_existence_cache::clock::now();
    std::vector<std::uint32_t> excluded_;
    std::string url_;
};

TEST_F(BlobSettleTest, UnknownAsksTheChosenMirror) {
    auto plan = decide(client_);
    const std::string first = mirror_of(plan);
    const blob_check* check = settle(plan);
    ASSERT_NE(check, nullptr);
    EXPECT_EQ(check, snapshot_->blob_checks[index_of(first)].get());
    EXPECT_EQ(mirror_of(plan), first);
    EXPECT_EQ(url_, "https://" + first + ".example/v2/pause/blobs/" + digest);
    EXPECT_TRUE(excluded_.empty());
}

TEST_F(BlobSettleTest, KnownPresentIsSentAsDecided) {
    auto plan = decide(client_);
    const std::string first = mirror_of(plan);
    learn(first, true);
    EXPECT_EQ(settle(plan), nullptr);
    EXPECT_EQ(mirror_of(plan), first);
    EXPECT_EQ(plan.failover, failover_reason::none);
    EXPECT_EQ(cache_of(first).hits(), 1u);
}

TEST_F(BlobSettleTest, KnownMissingPassesToTheNextCandidates) {
    auto plan = decide(client_);
    const std::string first = mirror_of(plan);
    const std::string second = first == "east-a" ? "east-b" : "east-a";
    learn(first, false);
    const blob_check* check = settle(plan);  // the second is unknown: ask it
    ASSERT_NE(check, nullptr);
    EXPECT_EQ(mirror_of(plan), second);
    EXPECT_EQ(plan.failover, failover_reason::blob_missing);
    EXPECT_EQ(excluded_, std::vector<std::uint32_t>{index_of(first)});

    learn(second, false);  // both lack it: the next tier (the cdn has no check)
    plan = decide(client_);
    excluded_.clear();
    EXPECT_EQ(settle(plan), nullptr);
    EXPECT_EQ(mirror_of(plan), "cdn");
    EXPECT_EQ(plan.failover, failover_reason::blob_missing);
    EXPECT_EQ(excluded_.size(), 2u);
}

TEST_F(BlobSettleTest, OnlyBlobsAreChecked) {
    target_ = "/v2/pause/manifests/3.9";
    auto plan = decide(client_);
    EXPECT_EQ(settle(plan), nullptr);
    EXPECT_TRUE(url_.empty());
}

}  // namespace
}  // namespace registry_redirector
