#include "registry_redirector/mirrors/http_probe.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "test_mirror.hpp"
#include "test_pki.hpp"

namespace registry_redirector {
namespace {

using test_support::mirror_mode;
using test_support::test_mirror;
using test_support::test_pki;

const test_pki& pki() {
    static const test_pki p = test_pki::create();
    return p;
}

probe_result probe(probe_config config) {
    boost::asio::io_context context;
    std::shared_ptr<boost::asio::ssl::context> tls;
    if (config.url.starts_with("https://")) tls = make_probe_tls_context(config.ca_file);
    probe_result out;
    int calls = 0;
    start_probe(context, config, tls, [&](probe_result r) {
        out = std::move(r);
        ++calls;
    });
    context.run();
    EXPECT_EQ(calls, 1);
    return out;
}

probe_config config_for(const std::string& url) {
    probe_config c;
    c.url = url;
    c.timeout = std::chrono::milliseconds(1500);
    return c;
}

TEST(MirrorUrlTest, ParsesAndRejects) {
    auto u = parse_mirror_url("https://mirror.example:8443/v2/pause/blobs/sha256:ab?x=1");
    ASSERT_TRUE(u);
    EXPECT_TRUE(u->https);
    EXPECT_EQ(u->host, "mirror.example");
    EXPECT_EQ(u->port, 8443);
    EXPECT_EQ(u->target, "/v2/pause/blobs/sha256:ab?x=1");
    u = parse_mirror_url("http://[::1]/");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->port, 80);
    u = parse_mirror_url("https://h");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->target, "/");
    EXPECT_EQ(u->port, 443);
    for (const char* bad : {"ftp://h/", "https://", "https://user@h/", "http://h:0/", "http://h:70000/",
                            "http://h/a b", "http://h/#frag", "http://[::1/", "h/"})
        EXPECT_FALSE(parse_mirror_url(bad)) << bad;
}

TEST(HttpProbeTest, PassesOnAcceptedStatus) {
    test_mirror mirror;
    const auto r = probe(config_for(mirror.base_url() + "/v2/pause/blobs/sha256:00"));
    EXPECT_EQ(r.outcome, probe_outcome::pass) << r.reason;
    EXPECT_EQ(r.status, 200u);
    EXPECT_GT(r.latency.count(), 0);
}

TEST(HttpProbeTest, HeadAndExpectList) {
    test_mirror mirror;
    auto c = config_for(mirror.base_url() + "/x");
    c.method = probe_config::http_method::head;
    EXPECT_EQ(probe(c).outcome, probe_outcome::pass);
    EXPECT_EQ(mirror.head_requests(), 1u);
    mirror.set_mode(mirror_mode::not_found);
    EXPECT_EQ(probe(c).outcome, probe_outcome::bad_status);
    c.expect = {{200, 200}, {404, 404}};
    EXPECT_EQ(probe(c).outcome, probe_outcome::pass);
}

TEST(HttpProbeTest, ClassifiesFailures) {
    test_mirror mirror;
    const auto c = config_for(mirror.base_url() + "/x");
    mirror.set_mode(mirror_mode::server_error);
    auto r = probe(c);
    EXPECT_EQ(r.outcome, probe_outcome::bad_status);
    EXPECT_EQ(r.reason, "status 500");
    mirror.set_mode(mirror_mode::bearer);
    r = probe(c);
    EXPECT_EQ(r.outcome, probe_outcome::token_required);
    EXPECT_NE(r.reason.find("requires a token"), std::string::npos);
    mirror.set_mode(mirror_mode::reset);
    EXPECT_EQ(probe(c).outcome, probe_outcome::refused);
    mirror.set_mode(mirror_mode::hang);
    auto hang = c;
    hang.timeout = std::chrono::milliseconds(300);
    r = probe(hang);
    EXPECT_EQ(r.outcome, probe_outcome::timeout) << r.reason;
    EXPECT_LT(r.latency, std::chrono::seconds(2));
}

TEST(HttpProbeTest, ConnectionRefused) {
    // A port that was just free: bind, read the number, close.
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    const auto port = a.local_endpoint().port();
    a.close();
    const auto r = probe(config_for("http://127.0.0.1:" + std::to_string(port) + "/"));
    EXPECT_EQ(r.outcome, probe_outcome::refused);
    EXPECT_EQ(r.reason, "connection refused");
}

TEST(HttpProbeTest, RedirectsOnlyWhenAllowed) {
    test_mirror mirror;
    mirror.set_mode(mirror_mode::redirect);
    auto c = config_for(mirror.base_url() + "/start");
    auto r = probe(c);
    EXPECT_EQ(r.outcome, probe_outcome::bad_status);
    EXPECT_EQ(r.status, 302u);
    c.follow_redirects = true;
    r = probe(c);
    EXPECT_EQ(r.outcome, probe_outcome::pass) << r.reason;
    EXPECT_EQ(r.status, 200u);
}

TEST(HttpProbeTest, HttpsVerifiesTheCertificateAndName) {
    test_mirror good(pki().server_cert, pki().server_key);
    auto c = config_for(good.base_url() + "/x");
    c.ca_file = pki().ca_cert;
    auto r = probe(c);
    EXPECT_EQ(r.outcome, probe_outcome::pass) << r.reason;

    // The name must match: "localhost" is in the certificate, "127.0.0.2" is not.
    auto by_name = c;
    by_name.url = "https://localhost:" + std::to_string(good.port()) + "/x";
    EXPECT_EQ(probe(by_name).outcome, probe_outcome::pass);

    test_mirror rogue(pki().rogue_cert, pki().rogue_key);
    auto wrong = c;
    wrong.url = rogue.base_url() + "/x";
    r = probe(wrong);
    EXPECT_EQ(r.outcome, probe_outcome::tls);
    EXPECT_NE(r.reason.find("certificate"), std::string::npos) << r.reason;
}

TEST(HttpProbeTest, PlainHttpToATlsPortIsNotAPass) {
    test_mirror tls_mirror(pki().server_cert, pki().server_key);
    auto c = config_for("http://127.0.0.1:" + std::to_string(tls_mirror.port()) + "/x");
    c.timeout = std::chrono::milliseconds(500);
    EXPECT_FALSE(probe(c).passed());
}

TEST(HttpProbeTest, BadCaFileIsAnError) {
    EXPECT_THROW(make_probe_tls_context("/nonexistent/ca.pem"), std::runtime_error);
}

}  // namespace
}  // namespace registry_redirector
