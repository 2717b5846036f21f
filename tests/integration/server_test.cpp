// The real binary on loopback: redirects, keep-alive, HTTP/1.0, HEAD,
// rejections, proxy trust, deadlines, metrics and shutdown.

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "registry_redirector/app/build_revision.hpp"
#include "server_process.hpp"

namespace registry_redirector::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// A small world: bigcloud owns 203.0.113.0/24 and 2001:db8:1::/48, except a
/// customer /26; nolink has no redirect target; google is the default.
class ServerTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new fs::path(fs::temp_directory_path() / ("redirector-it-" + std::to_string(::getpid())));
        fs::create_directories(*dir_ / "asns");
        write("asns/bigcloud.yaml", "name: bigcloud\nredirectsTo:\n  registry: reg.bigcloud.example\n"
                                    "  artifacts: art.bigcloud.example\nasns: [64500]\n");
        write("asns/google.yaml", "name: google\nredirectsTo:\n  registry: k8s.gcr.io\n"
                                  "  artifacts: kubernetes-release.storage.googleapis.com\nasns: [64520]\n");
        write("asns/nolink.yaml", "name: nolink\nasns: [64530]\n");
        write("prefixes.tsv", "203.0.113.0/24\t64500\n203.0.113.64/26\t65000\n198.51.100.0/24\t64530\n"
                              "2001:db8:1::/48\t64500\n2001:db8:2::/48\t64520\n");
        write("redirector.yaml", "providers_dir: asns\nprefixes: [prefixes.tsv]\ndefault_provider: google\n"
                                 "threads: 2\ntrusted_proxies: [127.0.0.2/32]\n"
                                 "limits:\n  header_timeout: 500ms\n  idle_timeout: 3s\n"
                                 "  max_requests_per_connection: 5\n  max_connections: 40\n");
        server_ = new server_process((*dir_ / "redirector.yaml").string());
        ASSERT_TRUE(server_->wait_ready()) << server_->output();
    }

    static void TearDownTestSuite() {
        delete server_;
        fs::remove_all(*dir_);
        delete dir_;
    }

    static void write(const std::string& name, const std::string& content) { std::ofstream(*dir_ / name) << content; }

    static std::string location_for(const std::string& target, const std::string& real_ip, const std::string& source) {
        const auto r = http_get(server_->port(), target, "X-Real-Ip: " + real_ip + "\r\n", source);
        return r ? r->header("location") : "<no response>";
    }

    static double metric(const std::string& series) { return scrape_metric(server_->admin_port(), series); }

    static fs::path* dir_;
    static server_process* server_;
};

fs::path* ServerTest::dir_ = nullptr;
server_process* ServerTest::server_ = nullptr;

TEST_F(ServerTest, TrustedProxyNamesTheClient) {
    EXPECT_EQ(location_for("/v2/pause/manifests/3.9", "203.0.113.5", "127.0.0.2"),
              "https://reg.bigcloud.example/v2/pause/manifests/3.9");
    EXPECT_EQ(location_for("/release/stable.txt?x=1", "203.0.113.5", "127.0.0.2"),
              "https://art.bigcloud.example/release/stable.txt?x=1");
    EXPECT_EQ(location_for("/v2/", "2001:db8:1::7", "127.0.0.2"), "https://reg.bigcloud.example/v2/");
    EXPECT_EQ(location_for("/v2/", "::ffff:203.0.113.5", "127.0.0.2"), "https://reg.bigcloud.example/v2/");
}

TEST_F(ServerTest, HolesAndProvidersWithoutTargetGoToDefault) {
    EXPECT_EQ(location_for("/v2/", "203.0.113.70", "127.0.0.2"), "https://k8s.gcr.io/v2/");   // customer /26
    EXPECT_EQ(location_for("/v2/", "198.51.100.1", "127.0.0.2"), "https://k8s.gcr.io/v2/");   // nolink
    EXPECT_EQ(location_for("/v2/", "192.0.2.1", "127.0.0.2"), "https://k8s.gcr.io/v2/");      // nobody
}

TEST_F(ServerTest, UntrustedPeerCannotChooseItsMirror) {
    const double before = metric("registry_redirector_client_ip_total{source=\"untrusted_header\"}");
    EXPECT_EQ(location_for("/v2/", "203.0.113.5", "127.0.0.1"), "https://k8s.gcr.io/v2/");
    EXPECT_EQ(metric("registry_redirector_client_ip_total{source=\"untrusted_header\"}"), before + 1);
}

