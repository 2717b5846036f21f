// Mirror health on the real binary (issue 12): probes against local test
// mirrors on loopback, failover under load, drain/undrain through the admin
// port, the fallbacks when everything is down, and HTTPS probes.
//
// Clients are told apart by X-Real-Ip (127.0.0.0/8 is a trusted proxy): each
// address sits in its own /24, so the two mirrors of "bigcloud" both get a
// share. Every wait is bounded by a generous deadline; nothing asserts how
// fast a state changes, only that it changes within the deadline.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "server_process.hpp"
#include "test_mirror.hpp"
#include "test_pki.hpp"

namespace registry_redirector::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test_support::mirror_mode;
using test_support::test_mirror;

// interval 100ms × fall 2 + timeout 100ms is the ideal detection time; the
// deadlines leave room for a loaded CI machine (and the sanitizer builds).
constexpr auto deadline = 20s;
const std::string token = "0123456789abcdef0123456789abcdef";

std::string probe_yaml(const std::string& url, const std::string& extra = "") {
    return "    probe: {url: '" + url + "', interval: 100ms, timeout: 100ms, fall: 2, rise: 2" + extra + "}\n";
}

/// The Location's host ("" for none).
std::string location_host(const http_response& r) {
    const std::string loc = r.header("location");
    const auto start = loc.find("://");
    if (start == std::string::npos) return "";
    const auto end = loc.find_first_of("/:", start + 3);
    return loc.substr(start + 3, end == std::string::npos ? std::string::npos : end - start - 3);
}

std::string client_ip(int i) { return "10." + std::to_string(i) + ".0.1"; }
std::string real_ip(const std::string& ip) { return "X-Real-Ip: " + ip + "\r\n"; }

/// One request from `ip` on a fresh connection: the Location host, or
/// "status N" / "no answer" when it is not a redirect.
std::string redirect_host(unsigned short port, const std::string& ip, const std::string& target = "/v2/") {
    const auto r = http_get(port, target, real_ip(ip));
    if (!r) return "no answer";
    if (r->status < 300 || r->status > 399) return "status " + std::to_string(r->status);
    return location_host(*r);
}

/// The JSON object of mirror `name` in GET /mirrors ("" when absent). The
/// objects hold no nested objects, so the first '}' ends it.
std::string mirror_entry(unsigned short admin_port, const std::string& name) {
    const auto r = http_get(admin_port, "/mirrors");
    if (!r || r->status != 200) return "";
    const auto at = r->body.find("{\"name\":\"" + name + "\"");
    if (at == std::string::npos) return "";
    return r->body.substr(at, r->body.find('}', at) - at + 1);
}

