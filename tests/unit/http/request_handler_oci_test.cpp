#include <gtest/gtest.h>

#include "registry_redirector/http/request_handler.hpp"

namespace registry_redirector {
namespace {

constexpr const char* date = "Tue, 24 Nov 2026 10:00:00 GMT";
const std::string digest = "sha256:da86e6ba6ca197bf6bc5e9d900febd906b133eaa4750e6bed647b0fbe50ed43e";

class RequestHandlerOciTest : public ::testing::Test {
protected:
    void build(bool explain, bool oci = true) {
        const server_config config = parse_server_config("main.yaml", std::string(R"(providers_dir: p
prefixes: [t]
)") + (oci ? R"(routes:
  status: 307
  upstream: https://up.example/v2/proj/images{v2_path}
  classes: {ping: ok, manifest: upstream, other_v2: upstream, root: "https://project.example/", artifact: not_found}
  fixed: {"/privacy": "https://policy.example/"}
  cache_control: {blob: "public, max-age=3600", ping: no-store}
)" : ""));
        std::vector<provider_config> providers{
            parse_provider("amazon.yaml", R"(name: amazon
asns: [64501]
mirrors:
  - {name: s3-use1, regions: [us-east-1], ranges: false, blobs: "https://s3-{region}.example/containers/images/{digest}", registry: r.example}
  - {name: cdn, registry: "https://cdn.example/base"}
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
        options.explain_header = explain;
        snapshot_ = std::make_unique<serving_snapshot>(serving_snapshot{
            build_routing_table(providers, "google", origins, options), client_ip_policy{}, {0, 1}, 1});
    }

    std::string render(std::string_view method, std::string_view target, const char* peer, bool range = false) {
        request_view r;
        r.method = method;
        r.target = target;
        r.has_range = range;
        std::string out;
        write_response(handle_request(r, *parse_ip_address(peer), snapshot_.get()), r, date, out);
        return out;
    }

    std::unique_ptr<serving_snapshot> snapshot_;
};

TEST_F(RequestHandlerOciTest, BlobToTheRegionsBucketWithCacheControl) {
    build(false);
    EXPECT_EQ(render("GET", "/v2/pause/blobs/" + digest + "?x=1", "203.0.113.9"),
              "HTTP/1.1 307 Temporary Redirect\r\n"
              "Cache-Control: public, max-age=3600\r\n"
              "Location: https://s3-us-east-1.example/containers/images/" + digest + "\r\n"
              "Content-Length: 0\r\n"
              "Date: Tue, 24 Nov 2026 10:00:00 GMT\r\n"
              "\r\n");
    // A Range request: the bucket mirror refuses ranges, the CDN (a base URL) serves it, query kept.
    EXPECT_EQ(render("GET", "/v2/pause/blobs/" + digest + "?x=1", "203.0.113.9", true),
              "HTTP/1.1 307 Temporary Redirect\r\n"
              "Cache-Control: public, max-age=3600\r\n"
              "Location: https://cdn.example/base/v2/pause/blobs/" + digest + "?x=1\r\n"
              "Content-Length: 0\r\n"
              "Date: Tue, 24 Nov 2026 10:00:00 GMT\r\n"
              "\r\n");
}

TEST_F(RequestHandlerOciTest, ExplainHeaderNamesProviderRegionMirrorClass) {
    build(true);
    const std::string out = render("GET", "/v2/pause/blobs/" + digest, "203.0.113.9");
    EXPECT_NE(out.find("\r\nX-Redirect-Reason: provider=amazon; region=us-east-1; mirror=s3-use1; class=blob\r\n"),
              std::string::npos) << out;
    EXPECT_EQ(out.find("203.0.113"), std::string::npos);  // no client address in it
    const std::string up = render("GET", "/v2/pause/manifests/3.9", "192.0.2.1");
    EXPECT_NE(up.find("Location: https://up.example/v2/proj/images/pause/manifests/3.9\r\n"), std::string::npos) << up;
    EXPECT_NE(up.find("X-Redirect-Reason: provider=google; region=-; mirror=-; class=manifest\r\n"), std::string::npos) << up;
}

TEST_F(RequestHandlerOciTest, PingNotFoundFixedAndBadPaths) {
    build(false);
    EXPECT_EQ(render("GET", "/v2/", "192.0.2.1"),
              "HTTP/1.1 200 OK\r\n"
              "Cache-Control: no-store\r\n"
              "Docker-Distribution-Api-Version: registry/2.0\r\n"
              "Content-Length: 0\r\n"
              "Date: Tue, 24 Nov 2026 10:00:00 GMT\r\n"
              "\r\n");
    EXPECT_EQ(render("GET", "/v3/", "192.0.2.1"),
              "HTTP/1.1 404 Not Found\r\n"
              "Content-Type: text/plain; charset=utf-8\r\n"
              "Content-Length: 19\r\n"
              "Date: Tue, 24 Nov 2026 10:00:00 GMT\r\n"
              "\r\n"
              "404 page not found\n");
    EXPECT_EQ(render("HEAD", "/v3/", "192.0.2.1").find("404 page not found"), std::string::npos);
    EXPECT_EQ(render("GET", "/privacy-anything", "192.0.2.1"),
              "HTTP/1.1 307 Temporary Redirect\r\n"
              "Location: https://policy.example/\r\n"
              "Content-Length: 0\r\n"
              "Date: Tue, 24 Nov 2026 10:00:00 GMT\r\n"
              "\r\n");
    EXPECT_EQ(render("GET", "/v2/../../foo/manifests/latest", "192.0.2.1").substr(0, 24), "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(render("GET", "/v2/a//manifests/latest", "192.0.2.1").substr(0, 24), "HTTP/1.1 400 Bad Request");
}

TEST_F(RequestHandlerOciTest, MirrorsWithoutRoutesKeep302AndPathRule) {
    build(false, false);
    EXPECT_EQ(render("GET", "/v2/pause/manifests/3.9", "203.0.113.9"),
              "HTTP/1.1 302 Found\r\n"
              "Location: https://r.example/v2/pause/manifests/3.9\r\n"
              "Content-Length: 0\r\n"
              "Date: Tue, 24 Nov 2026 10:00:00 GMT\r\n"
              "\r\n");
    EXPECT_NE(render("GET", "/binaries/x", "192.0.2.1").find("Location: https://art.g.example/binaries/x\r\n"),
              std::string::npos);
}

}  // namespace
}  // namespace registry_redirector