TEST_F(ServerTest, BadHeaderFromTrustedProxyFallsBackAndIsCounted) {
    const double before = metric("registry_redirector_client_ip_total{source=\"invalid_header\"}");
    for (const char* bad : {"203.0.113.5:443", "203.0.113", "junk", "203.0.113.5, 10.0.0.1"})
        EXPECT_EQ(location_for("/v2/", bad, "127.0.0.2"), "https://k8s.gcr.io/v2/") << bad;
    http_client c(server_->port(), "127.0.0.2");  // two X-Real-Ip lines
    c.send("GET /v2/ HTTP/1.1\r\nHost: t\r\nX-Real-Ip: 203.0.113.5\r\nX-Real-Ip: 203.0.113.6\r\n\r\n");
    const auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("location"), "https://k8s.gcr.io/v2/");
    EXPECT_EQ(metric("registry_redirector_client_ip_total{source=\"invalid_header\"}"), before + 5);
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
    http_client c(server_->port(), "127.0.0.2");
    for (int i = 0; i < 3; ++i) {
        c.send("GET /v2/x/" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\nX-Real-Ip: 203.0.113.9\r\n\r\n");
        const auto r = c.read_response();
        ASSERT_TRUE(r) << i;
        EXPECT_EQ(r->status, 302);
        EXPECT_EQ(r->header("location"), "https://reg.bigcloud.example/v2/x/" + std::to_string(i));
        EXPECT_EQ(r->header("content-length"), "0");
        EXPECT_FALSE(r->header("date").empty());
        EXPECT_EQ(r->header("connection"), "");
    }
    EXPECT_FALSE(c.closed_by_server(200ms));
}

TEST_F(ServerTest, Http10ClosesUnlessKeepAliveAsked) {
    {
        http_client c(server_->port());
        c.send("GET /a HTTP/1.0\r\n\r\n");
        const auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 302);
        EXPECT_EQ(r->header("connection"), "close");
        EXPECT_TRUE(c.closed_by_server());
    }
    http_client c(server_->port());
    c.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("connection"), "keep-alive");
    c.send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("location"), "https://kubernetes-release.storage.googleapis.com/b");
}

TEST_F(ServerTest, HeadGetsARedirectWithoutBody) {
    http_client c(server_->port());
    c.send("HEAD /v2/ HTTP/1.1\r\nHost: t\r\n\r\nGET /next HTTP/1.1\r\nHost: t\r\n\r\n");
    const auto head = c.read_response(true);
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 302);
    EXPECT_EQ(head->header("location"), "https://k8s.gcr.io/v2/");
    const auto next = c.read_response();  // proves no body bytes were sent
    ASSERT_TRUE(next);
    EXPECT_EQ(next->header("location"), "https://kubernetes-release.storage.googleapis.com/next");
}

TEST_F(ServerTest, OtherMethodsGet405) {
    http_client c(server_->port());
    c.send("POST /v2/ HTTP/1.1\r\nHost: t\r\n\r\n");
    const auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 405);
    EXPECT_EQ(r->header("allow"), "GET, HEAD");
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");  // the connection is still usable
    const auto after = c.read_response();
    ASSERT_TRUE(after);
    EXPECT_EQ(after->status, 302);
}

TEST_F(ServerTest, BodiesAreRefusedWithoutReadingThem) {
    {
        http_client c(server_->port());
        c.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\nabc");
        const auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 405);
        EXPECT_EQ(r->header("connection"), "close");
        EXPECT_TRUE(c.closed_by_server());
    }
    {
        http_client c(server_->port());
        c.send("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
        const auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 413);
        EXPECT_TRUE(c.closed_by_server());
    }
    http_client c(server_->port());
    c.send("GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    const auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ServerTest, MalformedRequestsGet400AndClose) {
    for (const char* bad : {"GARBAGE\r\n\r\n", "GET /a HTTP/1.1\r\nBad Header\r\n\r\n", "GET /a\r\n\r\n",
                            "GET http://evil.example HTTP/1.1\r\nHost: t\r\n\r\n",
                            "GET /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"}) {
        http_client c(server_->port());
        c.send(bad);
        const auto r = c.read_response();
        ASSERT_TRUE(r) << bad;
        EXPECT_EQ(r->status, 400) << bad;
        EXPECT_TRUE(c.closed_by_server()) << bad;
    }
}

TEST_F(ServerTest, OversizedHeadersAre431AndLongTargets414) {
    {
        http_client c(server_->port());
        c.send("GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(10000, 'a') + "\r\n\r\n");
        const auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 431);
    }
    http_client c(server_->port());
    c.send("GET /" + std::string(10000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n");
    const auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 414);
}

TEST_F(ServerTest, Http2VersionIs505) {
    http_client c(server_->port());
    c.send("GET / HTTP/2.0\r\nHost: t\r\n\r\n");
    const auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 505);
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
    http_client c(server_->port());
    std::string batch;
    for (int i = 0; i < 4; ++i) batch += "GET /p" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n";
    c.send(batch);
    for (int i = 0; i < 4; ++i) {
        const auto r = c.read_response();
        ASSERT_TRUE(r) << i;
        EXPECT_EQ(r->header("location"), "https://kubernetes-release.storage.googleapis.com/p" + std::to_string(i));
    }
}