/// An integer field of a JSON object's text, -1 when absent.
long number_field(const std::string& entry, const std::string& field) {
    const std::string key = "\"" + field + "\":";
    const auto at = entry.find(key);
    if (at == std::string::npos) return -1;
    return std::strtol(entry.c_str() + at + key.size(), nullptr, 10);
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// A request to the admin port on a fresh connection.
std::optional<http_response> admin_request(unsigned short admin_port, const std::string& method, const std::string& path,
                                           const std::string& extra_headers = "") {
    http_client c(admin_port);
    if (!c.connected()) return std::nullopt;
    c.send(method + " " + path + " HTTP/1.1\r\nHost: admin\r\nContent-Length: 0\r\n" + extra_headers +
           "Connection: close\r\n\r\n");
    return c.read_response();
}

double metric(unsigned short admin_port, const std::string& series) { return scrape_metric(admin_port, series); }

class MirrorHealthTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("redirector-mirror-health-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "asns");
        std::ofstream(dir_ / "prefixes.tsv") << "203.0.113.0/24\t64500\n";
    }
    void TearDown() override { fs::remove_all(dir_); }

    /// bigcloud (10.0.0.0/8) has mirror-a and mirror-b; the default provider
    /// google has mirror-g. Each is probed at its own test mirror.
    void write_providers(const std::string& a_probe, const std::string& b_probe, const std::string& g_probe) {
        std::ofstream(dir_ / "asns/google.yaml") << "name: google\nasns: [64520]\nmirrors:\n"
                                                    "  - name: mirror-g\n    registry: g.mirror.example\n" +
                                                        g_probe;
        std::ofstream(dir_ / "asns/bigcloud.yaml") << "name: bigcloud\nasns: [64500]\ncidrs: [10.0.0.0/8]\nmirrors:\n"
                                                      "  - name: mirror-a\n    registry: a.mirror.example\n" +
                                                          a_probe +
                                                          "  - name: mirror-b\n    registry: b.mirror.example\n" +
                                                          b_probe;
    }
    void write_providers() {
        write_providers(probe_yaml(a_.base_url() + "/v2/"), probe_yaml(b_.base_url() + "/v2/"),
                        probe_yaml(g_.base_url() + "/v2/"));
    }
    std::string write_config(const std::string& extra = "") {
        std::ofstream(dir_ / "r.yaml") << "providers_dir: asns\nprefixes: [prefixes.tsv]\nthreads: 2\n"
                                          "trusted_proxies: [127.0.0.0/8]\nshutdown_delay: 0s\n" +
                                              extra;
        return (dir_ / "r.yaml").string();
    }

    /// Splits the test clients by the mirror they get while all is up.
    void learn_clients(unsigned short port) {
        for (int i = 1; i <= 40; ++i) {
            const std::string host = redirect_host(port, client_ip(i));
            if (host == "a.mirror.example") a_clients_.push_back(client_ip(i));
            else if (host == "b.mirror.example") b_clients_.push_back(client_ip(i));
            else FAIL() << client_ip(i) << " got " << host;
        }
        ASSERT_FALSE(a_clients_.empty());
        ASSERT_FALSE(b_clients_.empty());
    }

    void fail_all_mirrors() {
        for (auto* m : {&a_, &b_, &g_}) m->set_mode(mirror_mode::server_error);
    }

    /// True when every client in `ips` is redirected to `host`.
    bool all_go_to(unsigned short port, const std::vector<std::string>& ips, const std::string& host) {
        return std::all_of(ips.begin(), ips.end(), [&](const std::string& ip) { return redirect_host(port, ip) == host; });
    }

    /// Waits until mirror `name` has been probed and is in `state`.
    bool wait_state(unsigned short admin_port, const std::string& name, const std::string& state) {
        return wait_for([&] {
            const auto e = mirror_entry(admin_port, name);
            return has(e, "\"state\":\"" + state + "\"") && has(e, "\"probed\":true");
        }, deadline);
    }

    fs::path dir_;
    test_mirror a_;
    test_mirror b_;
    test_mirror g_;
    std::vector<std::string> a_clients_;
    std::vector<std::string> b_clients_;
};

