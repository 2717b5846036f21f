// Shutdown, connection limits and the access log, against the real binary.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <fstream>
#include <sstream>
#include <thread>

#include "server_process.hpp"

namespace registry_redirector::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class DrainTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("redirector-drain-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_ / "asns");
        std::ofstream(dir_ / "asns/google.yaml") << "name: google\nredirectsTo:\n  registry: k8s.gcr.io\n"
                                                    "  artifacts: kubernetes-release.storage.googleapis.com\nasns: [64520]\n";
        std::ofstream(dir_ / "t.tsv") << "192.0.2.0/24\t64520\n";
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string config(const std::string& extra) {
        const auto path = dir_ / "r.yaml";
        std::ofstream(path) << "providers_dir: asns\nprefixes: [t.tsv]\nthreads: 2\n" << extra;
        return path.string();
    }

    fs::path dir_;
};

TEST_F(DrainTest, SigtermDrainsWithoutLosingARequest) {
    server_process server(config("shutdown_delay: 1s\nshutdown_timeout: 5s\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();

    http_client keep_alive(server.port());  // will be told Connection: close
    keep_alive.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(keep_alive.read_response());
    http_client in_flight(server.port());  // half a request when the drain starts
    in_flight.send("GET /in-flight HTTP/1.1\r\nHost: t\r\n");

    // Load through the whole shutdown. A request is lost if the server took
    // it and never answered: a partial or missing response after a send
    // that the server had read. A connection closed before any response
    // byte while idle is the keep-alive race every client retries.
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0}, bad{0};
    std::vector<std::thread> load;
    for (int t = 0; t < 2; ++t) {
        load.emplace_back([&] {
            while (!stop) {
                http_client c(server.port());
                if (!c.connected()) break;  // the listener is closed: done
                for (int i = 0; i < 50 && !stop; ++i) {
                    c.send("GET /load HTTP/1.1\r\nHost: t\r\n\r\n");
                    const auto r = c.read_response();
                    if (!r) break;  // closed while idle; reconnect
                    if (r->status != 302) ++bad; else ++ok;
                    if (r->header("connection") == "close") break;
                }
            }
        });
    }
    std::this_thread::sleep_for(200ms);
    const auto signalled = std::chrono::steady_clock::now();
    server.send_signal(SIGTERM);

    // At once: not ready, still serving.
    std::this_thread::sleep_for(100ms);
    const auto ready = http_get(server.admin_port(), "/readyz");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 503);
    const auto during_delay = http_get(server.port(), "/still-serving");
    ASSERT_TRUE(during_delay);
    EXPECT_EQ(during_delay->status, 302);

    // After the delay: the in-flight request completes, with Connection: close.
    std::this_thread::sleep_for(1200ms);
    in_flight.send("\r\n");
    const auto finished = in_flight.read_response();
    ASSERT_TRUE(finished);
    EXPECT_EQ(finished->status, 302);
    EXPECT_EQ(finished->header("connection"), "close");
    EXPECT_TRUE(keep_alive.closed_by_server(2s));  // idle: closed
    EXPECT_FALSE(http_client(server.port()).connected());  // not accepting

    EXPECT_EQ(server.wait_exit(10s), 0) << server.output();
    const auto took = std::chrono::steady_clock::now() - signalled;
    EXPECT_GE(took, 1s);
    EXPECT_LE(took, 6500ms);
    stop = true;
    for (auto& t : load) t.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_GT(ok.load(), 0);
}