TEST_F(ServerTest, RequestsSplitAcrossReadsAreReassembled) {
    const std::string request = "GET /v2/split?x=1 HTTP/1.1\r\nHost: t\r\nX-Real-Ip: 203.0.113.5\r\n\r\n";
    // Byte by byte, and cut at every awkward place: inside the request line,
    // inside a field, between the two CRLFs of the empty line.
    for (std::size_t cut : {std::size_t{1}, std::size_t{5}, request.find("HTTP"), request.find("\r\n") + 1,
                            request.find("Real"), request.size() - 2, request.size() - 1}) {
        http_client c(server_->port(), "127.0.0.2");
        c.send(request.substr(0, cut));
        std::this_thread::sleep_for(20ms);
        c.send(request.substr(cut) + request.substr(0, 7));  // and the start of a pipelined next one
        std::this_thread::sleep_for(20ms);
        c.send(request.substr(7));
        for (int i = 0; i < 2; ++i) {
            const auto r = c.read_response();
            ASSERT_TRUE(r) << "cut " << cut << " response " << i;
            EXPECT_EQ(r->header("location"), "https://reg.bigcloud.example/v2/split?x=1") << "cut " << cut;
        }
    }
    http_client c(server_->port(), "127.0.0.2");
    for (char ch : request) {
        c.send(std::string(1, ch));
        std::this_thread::sleep_for(1ms);
    }
    const auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("location"), "https://reg.bigcloud.example/v2/split?x=1");
}

TEST_F(ServerTest, RequestCapPerConnectionClosesPolitely) {
    http_client c(server_->port());
    for (int i = 1; i <= 5; ++i) {
        c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        const auto r = c.read_response();
        ASSERT_TRUE(r) << i;
        EXPECT_EQ(r->header("connection"), i == 5 ? "close" : "") << i;
    }
    EXPECT_TRUE(c.closed_by_server());
}

/// The server's side of a close. A client that asked to close and sent
/// nothing more is closed at once (the client still holds its socket here).
/// When the server chose to close (the request cap), it half-closes and
/// keeps reading until the client closes (RFC 9112 section 9.6), so bytes
/// the client was still sending cannot reset the connection under the
/// response.
TEST_F(ServerTest, AClientThatAskedToCloseIsNotLingeredOn) {
    const auto open_connections = [] { return metric("registry_redirector_connections"); };
    {
        http_client c(server_->port());
        c.send("GET /a HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        ASSERT_TRUE(c.read_response());
        EXPECT_TRUE(c.closed_by_server());
        EXPECT_TRUE(wait_for([&] { return open_connections() == 0; }, 1s));  // lingering lasts 2 s
    }
    http_client c(server_->port());
    for (int i = 1; i <= 5; ++i) {
        c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        ASSERT_TRUE(c.read_response()) << i;
    }
    EXPECT_TRUE(c.closed_by_server());
    EXPECT_FALSE(wait_for([&] { return open_connections() == 0; }, 500ms));  // lingering, waiting for our close
}

TEST_F(ServerTest, SlowHeaderIsCutOffWhileOthersAreServed) {
    http_client slow(server_->port());
    slow.send("GET / HTTP/1.1\r\nHost: t\r\n");  // never finishes the header
    const auto started = std::chrono::steady_clock::now();
    const auto ok = http_get(server_->port(), "/fast");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 302);
    EXPECT_TRUE(slow.closed_by_server(3s));
    const auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_GE(waited, 400ms);   // header_timeout is 500ms
    EXPECT_LE(waited, 1500ms);  // plus the 250 ms sweep
}

TEST_F(ServerTest, AdminEndpoints) {
    auto r = http_get(server_->admin_port(), "/healthz");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    r = http_get(server_->admin_port(), "/readyz");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    r = http_get(server_->admin_port(), "/nope");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
    r = http_get(server_->admin_port(), "/metrics");
    ASSERT_TRUE(r);
    for (const char* name : {"registry_redirector_requests_total{code=\"302\",provider=\"bigcloud\",route=\"registry\"}",
                             "registry_redirector_request_duration_seconds_bucket",
                             "registry_redirector_client_ip_total{source=\"x_real_ip\"}",
                             "registry_redirector_prefixes{family=\"ipv4\",provider=\"bigcloud\"} 1",
                             "registry_redirector_build_info{revision="})
        EXPECT_NE(r->body.find(name), std::string::npos) << name;
    // The redirect port serves no admin paths.
    const auto redirect = http_get(server_->port(), "/metrics");
    ASSERT_TRUE(redirect);
    EXPECT_EQ(redirect->status, 302);
}

