#include "registry_redirector/admin/mirror_endpoints.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/json.hpp>

namespace registry_redirector {
namespace {

struct fixture {
    prometheus::Registry registry;
    mirror_prober prober{registry};
    std::optional<std::string> token = std::string("s3cret");
    std::function<std::optional<admin_reply>(const admin_request&)> route;

    fixture() {
        prober.assign({{"east", std::nullopt}, {"west", std::nullopt}});
        route = mirror_routes({&prober,
                               [] {
                                   return std::vector<mirror_description>{{"east", "amazon", {"us-east-1"}, 100, 7},
                                                                          {"west", "amazon", {}, 0, 0}};
                               },
                               [this] { return token; }});
    }
    std::optional<admin_reply> call(std::string_view method, std::string_view path, std::string_view auth = {}) {
        return route(admin_request{method, path, {}, auth, "192.0.2.1"});
    }
};

TEST(MirrorEndpointsTest, ListsEveryMirror) {
    fixture f;
    const auto r = f.call("GET", "/mirrors");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200u);
    const auto doc = boost::json::parse(r->body);
    const auto& mirrors = doc.at("mirrors").as_array();
    ASSERT_EQ(mirrors.size(), 2u);
    EXPECT_EQ(mirrors[0].at("name").as_string(), "east");
    EXPECT_EQ(mirrors[0].at("provider").as_string(), "amazon");
    EXPECT_EQ(mirrors[0].at("regions").as_array()[0].as_string(), "us-east-1");
    EXPECT_EQ(mirrors[0].at("state").as_string(), "up");
    EXPECT_EQ(mirrors[0].at("requests").as_int64(), 7);
    EXPECT_EQ(mirrors[1].at("weight").as_int64(), 0);
    EXPECT_FALSE(f.call("GET", "/metrics"));  // not ours: the next route decides
}

TEST(MirrorEndpointsTest, DrainNeedsTheToken) {
    fixture f;
    EXPECT_EQ(f.call("POST", "/mirrors/east/drain")->status, 401u);
    EXPECT_EQ(f.call("POST", "/mirrors/east/drain", "Bearer wrong")->status, 403u);
    EXPECT_EQ(f.call("POST", "/mirrors/east/drain", "Basic czNjcmV0")->status, 403u);
    EXPECT_EQ(f.call("GET", "/mirrors/east/drain", "Bearer s3cret")->status, 405u);
    EXPECT_EQ(f.call("POST", "/mirrors/nope/drain", "Bearer s3cret")->status, 404u);
    EXPECT_EQ(f.call("POST", "/mirrors/east/explode", "Bearer s3cret")->status, 404u);

    EXPECT_EQ(f.call("POST", "/mirrors/east/drain", "bearer s3cret")->status, 200u);
    auto doc = boost::json::parse(f.call("GET", "/mirrors")->body);
    EXPECT_EQ(doc.at("mirrors").as_array()[0].at("state").as_string(), "drained");
    EXPECT_EQ(f.call("POST", "/mirrors/east/undrain", "Bearer s3cret")->status, 200u);
    doc = boost::json::parse(f.call("GET", "/mirrors")->body);
    EXPECT_EQ(doc.at("mirrors").as_array()[0].at("state").as_string(), "up");
}

TEST(MirrorEndpointsTest, WithoutATokenFileDrainIsRefused) {
    fixture f;
    f.token.reset();
    EXPECT_EQ(f.call("POST", "/mirrors/east/drain", "Bearer s3cret")->status, 403u);
    EXPECT_EQ(boost::json::parse(f.call("GET", "/mirrors")->body).at("mirrors").as_array()[0].at("state").as_string(),
              "up");
}

TEST(MirrorEndpointsTest, TokenComparison) {
    EXPECT_TRUE(bearer_token_matches("Bearer abc", "abc"));
    EXPECT_FALSE(bearer_token_matches("Bearer abcd", "abc"));
    EXPECT_FALSE(bearer_token_matches("Bearer ", "abc"));
    EXPECT_FALSE(bearer_token_matches("Bearer abc", ""));
    EXPECT_FALSE(bearer_token_matches("abc", "abc"));
}

}  // namespace
}  // namespace registry_redirector
