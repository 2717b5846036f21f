// Hostile input against the real binary: forged client addresses, PROXY
// protocol, every request limit, and a table of broken config files (at
// start-up and at reload).

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "server_process.hpp"

namespace registry_redirector::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class HostileTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("redirector-hostile-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_ / "asns");
        write("asns/google.yaml", "name: google\nredirectsTo:\n  registry: k8s.gcr.io\n"
                                  "  artifacts: kubernetes-release.storage.googleapis.com\nasns: [64520]\n");
        write("asns/bigcloud.yaml", "name: bigcloud\nredirectsTo:\n  registry: reg.bigcloud.example\n"
                                    "  artifacts: art.bigcloud.example\nasns: [64500]\n");
        write("t.tsv", "203.0.113.0/24\t64500\n2001:db8:1::/48\t64500\n");
    }
    void TearDown() override { fs::remove_all(dir_); }

    void write(const std::string& name, const std::string& content) {
        fs::create_directories((dir_ / name).parent_path());
        std::ofstream(dir_ / name) << content;
    }
    std::string config(const std::string& extra) {
        write("r.yaml", "providers_dir: asns\nprefixes: [t.tsv]\nthreads: 1\nshutdown_delay: 0s\n" + extra);
        return (dir_ / "r.yaml").string();
    }
    static std::string location(const std::optional<http_response>& r) { return r ? r->header("location") : "<none>"; }

    fs::path dir_;
};