TEST_F(MirrorHealthTest, FailingMirrorIsSkippedUnderLoadAndComesBackAfterRise) {
    write_providers();
    server_process server(write_config());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    ASSERT_TRUE(wait_state(server.admin_port(), "mirror-a", "up")) << server.output();
    ASSERT_TRUE(wait_state(server.admin_port(), "mirror-b", "up")) << server.output();
    learn_clients(server.port());
    if (HasFatalFailure()) return;

    // Keep-alive clients cycling through all 40 client networks. Any non-3xx
    // is an error; so is a redirect to mirror-a while it is known down.
    std::atomic<bool> stop{false};
    std::atomic<bool> a_known_down{false};
    std::atomic<int> answered{0};
    std::atomic<int> to_a_while_down{0};
    std::atomic<int> to_a{0};
    std::mutex failures_mutex;
    std::vector<std::string> failures;
    std::vector<std::thread> clients;
    for (int t = 0; t < 3; ++t) {
        clients.emplace_back([&, t] {
            int sent = 0;
            while (!stop && sent < 200'000) {
                http_client c(server.port());
                for (int i = 0; i < 500 && !stop; ++i, ++sent) {
                    const std::string ip = client_ip(1 + (t * 13 + i) % 40);
                    const bool down_before = a_known_down;
                    c.send("GET /v2/ HTTP/1.1\r\nHost: t\r\n" + real_ip(ip) + "\r\n");
                    const auto r = c.read_response();
                    if (!r || r->status < 300 || r->status > 399) {
                        std::lock_guard lock(failures_mutex);
                        failures.push_back(ip + ": " + (r ? r->status_line : "no answer"));
                        break;
                    }
                    ++answered;
                    if (location_host(*r) == "a.mirror.example") {
                        ++to_a;
                        if (down_before && a_known_down) ++to_a_while_down;
                    }
                }
            }
        });
    }

    ASSERT_TRUE(wait_for([&] { return answered > 200; }, deadline));
    a_.set_mode(mirror_mode::server_error);
    // Within interval×fall + timeout (plus slack) nobody is sent to mirror-a.
    EXPECT_TRUE(wait_for([&] { return all_go_to(server.port(), a_clients_, "b.mirror.example"); }, deadline))
        << server.output();
    a_known_down = true;
    const int answered_at_down = answered;
    const auto entry = mirror_entry(server.admin_port(), "mirror-a");
    EXPECT_TRUE(has(entry, "\"state\":\"down\"")) << entry;
    EXPECT_TRUE(has(entry, "\"reason\":\"status 500")) << entry;
    EXPECT_EQ(metric(server.admin_port(), "registry_redirector_mirror_up{mirror=\"mirror-a\"}"), 0);
    EXPECT_EQ(metric(server.admin_port(), "registry_redirector_mirror_up{mirror=\"mirror-b\"}"), 1);
    // Let the load run against the degraded state for a while.
    EXPECT_TRUE(wait_for([&] { return answered > answered_at_down + 300; }, deadline));
    EXPECT_GT(metric(server.admin_port(), "registry_redirector_failover_total{reason=\"next_mirror\"}"), 0);
    a_known_down = false;

    a_.set_mode(mirror_mode::ok);
    EXPECT_TRUE(wait_for([&] { return all_go_to(server.port(), a_clients_, "a.mirror.example"); }, deadline))
        << server.output();
    EXPECT_TRUE(wait_state(server.admin_port(), "mirror-a", "up"));
    EXPECT_EQ(metric(server.admin_port(), "registry_redirector_mirror_up{mirror=\"mirror-a\"}"), 1);
    const int to_a_after = to_a;
    EXPECT_TRUE(wait_for([&] { return to_a > to_a_after; }, deadline)) << "the load never reached mirror-a again";

    stop = true;
    for (auto& c : clients) c.join();
    EXPECT_TRUE(failures.empty()) << failures.size() << " failures, first: " << failures.front();
    EXPECT_EQ(to_a_while_down.load(), 0);
    EXPECT_GT(answered.load(), 500);
    const auto metrics = http_get(server.admin_port(), "/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_TRUE(has(metrics->body, "registry_redirector_mirror_probes_total{mirror=\"mirror-a\"")) << metrics->body;
    EXPECT_TRUE(has(metrics->body, "registry_redirector_mirror_probe_duration_seconds")) << metrics->body;
    EXPECT_TRUE(has(metrics->body, "registry_redirector_mirror_requests_total{")) << metrics->body;
    EXPECT_EQ(server.stop(SIGTERM), 0);
}

