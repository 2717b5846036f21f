#include <gtest/gtest.h>

#include "registry_redirector/http/request_handler.hpp"

namespace registry_redirector {
namespace {

provider_config provider(std::string name, std::vector<std::uint32_t> asns, bool redirects = true) {
    provider_config p;
    p.name = name;
    p.file = name + ".yaml";
    if (redirects) p.redirects_to = redirect_target{"registry." + name + ".example", "artifacts." + name + ".example"};
    p.asns = std::move(asns);
    return p;
}

class RequestHandlerTest : public ::testing::Test {
protected:
    RequestHandlerTest() {
        origin_table o;
        o.v4.push_back({0xCB007100u, 24, 64500});  // 203.0.113.0/24 -> bigcloud
        const auto p = parse_ip_prefix("2001:db8:1::/48").prefix;
        o.v6.push_back({p.v6, 48, 64500});
        snapshot_ = std::make_unique<serving_snapshot>(serving_snapshot{
            build_routing_table({provider("bigcloud", {64500}), provider("google", {64520})}, "google", o),
            client_ip_policy{trusted_proxy_set({parse_ip_prefix("192.0.2.0/24").prefix})},
            {0, 1},
            1});
    }

    request_view get(std::string_view target) {
        request_view r;
        r.method = "GET";
        r.target = target;
        return r;
    }

    std::string render(const request_view& r, const ip_address& peer) {
        std::string out;
        write_response(handle_request(r, peer, snapshot_.get()), r, "Tue, 24 Nov 2026 10:00:00 GMT", out);
        return out;
    }