TEST_F(DrainTest, ShutdownTimeoutBoundsASlowClient) {
    server_process server(config("shutdown_delay: 0s\nshutdown_timeout: 1s\nlimits:\n  header_timeout: 60s\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    http_client slow(server.port());
    slow.send("GET / HTTP/1.1\r\n");  // never finishes
    std::this_thread::sleep_for(100ms);
    const auto signalled = std::chrono::steady_clock::now();
    server.send_signal(SIGTERM);
    EXPECT_EQ(server.wait_exit(10s), 0) << server.output();
    EXPECT_LE(std::chrono::steady_clock::now() - signalled, 2500ms);
    EXPECT_NE(server.output().find("shutdown_timeout reached with 1 connections open"), std::string::npos)
        << server.output();
}

TEST_F(DrainTest, SecondSignalExitsAtOnce) {
    server_process server(config("shutdown_delay: 30s\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    server.send_signal(SIGTERM);
    std::this_thread::sleep_for(200ms);
    const auto second = std::chrono::steady_clock::now();
    server.send_signal(SIGINT);
    EXPECT_EQ(server.wait_exit(5s), 1);
    EXPECT_LE(std::chrono::steady_clock::now() - second, 2s);
}

TEST_F(DrainTest, ConnectionCapHolds) {
    server_process server(config("shutdown_delay: 0s\nlimits:\n  max_connections: 4\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    std::vector<std::unique_ptr<http_client>> held;
    for (int i = 0; i < 4; ++i) {
        held.push_back(std::make_unique<http_client>(server.port()));
        held.back()->send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        ASSERT_TRUE(held.back()->read_response()) << i;
    }
    http_client over(server.port());
    const auto refused = over.read_response();
    ASSERT_TRUE(refused);  // told why, not just reset
    EXPECT_EQ(refused->status, 503);
    EXPECT_TRUE(over.closed_by_server());
    const auto metrics = http_get(server.admin_port(), "/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_NE(metrics->body.find("registry_redirector_connections_rejected_total 1"), std::string::npos);
    EXPECT_NE(metrics->body.find("registry_redirector_connections 4"), std::string::npos);
    held.pop_back();  // one leaves; a newcomer gets in
    std::this_thread::sleep_for(100ms);
    const auto r = http_get(server.port(), "/again");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 302);
}

TEST_F(DrainTest, IdleKeepAliveIsClosedAfterIdleTimeout) {
    server_process server(config("shutdown_delay: 0s\nlimits:\n  idle_timeout: 300ms\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    http_client c(server.port());
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(c.read_response());
    const auto started = std::chrono::steady_clock::now();
    EXPECT_TRUE(c.closed_by_server(3s));
    EXPECT_GE(std::chrono::steady_clock::now() - started, 250ms);
}

/// Many keep-alive requests in flight as SIGTERM arrives, then every client
/// stays connected and silent. Each session is either answered with
/// Connection: close or goes idle and must be closed by the drain, including
/// one whose write completion was still queued when the drain reached its
/// thread (that one once stayed open until shutdown_timeout). So the drain
/// must end by itself, long before the timeout.
TEST_F(DrainTest, DrainClosesSessionsThatGoIdleDuringIt) {
    for (int round = 0; round < 5; ++round) {
        server_process server(config("shutdown_delay: 0s\nshutdown_timeout: 20s\n"));
        ASSERT_TRUE(server.wait_ready()) << server.output();
        std::vector<std::unique_ptr<http_client>> clients;
        for (int i = 0; i < 64; ++i) clients.push_back(std::make_unique<http_client>(server.port()));
        for (auto& c : clients) c->send("GET /v2/x HTTP/1.1\r\nHost: t\r\n\r\n");
        server.send_signal(SIGTERM);
        for (auto& c : clients) c->read_response();  // answered, or closed by the drain
        const auto started = std::chrono::steady_clock::now();
        ASSERT_EQ(server.wait_exit(10s), 0) << "round " << round << "\n" << server.output();
        EXPECT_LT(std::chrono::steady_clock::now() - started, 5s) << server.output();
        EXPECT_NE(server.output().find("drained: all connections closed"), std::string::npos) << server.output();
    }
}

TEST_F(DrainTest, AccessLogIsJsonWithAnonymisedClients) {
    server_process server(config("shutdown_delay: 0s\naccess_log: json\ntrusted_proxies: [127.0.0.0/8]\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    ASSERT_TRUE(http_get(server.port(), "/v2/x?q=\"1\"", "X-Real-Ip: 198.51.100.77\r\nUser-Agent: containerd/1.7\r\n"))
        << server.output();
    ASSERT_TRUE(http_get(server.port(), "/bin", "X-Real-Ip: 2001:db8:aaaa:bbbb::1\r\n")) << server.output();
    http_client post(server.port());
    post.send("POST /v2/ HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(post.read_response());
    EXPECT_EQ(server.stop(SIGTERM), 0) << server.output();
    const std::string out = server.output();
    EXPECT_NE(out.find("\"client\":\"198.51.100.0/24\",\"method\":\"GET\",\"target\":\"/v2/x?q=\\\"1\\\"\",\"status\":302,"
                       "\"provider\":\"google\",\"route\":\"registry\""),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("\"user_agent\":\"containerd/1.7\""), std::string::npos) << out;
    EXPECT_NE(out.find("\"client\":\"2001:db8:aaaa::/48\""), std::string::npos) << out;
    EXPECT_NE(out.find("\"method\":\"POST\",\"target\":\"/v2/\",\"status\":405,\"provider\":\"none\",\"route\":\"rejected\""),
              std::string::npos)
        << out;
    EXPECT_EQ(out.find("198.51.100.77"), std::string::npos) << "the full address leaked";
}

}  // namespace
}  // namespace registry_redirector::testing