TEST_F(HostileTest, XForwardedForWithTrustedHops) {
    server_process server(config("trusted_proxies: [127.0.0.2/32]\nclient_ip_headers: [x-forwarded-for]\ntrusted_hops: 2\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    // What a Google Cloud LB sends: whatever the client claimed, then the client, then the LB.
    const std::string gclb = "X-Forwarded-For: 198.51.100.1, 203.0.113.9, 192.0.2.200\r\n";
    EXPECT_EQ(location(http_get(server.port(), "/v2/", gclb, "127.0.0.2")), to_bigcloud);
    // The same header from an untrusted peer chooses nothing.
    EXPECT_EQ(location(http_get(server.port(), "/v2/", gclb, "127.0.0.1")), to_google);
    // A client cannot push its own entry into the trusted position by
    // sending several lines: they are one list, counted from the right.
    EXPECT_EQ(location(http_get(server.port(), "/v2/", "X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-For: 198.51.100.1, 192.0.2.200\r\n",
                                "127.0.0.2")),
              to_google);
    // X-Real-Ip is not honoured in this deployment.
    EXPECT_EQ(location(http_get(server.port(), "/v2/", "X-Real-Ip: 203.0.113.9\r\n", "127.0.0.2")), to_google);
}

TEST_F(HostileTest, ForwardedHeader) {
    server_process server(config("trusted_proxies: [127.0.0.2/32]\nclient_ip_headers: [forwarded, x-real-ip]\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    EXPECT_EQ(location(http_get(server.port(), "/v2/", "Forwarded: for=\"[2001:db8:1::5]:4711\";proto=https\r\n",
                                "127.0.0.2")),
              to_bigcloud);
    EXPECT_EQ(location(http_get(server.port(), "/v2/", "Forwarded: for=unknown\r\nX-Real-Ip: 203.0.113.9\r\n", "127.0.0.2")),
              to_google);  // Forwarded comes first and is unusable: the peer, not the next header
    EXPECT_EQ(location(http_get(server.port(), "/v2/", "X-Real-Ip: 203.0.113.9\r\n", "127.0.0.2")), to_bigcloud);
}

TEST_F(HostileTest, ProxyProtocolRequiredFromTrustedBalancers) {
    server_process server(config("trusted_proxies: [127.0.0.2/32]\nproxy_protocol: required\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    {  // v1 from the balancer
        http_client c(server.port(), "127.0.0.2");
        c.send("PROXY TCP4 203.0.113.9 192.0.2.1 40000 80\r\nGET /v2/ HTTP/1.1\r\nHost: t\r\n\r\n");
        EXPECT_EQ(location(c.read_response()), to_bigcloud);
        c.send("GET /v2/ HTTP/1.1\r\nHost: t\r\n\r\n");  // the whole connection is that client's
        EXPECT_EQ(location(c.read_response()), to_bigcloud);
    }
    {  // v2, split across packets
        std::string header("\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c\xcb\x00\x71\x09\xc0\x00\x02\x01\x9c\x40\x00\x50", 28);
        http_client c(server.port(), "127.0.0.2");
        c.send(header.substr(0, 10));
        std::this_thread::sleep_for(20ms);
        c.send(header.substr(10) + "GET /v2/ HTTP/1.1\r\nHost: t\r\n\r\n");
        EXPECT_EQ(location(c.read_response()), to_bigcloud);
    }
    {  // a client without the header is refused
        http_client c(server.port(), "127.0.0.2");
        c.send("GET /v2/ HTTP/1.1\r\nHost: t\r\n\r\n");
        EXPECT_TRUE(c.closed_by_server());
    }
    {  // a stranger cannot claim an address
        http_client c(server.port(), "127.0.0.1");
        c.send("PROXY TCP4 203.0.113.9 192.0.2.1 40000 80\r\nGET /v2/ HTTP/1.1\r\nHost: t\r\n\r\n");
        EXPECT_TRUE(c.closed_by_server());
    }
    const auto metrics = http_get(server.admin_port(), "/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_NE(metrics->body.find("registry_redirector_proxy_protocol_rejected_total 2"), std::string::npos) << metrics->body;
    EXPECT_NE(metrics->body.find("registry_redirector_client_ip_total{source=\"proxy_protocol\"} 3"), std::string::npos);
}

TEST_F(HostileTest, ProxyProtocolOptionalAcceptsPlainHttp) {
    server_process server(config("trusted_proxies: [127.0.0.2/32]\nproxy_protocol: optional\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    EXPECT_EQ(location(http_get(server.port(), "/v2/", "", "127.0.0.1")), to_google);
    http_client c(server.port(), "127.0.0.2");
    c.send("PROXY TCP6 2001:db8:1::9 2001:db8::1 40000 80\r\nGET /v2/ HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_EQ(location(c.read_response()), to_bigcloud);
}

TEST_F(HostileTest, ProxyProtocolWithoutAnIpClientUsesTheConnection) {
    // A trusted balancer's v2 header with AF_UNIX or AF_UNSPEC names no IP
    // client: the real peer stands, and it is counted (proxy-protocol.txt 2.2).
    server_process server(config("trusted_proxies: [127.0.0.2/32]\nproxy_protocol: required\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    const std::string get = "GET /v2/ HTTP/1.1\r\nHost: t\r\nX-Real-Ip: 203.0.113.9\r\n\r\n";
    const std::string sig("\r\n\r\n\0\r\nQUIT\n", 12);
    const std::string unix_socket = sig + std::string("\x21\x31\x00\xd8", 4) + std::string(216, '\0');
    const std::string unspec = sig + std::string("\x21\x00\x00\x00", 4);
    for (const std::string& header : {unix_socket, unspec, std::string("PROXY UNKNOWN\r\n")}) {
        http_client c(server.port(), "127.0.0.2");
        c.send(header + get);
        // The peer 127.0.0.2 is trusted, so its X-Real-Ip decides.
        EXPECT_EQ(location(c.read_response()), to_bigcloud);
    }
    EXPECT_EQ(scrape_metric(server.admin_port(), "registry_redirector_proxy_protocol_no_address_total{family=\"unix\"}"), 1);
    EXPECT_EQ(scrape_metric(server.admin_port(), "registry_redirector_proxy_protocol_no_address_total{family=\"unspec\"}"), 1);
    EXPECT_EQ(scrape_metric(server.admin_port(), "registry_redirector_proxy_protocol_no_address_total{family=\"unknown\"}"), 1);
    EXPECT_EQ(scrape_metric(server.admin_port(), "registry_redirector_proxy_protocol_rejected_total"), 0);
}

TEST_F(HostileTest, ProxyProtocolOptionalAnswersUntrustedHeadersWith400) {
    // v1 and v2 alike: a header we do not honour is a bad request, answered,
    // then the connection closes; each is counted.
    server_process server(config("trusted_proxies: [127.0.0.2/32]\nproxy_protocol: optional\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    const std::string get = "GET /v2/ HTTP/1.1\r\nHost: t\r\n\r\n";
    const std::string v2_header("\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c\xcb\x00\x71\x09\xc0\x00\x02\x01\x9c\x40\x00\x50", 28);
    const std::string requests[] = {
        "PROXY TCP4 203.0.113.9 192.0.2.1 40000 80\r\n" + get,  // untrusted v1
        v2_header + get,                                          // untrusted v2
        "PROXY TCP4 203.0.113.9\r\n" + get,                      // malformed v1
    };
    for (const auto& request : requests) {
        http_client c(server.port(), "127.0.0.1");
        c.send(request);
        const auto r = c.read_response();
        ASSERT_TRUE(r) << request.substr(0, 20);
        EXPECT_EQ(r->status, 400);
        EXPECT_EQ(r->header("connection"), "close");
        EXPECT_TRUE(c.closed_by_server());
    }
    EXPECT_EQ(scrape_metric(server.admin_port(), "registry_redirector_proxy_protocol_rejected_total"), 3);
    EXPECT_EQ(scrape_metric(server.admin_port(), "registry_redirector_requests_total{code=\"400\",provider=\"none\",route=\"rejected\"}"), 3);
}

TEST_F(HostileTest, ProxyProtocolSilentConnectionWaitsLikeAnIdleOne) {
    // Nothing sent yet: idle_timeout, not header_timeout. Part of a PROXY
    // header: header_timeout. (Deadlines hold to a 250 ms sweep; the waits
    // below leave a wide margin either way.)
    server_process server(config("trusted_proxies: [127.0.0.2/32]\nproxy_protocol: required\n"
                                 "limits:\n  header_timeout: 300ms\n  idle_timeout: 30s\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    http_client silent(server.port(), "127.0.0.2");
    http_client partial(server.port(), "127.0.0.2");
    partial.send("PROXY TCP4 203.0.11");
    EXPECT_TRUE(partial.closed_by_server(10s));  // header_timeout cut it
    std::this_thread::sleep_for(1500ms);         // five header_timeouts later
    silent.send("PROXY TCP4 203.0.113.9 192.0.2.1 40000 80\r\nGET /v2/ HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_EQ(location(silent.read_response()), to_bigcloud);
}

TEST_F(HostileTest, EveryLimitHasItsStatus) {
    server_process server(config("limits:\n  max_header_bytes: 2048\n  max_header_fields: 20\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    struct limit_case {
        std::string request;
        int status;
    };
    std::string many_fields = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 21; ++i) many_fields += "f" + std::to_string(i) + ": v\r\n";
    const std::vector<limit_case> cases{
        {"GET /" + std::string(3000, 'a') + " HTTP/1.1\r\n\r\n", 414},
        {"GET / HTTP/1.1\r\nX: " + std::string(3000, 'a') + "\r\n\r\n", 431},
        {many_fields + "\r\n", 431},
        {"GET / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", 413},
        {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 413},
        {"GET / HTTP/3.0\r\n\r\n", 505},
        {"GET / HTTX/1.1\r\n\r\n", 400},
        {"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n", 405},
        {"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n", 405},
        {"GET evil.example:443 HTTP/1.1\r\n\r\n", 400},
        {"GET /a\x01 HTTP/1.1\r\n\r\n", 400},
        {"GET /a\x7f HTTP/1.1\r\n\r\n", 400},
        {"GET /a HTTP/1.1\r\nHost: a\r\nHost\r\n\r\n", 400},
        {"GET /a HTTP/1.1\r\nX-Real-Ip: 203.0.113.9\r\n \r\n\r\n", 400},  // obs-fold (a fuzz_http finding)
        {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 400},  // TLS on the plain port
        // The request line's grammar (RFC 9112 section 3): single spaces, three parts.
        {"GET /a b HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"GET /  HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"GET  / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"GET / HTTP/1.1 \r\nHost: t\r\n\r\n", 400},
        {"GET /a b HTTP/2.0\r\n\r\n", 400},
        {"GET / HTTP/1.10\r\n\r\n", 400},
        {"GET / HTTP/1\r\n\r\n", 400},
        {"GET /\r\n\r\n", 400},
        {"GET / HTTP/0.9\r\n\r\n", 505},
        {"GET / HTTP/2.0\nHost: t\n\n", 505},
        // More than four empty lines before a request line.
        {"\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"\n\n\n\n\nGET / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
    };
    for (const auto& c : cases) {
        http_client client(server.port());
        client.send(c.request);
        const auto r = client.read_response();
        ASSERT_TRUE(r) << c.request.substr(0, 40);
        EXPECT_EQ(r->status, c.status) << c.request.substr(0, 40);
        if (c.status != 405) EXPECT_TRUE(client.closed_by_server()) << c.request.substr(0, 40);
    }
    // The absolute form is accepted, but only its path survives.
    EXPECT_EQ(location(http_get(server.port(), "http://evil.example/v2/x")), "https://k8s.gcr.io/v2/x");
    const auto metrics = http_get(server.admin_port(), "/metrics");
    ASSERT_TRUE(metrics);
    for (const char* series : {"code=\"414\"", "code=\"431\"", "code=\"413\"", "code=\"505\"", "code=\"405\""})
        EXPECT_NE(metrics->body.find(std::string("registry_redirector_requests_total{") + series), std::string::npos)
            << series;
}

TEST_F(HostileTest, PipeliningIsAnsweredInOrderAndBounded) {
    server_process server(config(""));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    http_client c(server.port());
    std::string batch;
    for (int i = 0; i < 200; ++i) batch += "GET /p" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n";
    c.send(batch);
    for (int i = 0; i < 200; ++i) {
        const auto r = c.read_response();
        ASSERT_TRUE(r) << i;
        ASSERT_EQ(r->header("location"), "https://kubernetes-release.storage.googleapis.com/p" + std::to_string(i));
    }
}

TEST_F(HostileTest, EmptyLinesBareLineFeedsAndHttp1xAreServed) {
    server_process server(config(""));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    http_client c(server.port());
    // RFC 9112 section 2.2: empty lines before a request line, at the start
    // of a connection and between pipelined requests, are ignored (up to 4).
    c.send("\r\n\nGET /v2/ HTTP/1.1\r\nHost: t\r\n\r\n\r\n\r\n\r\n\r\nGET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(location(r), to_google);
    r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(location(r), "https://kubernetes-release.storage.googleapis.com/a");
    // A CRLF alone, then the request in pieces.
    c.send("\r\n");
    std::this_thread::sleep_for(20ms);
    c.send("\r");
    std::this_thread::sleep_for(20ms);
    c.send("\nGET /b HTTP/1.1\r\n");
    std::this_thread::sleep_for(20ms);
    c.send("Host: t\r\n\r\n");
    r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(location(r), "https://kubernetes-release.storage.googleapis.com/b");
    // Bare LF line ends, and HTTP/1.2 (any 1.x) served as HTTP/1.1, keep-alive.
    c.send("GET /v2/c HTTP/1.1\nHost: t\nUser-Agent: lf\n\nHEAD /d HTTP/1.2\r\nHost: t\r\n\r\n");
    r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(location(r), "https://k8s.gcr.io/v2/c");
    r = c.read_response(true);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line.substr(0, 12), "HTTP/1.1 302");
    EXPECT_EQ(location(r), "https://kubernetes-release.storage.googleapis.com/d");
    c.send("GET /e HTTP/1.1\r\nHost: t\r\n\r\n");  // still open
    EXPECT_EQ(location(c.read_response()), "https://kubernetes-release.storage.googleapis.com/e");
}

/// Each broken input: rejected at start-up (exit 1, file and line in the
/// output) and at reload (the old table keeps serving).
struct broken_case {
    const char* name;
    const char* file;
    std::string content;
    const char* expected;  ///< part of the error message
};

std::vector<broken_case> broken_cases() {
    return {
        {"bad YAML", "asns/bigcloud.yaml", "name: bigcloud\nasns: [64500\n", "bigcloud.yaml:3: invalid YAML"},
        {"wrong type", "asns/bigcloud.yaml", "name: bigcloud\nasns: {a: 1}\n", "bigcloud.yaml:2: asns must be a list"},
        {"unknown key", "asns/bigcloud.yaml", "name: bigcloud\nasn: [64500]\n", "bigcloud.yaml:2: unknown key \"asn\""},
        {"unknown main key", "r.yaml", "providers_dir: asns\nprefixes: [t.tsv]\nlisten_port: 80\n",
         "r.yaml:3: unknown key \"listen_port\""},
        {"bad cidr", "asns/bigcloud.yaml", "name: bigcloud\ncidrs: [203.0.113.0/33]\n", "bigcloud.yaml:2: cidr"},
        {"host bits", "asns/bigcloud.yaml", "name: bigcloud\ncidrs: [203.0.113.1/24]\n", "host bits"},
        {"ASN out of range", "asns/bigcloud.yaml", "name: bigcloud\nasns: [4294967296]\n", "bigcloud.yaml:2: ASN is out of range"},
        {"duplicate provider", "asns/zzz.yaml", "name: bigcloud\nasns: [1]\n", "already used"},
        {"invalid redirect host", "asns/bigcloud.yaml",
         "name: bigcloud\nredirectsTo:\n  registry: \"a.example/x\"\n  artifacts: b.example\n", "not a DNS host name"},
        {"missing default", "r.yaml", "providers_dir: asns\nprefixes: [t.tsv]\ndefault_provider: nope\n",
         "default provider \"nope\" is not among the providers"},
        {"bad table line", "t.tsv", "203.0.113.0/24\t64500\n203.0.113.0/24\tx\n", "t.tsv:2: bad origin ASN"},
        {"truncated gzip", "t.tsv", std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x33\x32\x30", 13), "truncated"},
        {"endless line", "t.tsv", std::string(3 << 20, '1'), "longer than 1024 bytes"},
    };
}

TEST_F(HostileTest, BrokenConfigsFailStartUpWithFileAndLine) {
    for (const auto& c : broken_cases()) {
        SetUp();
        config("");
        write(c.file, c.content);
        const auto r = run_binary({"serve", "--config", (dir_ / "r.yaml").string(), "--listen", "127.0.0.1:0",
                                   "--admin-listen", "127.0.0.1:0"});
        EXPECT_EQ(r.exit_code, 1) << c.name << "\n" << r.output;
        EXPECT_NE(r.output.find(c.expected), std::string::npos) << c.name << "\n" << r.output;
        TearDown();
    }
}

TEST_F(HostileTest, BrokenConfigsAtReloadKeepTheOldTable) {
    const std::string good_config = config("trusted_proxies: [127.0.0.0/8]\n");
    server_process server(good_config);
    ASSERT_TRUE(server.wait_ready()) << server.output();
    const std::string originals[] = {"asns/bigcloud.yaml", "asns/zzz.yaml", "r.yaml", "t.tsv"};
    std::map<std::string, std::string> saved;
    for (const auto& f : originals) {
        std::ifstream in(dir_ / f);
        std::stringstream s;
        s << in.rdbuf();
        saved[f] = s.str();
    }
    int failures = 0;
    for (const auto& c : broken_cases()) {
        write(c.file, c.content);
        server.send_signal(SIGHUP);
        ++failures;
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        bool seen = false;
        while (!seen && std::chrono::steady_clock::now() < deadline) {
            const auto m = http_get(server.admin_port(), "/metrics");
            seen = m && m->body.find("registry_redirector_config_reloads_total{result=\"failure\"} " + std::to_string(failures)) !=
                            std::string::npos;
            if (!seen && m && m->body.find("registry_redirector_config_reloads_total{result=\"failure\"} " +
                                           std::to_string(failures + 1)) != std::string::npos) {
                ++failures;  // the file watcher got there too
                seen = true;
            }
            std::this_thread::sleep_for(10ms);
        }
        EXPECT_TRUE(seen) << c.name << "\n" << server.output();
        EXPECT_NE(server.output().find(c.expected), std::string::npos) << c.name;
        EXPECT_EQ(location(http_get(server.port(), "/v2/", "X-Real-Ip: 203.0.113.9\r\n")), to_bigcloud) << c.name;
        // Put everything back before the next case.
        if (saved[c.file].empty()) fs::remove(dir_ / c.file); else write(c.file, saved[c.file]);
        std::this_thread::sleep_for(700ms);  // let the watcher's own reload of the restore settle
    }
    EXPECT_EQ(server.stop(SIGTERM), 0);
}

}  // namespace
}  // namespace registry_redirector::testing