    std::unique_ptr<serving_snapshot> snapshot_;
    const ip_address cloud_peer = *parse_ip_address("203.0.113.7");
    const ip_address other_peer = *parse_ip_address("198.51.100.7");
    const ip_address proxy_peer = *parse_ip_address("192.0.2.1");
};

TEST_F(RequestHandlerTest, RedirectsExactBytes) {
    EXPECT_EQ(render(get("/v2/pause/manifests/3.9"), cloud_peer),
              "HTTP/1.1 302 Found\r\n"
              "Location: https://registry.bigcloud.example/v2/pause/manifests/3.9\r\n"
              "Content-Length: 0\r\n"
              "Date: Tue, 24 Nov 2026 10:00:00 GMT\r\n"
              "\r\n");
}

TEST_F(RequestHandlerTest, RequestIdIsAppendedAsAQueryParameter) {
    for (const auto& [target, location] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
             {"/v2/pause/manifests/3.9", "https://registry.bigcloud.example/v2/pause/manifests/3.9?rid=0af7651916cd43dd8448eb211c80319c"},
             {"/v2/x?n=1", "https://registry.bigcloud.example/v2/x?n=1&rid=0af7651916cd43dd8448eb211c80319c"},
             {"/release/stable.txt?", "https://artifacts.bigcloud.example/release/stable.txt?&rid=0af7651916cd43dd8448eb211c80319c"}}) {
        const request_view r = get(target);
        response_plan plan = handle_request(r, cloud_peer, snapshot_.get());
        plan.request_id = "0af7651916cd43dd8448eb211c80319c";
        std::string out;
        write_response(plan, r, "Tue, 24 Nov 2026 10:00:00 GMT", out);
        EXPECT_NE(out.find("\r\nLocation: " + std::string(location) + "\r\n"), std::string::npos) << out;
    }
    // Not on other answers.
    response_plan rejected = reject(status_code::bad_request_400);
    rejected.request_id = "0af7651916cd43dd8448eb211c80319c";
    std::string out;
    write_response(rejected, get("/"), "Tue, 24 Nov 2026 10:00:00 GMT", out);
    EXPECT_EQ(out.find("rid="), std::string::npos);
}

TEST_F(RequestHandlerTest, RegistryOnlyForV2AndBelow) {
    struct c {
        const char* target;
        route expected;
    };
    for (const auto& x : {c{"/v2", route::registry}, c{"/v2/", route::registry}, c{"/v2?ping=1", route::registry},
                          c{"/v2/a/b?c=d", route::registry}, c{"/v2x/foo", route::artifacts},
                          c{"/V2/foo", route::artifacts}, c{"/x/v2/y", route::artifacts}, c{"/", route::artifacts},
                          c{"/release/v1.31.0/bin/linux/amd64/kubectl", route::artifacts}, c{"/v", route::artifacts}}) {
        const auto p = handle_request(get(x.target), other_peer, snapshot_.get());
        EXPECT_EQ(p.status, status_code::found_302) << x.target;
        EXPECT_EQ(p.kind, x.expected) << x.target;
    }
}

TEST_F(RequestHandlerTest, TargetIsCopiedVerbatim) {
    const std::string target = "/dl/%2e%2e/a%20b?x=%00&y=../..//z#frag";
    const auto out = render(get(target), other_peer);
    EXPECT_NE(out.find("Location: https://artifacts.google.example" + target + "\r\n"), std::string::npos) << out;
}

TEST_F(RequestHandlerTest, ProviderByPeerAddress) {
    EXPECT_EQ(handle_request(get("/"), cloud_peer, snapshot_.get()).host, "artifacts.bigcloud.example");
    EXPECT_EQ(handle_request(get("/"), other_peer, snapshot_.get()).host, "artifacts.google.example");
    EXPECT_EQ(handle_request(get("/"), *parse_ip_address("::ffff:203.0.113.7"), snapshot_.get()).host,
              "artifacts.bigcloud.example");
    EXPECT_EQ(handle_request(get("/"), *parse_ip_address("2001:db8:1::1"), snapshot_.get()).host,
              "artifacts.bigcloud.example");
}

TEST_F(RequestHandlerTest, XRealIpOnlyFromTrustedProxies) {
    auto r = get("/v2/");
    r.proxy.x_real_ip.add("203.0.113.9");
    auto p = handle_request(r, proxy_peer, snapshot_.get());
    EXPECT_EQ(p.host, "registry.bigcloud.example");
    EXPECT_EQ(p.source, client_ip_source::x_real_ip);
    p = handle_request(r, other_peer, snapshot_.get());
    EXPECT_EQ(p.host, "registry.google.example");
    EXPECT_EQ(p.source, client_ip_source::untrusted_header);
    r.proxy.x_real_ip = {};
    r.proxy.x_real_ip.add("203.0.113.999");
    p = handle_request(r, proxy_peer, snapshot_.get());
    EXPECT_EQ(p.host, "registry.google.example");
    EXPECT_EQ(p.source, client_ip_source::invalid_header);
}

TEST_F(RequestHandlerTest, HeadIsRedirectedWithoutBody) {
    auto r = get("/v2/");
    r.method = "HEAD";
    const auto out = render(r, other_peer);
    EXPECT_EQ(out.rfind("HTTP/1.1 302 Found\r\n", 0), 0u);
    EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
}

TEST_F(RequestHandlerTest, OtherMethodsGet405WithAllow) {
    for (const char* m : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get", "BREW"}) {
        auto r = get("/v2/");
        r.method = m;
        const auto out = render(r, other_peer);
        EXPECT_EQ(out.rfind("HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n", 0), 0u) << m << out;
        EXPECT_EQ(handle_request(r, other_peer, snapshot_.get()).kind, route::rejected);
    }
}

TEST_F(RequestHandlerTest, BodiesAreRefusedAndClose) {
    auto r = get("/");
    r.has_body = true;
    auto p = handle_request(r, other_peer, snapshot_.get());
    EXPECT_EQ(p.status, status_code::content_too_large_413);
    EXPECT_TRUE(p.close);
    r.method = "POST";
    p = handle_request(r, other_peer, snapshot_.get());
    EXPECT_EQ(p.status, status_code::method_not_allowed_405);
    EXPECT_TRUE(p.close);  // the unread body must not be parsed as a request
}

TEST_F(RequestHandlerTest, AbsoluteFormKeepsOnlyPathAndQuery) {
    // RFC 9112 section 3.2.2: a server must accept absolute-form; the
    // redirect keeps our host, never the one in the target.
    for (const char* t : {"http://evil.example/v2/x?y=1", "HTTPS://evil.example:8443/v2/x?y=1"}) {
        const auto out = render(get(t), other_peer);
        EXPECT_NE(out.find("Location: https://registry.google.example/v2/x?y=1\r\n"), std::string::npos) << t << out;
    }
}

TEST_F(RequestHandlerTest, ControlCharactersInTargetsAreRejected) {
    for (const char* t : {"/a\rb", "/a\nLocation: x", "/a b", "/a\x7f", "/a\tb"}) {
        const auto p = handle_request(get(t), other_peer, snapshot_.get());
        EXPECT_EQ(p.status, status_code::bad_request_400) << t;
    }
}

TEST_F(RequestHandlerTest, NonOriginFormTargetsAreBadRequests) {
    for (const char* t : {"http://evil.example", "http:///x", "http://h?q", "*", "evil.example:443", "", "ftp://h/x"}) {
        const auto p = handle_request(get(t), other_peer, snapshot_.get());
        EXPECT_EQ(p.status, status_code::bad_request_400) << t;
        EXPECT_TRUE(p.close);
    }
}

TEST_F(RequestHandlerTest, NotReadyIs503WithRetryAfter) {
    std::string out;
    const auto r = get("/");
    write_response(handle_request(r, other_peer, nullptr), r, "D", out);
    EXPECT_EQ(out.rfind("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n", 0), 0u) << out;
}

TEST_F(RequestHandlerTest, ConnectionHeaderFollowsVersionAndKeepAlive) {
    auto r = get("/");
    EXPECT_EQ(render(r, other_peer).find("Connection:"), std::string::npos);  // 1.1 keep-alive: implied
    r.keep_alive = false;
    EXPECT_NE(render(r, other_peer).find("Connection: close\r\n"), std::string::npos);
    r.version = 10;
    EXPECT_NE(render(r, other_peer).find("Connection: close\r\n"), std::string::npos);
    r.keep_alive = true;
    EXPECT_NE(render(r, other_peer).find("Connection: keep-alive\r\n"), std::string::npos);
}

TEST_F(RequestHandlerTest, UnsupportedVersionIs505) {
    auto r = get("/");
    r.version = 20;
    EXPECT_EQ(handle_request(r, other_peer, snapshot_.get()).status, status_code::version_not_supported_505);
}

TEST_F(RequestHandlerTest, ErrorResponsesCarryTheirLength) {
    std::string out;
    write_response(reject(status_code::bad_request_400), request_view{}, "D", out);
    EXPECT_EQ(out,
              "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n"
              "Date: D\r\nConnection: close\r\n\r\nBad request.\n");
}

}  // namespace
}  // namespace registry_redirector