TEST_F(MirrorHealthTest, DrainWithoutTokenFileIsForbidden) {
    write_providers();
    server_process server(write_config());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    const auto r = admin_request(server.admin_port(), "POST", "/mirrors/mirror-a/drain",
                                 "Authorization: Bearer " + token + "\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << r->body;
    EXPECT_TRUE(has(mirror_entry(server.admin_port(), "mirror-a"), "\"state\":\"up\""));
}

TEST_F(MirrorHealthTest, DrainAndUndrainNeedTheTokenAndMoveTraffic) {
    write_providers();
    std::ofstream(dir_ / "admin.token") << token << "\n";
    server_process server(write_config("admin_token_file: admin.token\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    learn_clients(server.port());
    if (HasFatalFailure()) return;
    const auto admin = server.admin_port();

    auto none = admin_request(admin, "POST", "/mirrors/mirror-a/drain");
    ASSERT_TRUE(none);
    EXPECT_EQ(none->status, 401) << none->body;
    EXPECT_TRUE(has(none->header("www-authenticate"), "Bearer"));
    auto wrong = admin_request(admin, "POST", "/mirrors/mirror-a/drain", "Authorization: Bearer wrong-token-0123456789\r\n");
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 403) << wrong->body;
    EXPECT_TRUE(all_go_to(server.port(), a_clients_, "a.mirror.example"));
    const std::string auth = "Authorization: Bearer " + token + "\r\n";
    auto unknown = admin_request(admin, "POST", "/mirrors/no-such-mirror/drain", auth);
    ASSERT_TRUE(unknown);
    EXPECT_EQ(unknown->status, 404) << unknown->body;

    auto drained = admin_request(admin, "POST", "/mirrors/mirror-a/drain", auth);
    ASSERT_TRUE(drained);
    EXPECT_EQ(drained->status, 200) << drained->body;
    EXPECT_TRUE(wait_for([&] { return all_go_to(server.port(), a_clients_, "b.mirror.example"); }, deadline));
    EXPECT_TRUE(all_go_to(server.port(), b_clients_, "b.mirror.example"));
    EXPECT_TRUE(has(mirror_entry(admin, "mirror-a"), "\"state\":\"drained\"")) << mirror_entry(admin, "mirror-a");
    EXPECT_EQ(metric(admin, "registry_redirector_mirror_drained{mirror=\"mirror-a\"}"), 1);

    auto undrained = admin_request(admin, "POST", "/mirrors/mirror-a/undrain", auth);
    ASSERT_TRUE(undrained);
    EXPECT_EQ(undrained->status, 200) << undrained->body;
    EXPECT_TRUE(wait_for([&] { return all_go_to(server.port(), a_clients_, "a.mirror.example"); }, deadline));
    EXPECT_TRUE(has(mirror_entry(admin, "mirror-a"), "\"state\":\"up\"")) << mirror_entry(admin, "mirror-a");
    EXPECT_EQ(metric(admin, "registry_redirector_mirror_drained{mirror=\"mirror-a\"}"), 0);
}

TEST_F(MirrorHealthTest, EverythingDownGoesToTheUpstream) {
    write_providers();
    server_process server(write_config("routes:\n  upstream: 'https://upstream.example/v2/k8s{v2_path}'\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    learn_clients(server.port());
    if (HasFatalFailure()) return;
    fail_all_mirrors();
    EXPECT_TRUE(wait_for([&] {
        return all_go_to(server.port(), a_clients_, "upstream.example") &&
               all_go_to(server.port(), b_clients_, "upstream.example");
    }, deadline)) << server.output();
    EXPECT_EQ(redirect_host(server.port(), "192.0.2.1"), "upstream.example");  // a default-provider client too
    EXPECT_GT(metric(server.admin_port(), "registry_redirector_failover_total{reason=\"upstream\"}"), 0);
    EXPECT_EQ(metric(server.admin_port(), "registry_redirector_failover_total{reason=\"last_resort\"}"), 0);
}

TEST_F(MirrorHealthTest, EverythingDownWithoutRoutesUsesTheDefaultProviderAsIfUp) {
    write_providers();
    server_process server(write_config());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    learn_clients(server.port());
    if (HasFatalFailure()) return;
    fail_all_mirrors();
    ASSERT_TRUE(wait_state(server.admin_port(), "mirror-a", "down"));
    ASSERT_TRUE(wait_state(server.admin_port(), "mirror-b", "down"));
    ASSERT_TRUE(wait_state(server.admin_port(), "mirror-g", "down"));
    // Never fails closed: the default provider's mirror, though down.
    EXPECT_TRUE(wait_for([&] {
        return all_go_to(server.port(), a_clients_, "g.mirror.example") &&
               all_go_to(server.port(), b_clients_, "g.mirror.example");
    }, deadline)) << server.output();
    EXPECT_EQ(redirect_host(server.port(), "192.0.2.1"), "g.mirror.example");
    EXPECT_GT(metric(server.admin_port(), "registry_redirector_failover_total{reason=\"last_resort\"}"), 0);
    EXPECT_EQ(metric(server.admin_port(), "registry_redirector_failover_total{reason=\"upstream\"}"), 0);
}

TEST_F(MirrorHealthTest, BearerChallengeMarksTheMirrorDownAsNeedingAToken) {
    a_.set_mode(mirror_mode::bearer);
    write_providers();
    server_process server(write_config());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    ASSERT_TRUE(wait_state(server.admin_port(), "mirror-a", "down")) << mirror_entry(server.admin_port(), "mirror-a");
    const auto entry = mirror_entry(server.admin_port(), "mirror-a");
    EXPECT_TRUE(has(entry, "requires a token")) << entry;
    EXPECT_EQ(metric(server.admin_port(), "registry_redirector_mirror_up{mirror=\"mirror-a\"}"), 0);
    EXPECT_GT(a_.requests(), 0u);
    // Every client of bigcloud now goes to mirror-b.
    for (int i = 1; i <= 40; ++i) EXPECT_EQ(redirect_host(server.port(), client_ip(i)), "b.mirror.example");
}

TEST_F(MirrorHealthTest, HttpsProbesTrustTheConfiguredCaOnly) {
    const auto pki = test_support::test_pki::create();
    test_mirror good(pki.server_cert, pki.server_key);
    test_mirror rogue(pki.rogue_cert, pki.rogue_key);
    const std::string tls = ", ca_file: '" + pki.ca_cert + "', initial: down";
    write_providers(probe_yaml(good.base_url() + "/v2/", tls), probe_yaml(rogue.base_url() + "/v2/", tls),
                    probe_yaml(g_.base_url() + "/v2/"));
    server_process server(write_config());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    EXPECT_TRUE(wait_state(server.admin_port(), "mirror-a", "up")) << mirror_entry(server.admin_port(), "mirror-a");
    EXPECT_GT(good.requests(), 0u);
    // The rogue one starts down and stays down, probe after probe, for a TLS reason.
    EXPECT_TRUE(wait_for([&] {
        return number_field(mirror_entry(server.admin_port(), "mirror-b"), "probes") >= 3;
    }, deadline)) << mirror_entry(server.admin_port(), "mirror-b");
    auto entry = mirror_entry(server.admin_port(), "mirror-b");
    std::transform(entry.begin(), entry.end(), entry.begin(), [](unsigned char c) { return std::tolower(c); });
    EXPECT_TRUE(has(entry, "\"state\":\"down\"")) << entry;
    EXPECT_TRUE(has(entry, "certificate") || has(entry, "tls") || has(entry, "ssl")) << entry;
    EXPECT_EQ(rogue.requests(), 0u);  // no request is sent over an untrusted connection
    for (int i = 1; i <= 40; ++i) EXPECT_EQ(redirect_host(server.port(), client_ip(i)), "a.mirror.example");
}

// --- The blob existence check (check_blobs) -----------------------------

/// A blob of the spec's grammar; `n` makes distinct digests.
std::string blob_path(int n) {
    std::string hex = std::to_string(n);
    hex.insert(0, 64 - hex.size(), '0');
    return "/v2/library/pause/blobs/sha256:" + hex;
}

/// The mirrors serve blobs from the test mirrors a_, b_ and g_ and check
/// each blob there first (HEAD). No probes: only the existence check talks
/// to the test mirrors here. A bigcloud client's selection order is its
/// mirror (a or b), the other one, then google's mirror-g.
class BlobCheckTest : public MirrorHealthTest {
protected:
    void write_blob_providers(const std::string& check = "{timeout: 400ms, negative_ttl: 30s}") {
        std::ofstream(dir_ / "asns/google.yaml")
            << "name: google\nasns: [64520]\nmirrors:\n"
               "  - name: mirror-g\n    registry: g.mirror.example\n    blobs: '" + g_.base_url() + "/v2{v2_path}'\n"
               "    check_blobs: " + check + "\n";
        std::ofstream(dir_ / "asns/bigcloud.yaml")
            << "name: bigcloud\nasns: [64500]\ncidrs: [10.0.0.0/8]\nmirrors:\n"
               "  - name: mirror-a\n    registry: a.mirror.example\n    blobs: '" + a_.base_url() + "/v2{v2_path}'\n"
               "    check_blobs: " + check + "\n"
               "  - name: mirror-b\n    registry: b.mirror.example\n    blobs: '" + b_.base_url() + "/v2{v2_path}'\n"
               "    check_blobs: " + check + "\n";
    }
    std::string write_blob_config(const std::string& extra = "") { return write_config("routes:\n  status: 302\n" + extra); }

    /// Which test mirror a blob request from `ip` is sent to: "a", "b", "g",
    /// the Location host for others, or "status N" / "no answer".
    std::string blob_goes_to(unsigned short port, const std::string& ip, int blob) {
        const auto r = http_get(port, blob_path(blob), real_ip(ip));
        if (!r) return "no answer";
        if (r->status != 302) return "status " + std::to_string(r->status);
        const std::string loc = r->header("location");
        if (loc == a_.base_url() + blob_path(blob)) return "a";
        if (loc == b_.base_url() + blob_path(blob)) return "b";
        if (loc == g_.base_url() + blob_path(blob)) return "g";
        return location_host(*r);
    }

    /// Sorts the test clients by the mirror their blob requests go to.
    void learn_blob_clients(unsigned short port) {
        for (int i = 1; i <= 40; ++i) {
            const std::string to = blob_goes_to(port, client_ip(i), 1);
            if (to == "a") a_clients_.push_back(client_ip(i));
            else if (to == "b") b_clients_.push_back(client_ip(i));
            else FAIL() << client_ip(i) << " got " << to;
        }
        ASSERT_FALSE(a_clients_.empty());
        ASSERT_FALSE(b_clients_.empty());
    }
};

TEST_F(BlobCheckTest, HitsAreCachedAndMissesGoToTheNextMirror) {
    write_blob_providers();
    server_process server(write_blob_config());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    learn_blob_clients(server.port());
    if (HasFatalFailure()) return;
    // One HEAD per (mirror, blob), whatever the number of clients: the
    // rest were cache hits.
    EXPECT_EQ(a_.head_requests(), 1u);
    EXPECT_EQ(b_.head_requests(), 1u);
    for (const auto& ip : a_clients_) EXPECT_EQ(blob_goes_to(server.port(), ip, 1), "a");
    EXPECT_EQ(a_.head_requests(), 1u);
    const unsigned short admin = server.admin_port();
    EXPECT_GE(metric(admin, "registry_redirector_blob_cache_lookups_total{mirror=\"mirror-a\",result=\"hit\"}"),
              static_cast<double>(2 * a_clients_.size() - 1));
    EXPECT_EQ(metric(admin, "registry_redirector_blob_checks_total{mirror=\"mirror-a\",result=\"exists\"}"), 1);
    EXPECT_EQ(metric(admin, "registry_redirector_failover_total{reason=\"blob_missing\"}"), 0);
    // Manifests and other classes are never checked.
    EXPECT_EQ(redirect_host(server.port(), a_clients_[0], "/v2/library/pause/manifests/3.9"), "a.mirror.example");
    EXPECT_EQ(a_.head_requests(), 1u);

    // mirror-a lacks blob 2: its clients go to mirror-b, and the "no" is
    // remembered (negative_ttl), so a's second client costs no HEAD on a.
    a_.set_mode(mirror_mode::not_found);
    EXPECT_EQ(blob_goes_to(server.port(), a_clients_[0], 2), "b");
    EXPECT_EQ(a_.head_requests(), 2u);
    for (const auto& ip : a_clients_) EXPECT_EQ(blob_goes_to(server.port(), ip, 2), "b");
    EXPECT_EQ(a_.head_requests(), 2u);
    EXPECT_EQ(b_.head_requests(), 2u);
    EXPECT_EQ(g_.head_requests(), 0u);
    EXPECT_EQ(metric(admin, "registry_redirector_blob_checks_total{mirror=\"mirror-a\",result=\"missing\"}"), 1);
    EXPECT_GE(metric(admin, "registry_redirector_failover_total{reason=\"blob_missing\"}"),
              static_cast<double>(a_clients_.size()));
    // Blob 1 is still known to be on mirror-a (positive_ttl).
    EXPECT_EQ(blob_goes_to(server.port(), a_clients_[0], 1), "a");
}

TEST_F(BlobCheckTest, ConcurrentRequestsShareOneHead) {
    a_.set_delay_ms(1000);  // the HEAD is out while every client asks
    b_.set_delay_ms(1000);
    write_blob_providers("{timeout: 5s}");
    server_process server(write_blob_config());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    learn_blob_clients(server.port());
    if (HasFatalFailure()) return;
    const auto heads_before = a_.head_requests();
    constexpr int clients = 12;
    std::vector<std::string> answers(clients);
    std::vector<std::thread> threads;
    for (int i = 0; i < clients; ++i)
        threads.emplace_back([&, i] {
            answers[i] = blob_goes_to(server.port(), a_clients_[static_cast<std::size_t>(i) % a_clients_.size()], 7);
        });
    for (auto& t : threads) t.join();
    for (const auto& a : answers) EXPECT_EQ(a, "a");
    EXPECT_EQ(a_.head_requests() - heads_before, 1u);
}

TEST_F(BlobCheckTest, TimeoutsFallThroughAndPipelinedAnswersKeepTheirOrder) {
    write_blob_providers();
    server_process server(write_blob_config());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    learn_blob_clients(server.port());
    if (HasFatalFailure()) return;
    a_.set_mode(mirror_mode::hang);
    // Two requests in one write on a keep-alive connection: the blob waits
    // for mirror-a's check to time out, goes to mirror-b, and is still
    // answered before the manifest behind it.
    http_client c(server.port());
    ASSERT_TRUE(c.connected());
    const std::string headers = "Host: r\r\n" + real_ip(a_clients_[0]) + "\r\n";
    c.send("GET " + blob_path(3) + " HTTP/1.1\r\n" + headers + "GET /v2/library/pause/manifests/3.9 HTTP/1.1\r\n" +
           headers);
    const auto first = c.read_response();
    const auto second = c.read_response();
    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->header("location"), b_.base_url() + blob_path(3));
    EXPECT_EQ(location_host(*second), "a.mirror.example");
    // Not cached: after a timeout the next request asks again.
    EXPECT_EQ(blob_goes_to(server.port(), a_clients_[0], 3), "b");
    EXPECT_GE(metric(server.admin_port(), "registry_redirector_blob_checks_total{mirror=\"mirror-a\",result=\"error\"}"),
              2);
    EXPECT_GE(metric(server.admin_port(), "registry_redirector_failover_total{reason=\"blob_missing\"}"), 2);
}

TEST_F(BlobCheckTest, WhenTheProvidersMirrorsLackItTheDefaultProvidersMirrorIsNext) {
    write_blob_providers();
    server_process server(write_blob_config());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    a_.set_mode(mirror_mode::not_found);
    b_.set_mode(mirror_mode::server_error);
    for (int i = 1; i <= 10; ++i) EXPECT_EQ(blob_goes_to(server.port(), client_ip(i), 4), "g");
    EXPECT_EQ(g_.head_requests(), 1u);
}

TEST_F(BlobCheckTest, NoMirrorHasTheBlobGoesToTheUpstream) {
    write_blob_providers();
    server_process server(write_blob_config("  upstream: 'https://upstream.example/v2/k8s{v2_path}'\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    for (auto* m : {&a_, &b_, &g_}) m->set_mode(mirror_mode::not_found);
    for (int i = 1; i <= 10; ++i) EXPECT_EQ(blob_goes_to(server.port(), client_ip(i), 4), "upstream.example");
    EXPECT_EQ(blob_goes_to(server.port(), "192.0.2.1", 4), "upstream.example");  // a google client too
    EXPECT_GT(metric(server.admin_port(), "registry_redirector_failover_total{reason=\"upstream\"}"), 0);
}

TEST_F(BlobCheckTest, NoMirrorHasTheBlobWithoutUpstreamUsesTheLastResort) {
    write_blob_providers();
    server_process server(write_blob_config());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    a_.set_mode(mirror_mode::reset);
    b_.set_mode(mirror_mode::not_found);
    g_.set_mode(mirror_mode::not_found);
    // Never an error: google's mirror, chosen as if every mirror had it.
    for (int i = 1; i <= 10; ++i) EXPECT_EQ(blob_goes_to(server.port(), client_ip(i), 5), "g");
    EXPECT_GT(metric(server.admin_port(), "registry_redirector_failover_total{reason=\"last_resort\"}"), 0);
}

}  // namespace
}  // namespace registry_redirector::testing