/// One sample's value from a /metrics text ("name{labels} value" or "name value").
double sample_value(const std::string& body, const std::string& series) {
    const auto at = body.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(body.substr(at + series.size() + 2));
}

TEST_F(ServerTest, ProcessMetricsDescribeTheServer) {
    const auto r = http_get(server_->admin_port(), "/metrics");
    ASSERT_TRUE(r);
    const std::string& body = r->body;
    // Two I/O threads, the acceptor, the admin server, the loader and main at least.
    EXPECT_GE(sample_value(body, "process_threads"), 5) << body;
    EXPECT_GE(sample_value(body, "process_open_fds"), 4);  // stdio, two listeners, epoll
    EXPECT_GE(sample_value(body, "process_max_fds"), sample_value(body, "process_open_fds"));
    EXPECT_GT(sample_value(body, "process_resident_memory_bytes"), 1 << 20);
    EXPECT_GT(sample_value(body, "process_virtual_memory_bytes"), sample_value(body, "process_resident_memory_bytes"));
    EXPECT_GE(sample_value(body, "process_cpu_seconds_total"), 0);
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const double started = sample_value(body, "process_start_time_seconds");
    EXPECT_LE(started, now + 1);
    EXPECT_GT(started, now - 600);  // started by this suite
    EXPECT_NE(body.find("# TYPE process_cpu_seconds_total counter"), std::string::npos);
}

TEST_F(ServerTest, BuildInfoNamesTheGitRevision) {
    // The revision this build recorded (the header the binary was compiled
    // with) must be a real commit of this checkout: git's HEAD may have moved
    // since the build, so it is not compared with HEAD.
    const std::string revision = REDIRECTOR_REVISION;
    if (fs::exists(fs::path(SOURCE_DIR) / ".git")) {
        ASSERT_EQ(revision.size(), 40u) << revision;
        const std::string cmd = "git -C '" SOURCE_DIR "' cat-file -e " + revision + "^{commit} 2>/dev/null";
        EXPECT_EQ(std::system(cmd.c_str()), 0) << revision << " is not a commit of " << SOURCE_DIR;
    } else {
        EXPECT_EQ(revision, "unknown");
    }
    const auto r = http_get(server_->admin_port(), "/metrics");
    ASSERT_TRUE(r);
    EXPECT_NE(r->body.find("registry_redirector_build_info{revision=\"" + revision + "\",version=\""),
              std::string::npos)
        << "want revision " << revision;
    const auto version = run_binary({"--version"});
    EXPECT_NE(version.output.find("(revision " + revision + ")"), std::string::npos) << version.output;
}

TEST_F(ServerTest, RequestsAreCountedByProviderRouteAndCode) {
    const std::string series = "registry_redirector_requests_total{code=\"302\",provider=\"bigcloud\",route=\"artifacts\"}";
    const double before = metric(series);
    location_for("/bin/kubectl", "203.0.113.5", "127.0.0.2");
    location_for("/bin/kubectl", "203.0.113.5", "127.0.0.2");
    EXPECT_EQ(metric(series), before + 2);
}

TEST(ServerLifecycleTest, SigtermExitsZero) {
    const auto dir = fs::temp_directory_path() / ("redirector-life-" + std::to_string(::getpid()));
    fs::create_directories(dir / "asns");
    std::ofstream(dir / "asns/google.yaml") << "name: google\nredirectsTo:\n  registry: r.example\n  artifacts: a.example\nasns: [1]\n";
    std::ofstream(dir / "t.tsv") << "192.0.2.0/24\t1\n";
    std::ofstream(dir / "r.yaml") << "providers_dir: asns\nprefixes: [t.tsv]\nthreads: 1\nshutdown_delay: 0s\n";
    server_process server((dir / "r.yaml").string());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    EXPECT_EQ(server.stop(SIGTERM), 0) << server.output();
    fs::remove_all(dir);
}

TEST(ServerLifecycleTest, BrokenTableExitsNonZeroNamingTheLine) {
    const auto dir = fs::temp_directory_path() / ("redirector-bad-" + std::to_string(::getpid()));
    fs::create_directories(dir / "asns");
    std::ofstream(dir / "asns/google.yaml") << "name: google\nredirectsTo:\n  registry: r.example\n  artifacts: a.example\nasns: [1]\n";
    std::ofstream(dir / "t.tsv") << "192.0.2.0/24\t1\n192.0.2.1/24\t1\n";
    std::ofstream(dir / "r.yaml") << "providers_dir: asns\nprefixes: [t.tsv]\nthreads: 1\n";
    server_process server((dir / "r.yaml").string());
    EXPECT_EQ(server.wait_exit(10s), 1);
    EXPECT_NE(server.output().find("t.tsv:2: bad prefix"), std::string::npos) << server.output();
    fs::remove_all(dir);
}

}  // namespace
}  // namespace registry_redirector::testing
