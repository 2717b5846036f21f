// Tracing against a local OTLP/HTTP receiver that the test runs on
// loopback: spans with their attributes and parent, the sampling ratio over
// 10,000 requests, location_request_id, and a receiver that is down or
// never answers changing no answer.

#include <gtest/gtest.h>
#include <signal.h>
#include <zlib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <atomic>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "server_process.hpp"

namespace registry_redirector::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string gunzip(const std::string& in) {
    z_stream z{};
    inflateInit2(&z, 15 + 16);
    std::string out;
    char chunk[1 << 16];
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    int r = Z_OK;
    while (r == Z_OK) {
        z.next_out = reinterpret_cast<Bytef*>(chunk);
        z.avail_out = sizeof chunk;
        r = inflate(&z, Z_NO_FLUSH);
        out.append(chunk, sizeof chunk - z.avail_out);
    }
    inflateEnd(&z);
    return r == Z_STREAM_END ? out : std::string();
}

/// A minimal OTLP/HTTP receiver: POST /v1/traces with a gzip JSON body,
/// answered 200 (or never, when `silent`). Keeps every span.
class otlp_receiver {
public:
    explicit otlp_receiver(bool silent = false) : silent_(silent) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        ::listen(fd_, 16);
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~otlp_receiver() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
        for (int c : held_) ::close(c);
    }
    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::vector<boost::json::object> spans() {
        std::lock_guard lock(mutex_);
        return spans_;
    }
    std::vector<std::string> paths() {
        std::lock_guard lock(mutex_);
        return paths_;
    }
    boost::json::object resource() {
        std::lock_guard lock(mutex_);
        return resource_;
    }

private:
    void run() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) continue;
            if (silent_) {  // read nothing, answer nothing: a hung collector
                held_.push_back(c);
                continue;
            }
            handle(c);
            ::close(c);
        }
    }
    void handle(int c) {
        std::string in;
        char buffer[1 << 16];
        std::size_t header_end = std::string::npos, length = 0;
        while (true) {
            pollfd p{c, POLLIN, 0};
            if (::poll(&p, 1, 5000) <= 0) return;
            const auto n = ::recv(c, buffer, sizeof buffer, 0);
            if (n <= 0) return;
            in.append(buffer, static_cast<std::size_t>(n));
            if (header_end == std::string::npos && (header_end = in.find("\r\n\r\n")) != std::string::npos) {
                const auto at = in.find("Content-Length: ");
                length = std::stoul(in.substr(at + 16));
            }
            if (header_end != std::string::npos && in.size() >= header_end + 4 + length) break;
        }
        const std::string head = in.substr(0, header_end);
        const std::string body = gunzip(in.substr(header_end + 4, length));
        {
            std::lock_guard lock(mutex_);
            paths_.push_back(head.substr(0, head.find("\r\n")));
            const auto doc = boost::json::parse(body).as_object();
            for (const auto& rs : doc.at("resourceSpans").as_array()) {
                resource_ = rs.at("resource").as_object();
                for (const auto& ss : rs.at("scopeSpans").as_array())
                    for (const auto& s : ss.at("spans").as_array()) spans_.push_back(s.as_object());
            }
        }
        static constexpr char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
        ::send(c, ok, sizeof ok - 1, MSG_NOSIGNAL);
    }

    bool silent_;
    int fd_ = -1;
    unsigned short port_ = 0;
    std::atomic<bool> stop_{false};
    std::vector<int> held_;
    std::mutex mutex_;
    std::vector<boost::json::object> spans_;
    std::vector<std::string> paths_;
    boost::json::object resource_;
    std::thread thread_;
};

std::map<std::string, std::string> attributes(const boost::json::object& span) {
    std::map<std::string, std::string> out;
    for (const auto& a : span.at("attributes").as_array()) {
        const auto& v = a.at("value").as_object();
        out[std::string(a.at("key").as_string())] = std::string(
            v.contains("stringValue") ? v.at("stringValue").as_string() : v.at("intValue").as_string());
    }
    return out;
}

class OtelTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("redirector-otel-" + std::to_string(::getpid()));
        fs::create_directories(dir_ / "asns");
        std::ofstream(dir_ / "asns/bigcloud.yaml") << "name: bigcloud\nredirectsTo:\n  registry: reg.bigcloud.example\n"
                                                      "  artifacts: art.bigcloud.example\nasns: [64500]\n";
        std::ofstream(dir_ / "asns/google.yaml") << "name: google\nredirectsTo:\n  registry: k8s.gcr.io\n"
                                                    "  artifacts: a.example\nasns: [64520]\n";
        std::ofstream(dir_ / "t.tsv") << "203.0.113.0/24\t64500\n";
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string config(const std::string& otel) {
        std::ofstream(dir_ / "r.yaml") << "providers_dir: asns\nprefixes: [t.tsv]\nthreads: 2\nshutdown_delay: 0s\n"
                                          "trusted_proxies: [127.0.0.0/8]\naccess_log: json\n"
                                       << otel;
        return (dir_ / "r.yaml").string();
    }

    fs::path dir_;
};

constexpr char parent_header[] = "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n";

TEST_F(OtelTest, SpansArriveWithAttributesAndParent) {
    otlp_receiver receiver;
    server_process server(config("otel:\n  endpoint: " + receiver.endpoint() +
                                 "\n  service_name: edge-test\n  resource_attributes: {region: eu}\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    // Ratio 0 (the default): only the request whose parent is sampled is recorded.
    const auto traced = http_get(server.port(), "/v2/pause/manifests/3.9?x=1",
                                 std::string(parent_header) + "tracestate: rojo=00f067aa0ba902b7\r\nX-Real-Ip: 203.0.113.9\r\n");
    ASSERT_TRUE(traced);
    EXPECT_EQ(traced->header("location"), "https://reg.bigcloud.example/v2/pause/manifests/3.9?x=1");
    ASSERT_TRUE(http_get(server.port(), "/v2/untraced", "X-Real-Ip: 203.0.113.9\r\n"));
    // An invalid traceparent is ignored and counted.
    ASSERT_TRUE(http_get(server.port(), "/v2/", "traceparent: 00-xyz\r\n"));
    ASSERT_TRUE(wait_for([&] { return !receiver.spans().empty(); }, 10s)) << server.output();
    EXPECT_EQ(server.stop(SIGTERM), 0);

    const auto spans = receiver.spans();
    ASSERT_EQ(spans.size(), 1u);
    const auto& s = spans[0];
    EXPECT_EQ(receiver.paths().at(0), "POST /v1/traces HTTP/1.1");
    EXPECT_EQ(s.at("traceId"), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(s.at("parentSpanId"), "00f067aa0ba902b7");
    EXPECT_EQ(s.at("traceState"), "rojo=00f067aa0ba902b7");
    EXPECT_EQ(s.at("kind"), 2);
    const std::string span_id(s.at("spanId").as_string());
    EXPECT_EQ(span_id.size(), 16u);
    const auto a = attributes(s);
    EXPECT_EQ(a.at("http.request.method"), "GET");
    EXPECT_EQ(a.at("url.path"), "/v2/pause/manifests/3.9");
    EXPECT_EQ(a.at("http.response.status_code"), "302");
    EXPECT_EQ(a.at("registry_redirector.provider"), "bigcloud");
    EXPECT_EQ(a.at("registry_redirector.route"), "registry");
    EXPECT_EQ(a.at("client.address"), "203.0.113.0/24");
    const std::string resource = boost::json::serialize(receiver.resource());
    EXPECT_NE(resource.find("\"service.name\",\"value\":{\"stringValue\":\"edge-test\""), std::string::npos) << resource;
    EXPECT_NE(resource.find("\"region\""), std::string::npos) << resource;
    // The access log line of the traced request names the same ids.
    const std::string log = server.output();
    EXPECT_NE(log.find("\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":\"" + span_id + "\""),
              std::string::npos)
        << log;
}

TEST_F(OtelTest, SamplingRatioHoldsOverTenThousandRequests) {
    otlp_receiver receiver;
    server_process server(config("otel:\n  endpoint: " + receiver.endpoint() + "\n  sample_ratio: 0.25\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    constexpr int requests = 10'000;
    http_client c(server.port());
    for (int sent = 0; sent < requests;) {
        std::string batch;  // pipelined, 50 at a time, on keep-alive connections
        for (int i = 0; i < 50; ++i, ++sent) batch += "GET /v2/" + std::to_string(sent) + " HTTP/1.1\r\nHost: t\r\n\r\n";
        c.send(batch);
        for (int i = 0; i < 50; ++i) ASSERT_TRUE(c.read_response()) << sent;
    }
    // Loopback answers the whole burst faster than the exporter's first
    // 100 ms poll, so a 2,048-span ring can overflow: those spans are
    // dropped and counted, and count as sampled here.
    const double dropped = scrape_metric(server.admin_port(), "registry_redirector_otel_spans_dropped_total");
    ASSERT_GE(dropped, 0);
    EXPECT_EQ(server.stop(SIGTERM), 0);  // flushes what is queued
    const auto spans = receiver.spans();
    // Binomial(10000, 0.25): standard deviation 43; 5 of them either way.
    EXPECT_NEAR(static_cast<double>(spans.size()) + dropped, 2500, 217) << server.output().substr(0, 2000);
    EXPECT_GE(spans.size(), 2048u);  // a whole ring at least reached the receiver
    for (const auto& s : spans) ASSERT_FALSE(s.contains("parentSpanId"));
}

TEST_F(OtelTest, LocationRequestIdCarriesTheTraceId) {
    server_process server(config("location_request_id: true\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    auto r = http_get(server.port(), "/v2/x?y=1", parent_header);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("location"), "https://k8s.gcr.io/v2/x?y=1&rid=4bf92f3577b34da6a3ce929d0e0e4736");
    r = http_get(server.port(), "/v2/x");
    ASSERT_TRUE(r);
    const std::string location = r->header("location");
    ASSERT_EQ(location.size(), std::string("https://k8s.gcr.io/v2/x?rid=").size() + 32) << location;
    EXPECT_EQ(location.rfind("https://k8s.gcr.io/v2/x?rid=", 0), 0u);
}

TEST_F(OtelTest, ADownOrHungCollectorChangesNoAnswer) {
    const unsigned short closed = free_port();  // nothing listens there
    otlp_receiver hung(true);
    for (const std::string& endpoint : {"http://127.0.0.1:" + std::to_string(closed), hung.endpoint()}) {
        server_process server(config("otel:\n  endpoint: " + endpoint + "\n  sampler: always_on\n"));
        ASSERT_TRUE(server.wait_ready()) << server.output();
        const auto started = std::chrono::steady_clock::now();
        http_client c(server.port());
        for (int i = 0; i < 2000; ++i) {
            c.send("GET /v2/" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\nX-Real-Ip: 203.0.113.9\r\n\r\n");
            const auto r = c.read_response();
            ASSERT_TRUE(r) << endpoint << " " << i;
            ASSERT_EQ(r->header("location"), "https://reg.bigcloud.example/v2/" + std::to_string(i));
        }
        // Generous: 2,000 loopback round trips take well under a second here.
        EXPECT_LT(std::chrono::steady_clock::now() - started, 20s) << endpoint;
        // The exporter counts what it could not send, and the server still exits at once.
        ASSERT_TRUE(wait_for([&] {
            return scrape_metric(server.admin_port(), "registry_redirector_otel_export_failures_total") >= 1;
        }, 15s)) << endpoint;
        EXPECT_EQ(scrape_metric(server.admin_port(), "registry_redirector_otel_spans_exported_total"), 0);
        const auto stopping = std::chrono::steady_clock::now();
        EXPECT_EQ(server.stop(SIGTERM), 0) << endpoint;
        EXPECT_LT(std::chrono::steady_clock::now() - stopping, 15s) << endpoint;  // the flush is bounded (3 s)
    }
}

}  // namespace
}  // namespace registry_redirector::testing
