// Proves the claim "no allocation per request once warm": global operator
// new is counted while a real http_server answers keep-alive requests from a
// client that itself never allocates (raw sockets, stack buffers). The TLS
// variant counts the same after the handshake; its client is OpenSSL, whose
// allocations go to malloc, not operator new, so only the server's C++
// allocations (session, Asio handlers, the SSL stream) are counted.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <malloc.h>
#include <new>
#include <thread>
#include <vector>

#include <openssl/ssl.h>

#include <filesystem>

#include "registry_redirector/http/http_server.hpp"
#include "../../support/self_signed.hpp"

namespace {
std::atomic<std::uint64_t> allocations{0};
std::atomic<std::int64_t> live_bytes{0};  // what operator new handed out and delete did not take back
}

void* operator new(std::size_t n) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) {
        live_bytes.fetch_add(static_cast<std::int64_t>(::malloc_usable_size(p)), std::memory_order_relaxed);
        return p;
    }
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
// The nothrow forms too (std::stable_sort's temporary buffer uses them): left
// to the runtime, their memory would come back through our delete (free),
// which ASan reports as a new/free mismatch.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return ::operator new(n);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return ::operator new(n, std::nothrow); }
void operator delete(void* p, const std::nothrow_t&) noexcept { ::operator delete(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { ::operator delete(p); }
void operator delete(void* p) noexcept {
    if (p) live_bytes.fetch_sub(static_cast<std::int64_t>(::malloc_usable_size(p)), std::memory_order_relaxed);
    std::free(p);
}
void operator delete[](void* p) noexcept { ::operator delete(p); }
void operator delete(void* p, std::size_t) noexcept { ::operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { ::operator delete(p); }

namespace registry_redirector {
namespace {

/// One request/response on an open socket, without touching the heap.
bool round_trip(int fd, const char* request, std::size_t length) {
    if (::send(fd, request, length, MSG_NOSIGNAL) != static_cast<ssize_t>(length)) return false;
    char buffer[2048];
    std::size_t have = 0;
    while (have < sizeof buffer) {
        const auto n = ::recv(fd, buffer + have, sizeof buffer - have, 0);
        if (n <= 0) return false;
        have += static_cast<std::size_t>(n);
        for (std::size_t i = 3; i < have; ++i)
            if (std::memcmp(buffer + i - 3, "\r\n\r\n", 4) == 0) return std::memcmp(buffer, "HTTP/1.1 302", 12) == 0;
    }
    return false;
}

void fill_store(serving_store& store) {
    provider_config google;
    google.name = "google";
    google.redirects_to = redirect_target{"k8s.gcr.io", "kubernetes-release.storage.googleapis.com"};
    google.asns = {64500};
    provider_config cloud = google;
    cloud.name = "bigcloud";
    cloud.redirects_to = redirect_target{"reg.bigcloud.example", "art.bigcloud.example"};
    cloud.asns = {64501};
    origin_table origins;
    origins.v4.push_back({0xCB007100u, 24, 64501});
    store.publish(std::make_shared<const serving_snapshot>(serving_snapshot{
        build_routing_table({cloud, google}, "google", origins),
        client_ip_policy{trusted_proxy_set({parse_ip_prefix("127.0.0.0/8").prefix})}, {0, 1}, 1}));
}

int connect_to(unsigned short port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

static constexpr char registry[] =
    "GET /v2/pause/manifests/3.9 HTTP/1.1\r\nHost: r\r\nX-Real-Ip: 203.0.113.9\r\nUser-Agent: t\r\n\r\n";
static constexpr char artifacts[] =
    "GET /release/v1.31.0/bin/linux/amd64/kubectl?x=1 HTTP/1.1\r\nHost: r\r\nX-Real-Ip: 2001:db8::1\r\n\r\n";

/// Counts operator new over `requests` round trips after a warm-up.
template <class RoundTrip>
std::uint64_t allocations_for(int requests, RoundTrip&& round_trip_once) {
    for (int i = 0; i < 200; ++i) {  // warm up: buffers, handler memory, date cache
        if (!round_trip_once(registry, sizeof registry - 1) || !round_trip_once(artifacts, sizeof artifacts - 1))
            return ~std::uint64_t{0};
    }
    const std::uint64_t before = allocations.load();
    for (int i = 0; i < requests / 2; ++i) {
        if (!round_trip_once(registry, sizeof registry - 1) || !round_trip_once(artifacts, sizeof artifacts - 1))
            return ~std::uint64_t{0};
    }
    return allocations.load() - before;
}

TEST(HotPathTest, NoAllocationPerRequestOnceWarm) {
    serving_store store;
    fill_store(store);
    request_metrics metrics(1);
    http_server server({"127.0.0.1", 0}, 1, connection_limits{}, store, metrics);
    server.start();
    const int fd = connect_to(server.port());
    ASSERT_GE(fd, 0);
    constexpr int requests = 2000;
    const std::uint64_t during =
        allocations_for(requests, [&](const char* request, std::size_t length) { return round_trip(fd, request, length); });
    ::close(fd);
    server.stop();
    std::printf("%llu allocations while answering %d requests\n", static_cast<unsigned long long>(during), requests);
    // The 250 ms deadline sweep may run a few times in the window; that is
    // per thread and time, not per request.
    EXPECT_LE(during, 16u) << during << " allocations for " << requests << " requests";
}

TEST(HotPathTest, NoAllocationPerRequestWithTracingOn) {
    serving_store store;
    fill_store(store);
    request_metrics metrics(1);
    http_server server({"127.0.0.1", 0}, 1, connection_limits{}, store, metrics);
    otel_settings settings;
    settings.enabled = true;
    settings.traces_url = parse_http_url("http://127.0.0.1:9/v1/traces");
    // The exporter thread is not started: its batches allocate, and they
    // are off the I/O thread. Every request is sampled, so the ring fills
    // (2,048 spans) and the rest takes the drop path: both are covered.
    otlp_exporter exporter(settings, 1, span_names{[](std::uint16_t) { return std::string("p"); }, {}}, 24, 48, metrics.otel,
                           otlp_exporter::options{});
    server.set_tracing({&exporter, trace_sampler(sampler_kind::always_on, 1), true});
    server.start();
    const int fd = connect_to(server.port());
    ASSERT_GE(fd, 0);
    static constexpr char traced_registry[] =
        "GET /v2/pause/manifests/3.9 HTTP/1.1\r\nHost: r\r\nX-Real-Ip: 203.0.113.9\r\n"
        "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\ntracestate: rojo=1,congo=2\r\n\r\n";
    static constexpr char traced_artifacts[] =
        "GET /release/v1.31.0/bin/linux/amd64/kubectl?x=1 HTTP/1.1\r\nHost: r\r\nX-Real-Ip: 2001:db8::1\r\n"
        "traceparent: 00-zz\r\n\r\n";  // invalid: a new trace, counted
    constexpr int requests = 4000;
    const std::uint64_t during = allocations_for(requests, [&](const char* request, std::size_t) {
        return request == registry ? round_trip(fd, traced_registry, sizeof traced_registry - 1)
                                   : round_trip(fd, traced_artifacts, sizeof traced_artifacts - 1);
    });
    ::close(fd);
    server.stop();
    EXPECT_GT(metrics.otel.spans_dropped.load(), 0u);  // the drop path ran too
    std::printf("%llu allocations while answering %d traced requests\n", static_cast<unsigned long long>(during),
                requests);
    EXPECT_LE(during, 16u) << during << " allocations for " << requests << " requests";
}

/// One request/response over TLS; the client's memory is OpenSSL's (malloc).
bool tls_round_trip(SSL* ssl, const char* request, std::size_t length) {
    if (SSL_write(ssl, request, static_cast<int>(length)) != static_cast<int>(length)) return false;
    char buffer[2048];
    std::size_t have = 0;
    while (have < sizeof buffer) {
        const int n = SSL_read(ssl, buffer + have, static_cast<int>(sizeof buffer - have));
        if (n <= 0) return false;
        have += static_cast<std::size_t>(n);
        for (std::size_t i = 3; i < have; ++i)
            if (std::memcmp(buffer + i - 3, "\r\n\r\n", 4) == 0) return std::memcmp(buffer, "HTTP/1.1 302", 12) == 0;
    }
    return false;
}

TEST(HotPathTest, NoAllocationPerTlsRequestOnceWarm) {
    serving_store store;
    fill_store(store);
    const auto dir = std::filesystem::temp_directory_path() / ("redirector-hotpath-" + std::to_string(::getpid()));
    const auto pem = testing::write_self_signed(dir, "hot.test");
    tls_config files;
    files.certificate = pem.certificate;
    files.private_key = pem.key;
    tls_context_store contexts;
    contexts.publish(tls_context::load(files, "hot.yaml"));
    std::filesystem::remove_all(dir);
    request_metrics metrics(1);
    http_server server(std::nullopt, https_listener{{"127.0.0.1", 0}, contexts}, 1, connection_limits{}, store, metrics);
    server.start();

    const int fd = connect_to(server.tls_port());
    ASSERT_GE(fd, 0);
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    ASSERT_EQ(SSL_connect(ssl), 1);
    constexpr int requests = 2000;
    const std::uint64_t during = allocations_for(
        requests, [&](const char* request, std::size_t length) { return tls_round_trip(ssl, request, length); });
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ::close(fd);
    server.stop();
    std::printf("%llu allocations while answering %d requests over TLS\n", static_cast<unsigned long long>(during),
                requests);
    EXPECT_LE(during, 16u) << during << " allocations for " << requests << " TLS requests";
}

/// Like round_trip, for any expected status line start.
bool exchange(int fd, const char* request, std::size_t length, const char* status) {
    if (::send(fd, request, length, MSG_NOSIGNAL) != static_cast<ssize_t>(length)) return false;
    char buffer[4096];
    std::size_t have = 0;
    while (have < sizeof buffer) {
        const auto n = ::recv(fd, buffer + have, sizeof buffer - have, 0);
        if (n <= 0) return false;
        have += static_cast<std::size_t>(n);
        for (std::size_t i = 3; i < have; ++i)
            if (std::memcmp(buffer + i - 3, "\r\n\r\n", 4) == 0) {
                // 404 has a body after the header: read it too.
                const bool body = std::memcmp(status, "HTTP/1.1 404", 12) == 0;
                const std::size_t want = i + 1 + (body ? 19 : 0);
                while (have < want) {
                    const auto m = ::recv(fd, buffer + have, sizeof buffer - have, 0);
                    if (m <= 0) return false;
                    have += static_cast<std::size_t>(m);
                }
                return std::memcmp(buffer, status, std::strlen(status)) == 0;
            }
    }
    return false;
}

/// OCI mode with mirrors, regions, URL templates, the explain header and
/// Cache-Control: still no allocation per request.
TEST(HotPathTest, NoAllocationPerRequestInOciModeWithTemplates) {
    const server_config config = parse_server_config("main.yaml", R"(providers_dir: p
prefixes: [t]
explain_header: true
routes:
  status: 307
  upstream: https://upstream.example/v2/proj/images{v2_path}
  classes: {ping: ok, manifest: upstream, other_v2: upstream, root: "https://project.example/", artifact: not_found}
  fixed: {"/privacy": "https://policy.example/"}
  cache_control: {blob: "public, max-age=3600"}
)");
    std::vector<provider_config> providers{
        parse_provider("amazon.yaml", R"(name: amazon
asns: [64501]
mirrors:
  - {name: s3-a, regions: [us-east-1], blobs: "https://s3-{region}.example/containers/images/{digest}", registry: r.example}
  - {name: s3-b, regions: [us-east-1], blobs: "https://b-{region}.example/{repository}/{digest}", registry: r.example}
  - {name: cdn, registry: "https://cdn.example/base"}
)"),
        parse_provider("google.yaml", "name: google\nasns: [64500]\nredirectsTo: {registry: k8s.gcr.io, artifacts: a.example}\n")};
    origin_table origins;
    origins.v4.push_back({0xCB007100u, 24, 64501});  // 203.0.113.0/24
    routing_options options;
    labelled_source src;
    src.source.provider = "amazon";
    src.ranges = parse_cloud_ranges("aws.json", R"({"prefixes":[{"ip_prefix":"203.0.0.0/16","region":"us-east-1"}]})",
                                    cloud_format::aws);
    options.clouds.push_back(src);
    options.routes = config.routes;
    options.explain_header = true;
    serving_store store;
    auto snapshot = std::make_shared<serving_snapshot>(serving_snapshot{
        build_routing_table(providers, "google", origins, options),
        client_ip_policy{trusted_proxy_set({parse_ip_prefix("127.0.0.0/8").prefix})}, {0, 1}, 1});
    snapshot->mirror_slots = {0, 1, 2, 3};
    store.publish(snapshot);
    request_metrics metrics(1);
    for (const char* m : {"s3-a", "s3-b", "cdn", "google"}) metrics.mirror_slot_for(m);
    http_server server({"127.0.0.1", 0}, 1, connection_limits{}, store, metrics);
    server.start();

    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(server.port());
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    struct exchange_case {
        const char* request;
        const char* status;
    };
    static constexpr exchange_case cases[] = {
        {"GET /v2/pause/blobs/sha256:da86e6ba6ca197bf6bc5e9d900febd906b133eaa4750e6bed647b0fbe50ed43e HTTP/1.1\r\n"
         "Host: r\r\nX-Real-Ip: 203.0.113.9\r\n\r\n", "HTTP/1.1 307"},
        {"GET /v2/pause/blobs/sha256:da86e6ba6ca197bf6bc5e9d900febd906b133eaa4750e6bed647b0fbe50ed43e HTTP/1.1\r\n"
         "Host: r\r\nX-Real-Ip: 198.51.100.7\r\nRange: bytes=0-9\r\n\r\n", "HTTP/1.1 307"},
        {"HEAD /v2/kubernetes/pause/manifests/3.9 HTTP/1.1\r\nHost: r\r\nX-Real-Ip: 2001:db8::1\r\n\r\n", "HTTP/1.1 307"},
        {"GET /v2/pause/tags/list?n=10&last=a HTTP/1.1\r\nHost: r\r\n\r\n", "HTTP/1.1 307"},
        {"GET /v2/ HTTP/1.1\r\nHost: r\r\n\r\n", "HTTP/1.1 200"},
        {"GET / HTTP/1.1\r\nHost: r\r\n\r\n", "HTTP/1.1 307"},
        {"GET /privacy HTTP/1.1\r\nHost: r\r\n\r\n", "HTTP/1.1 307"},
        {"GET /v3/ HTTP/1.1\r\nHost: r\r\n\r\n", "HTTP/1.1 404"},
        {"GET /v2/a/../b/manifests/x HTTP/1.1\r\nHost: r\r\n\r\n", "HTTP/1.1 400"},
    };
    auto run = [&] {
        for (const auto& c : cases)
            if (!exchange(fd, c.request, std::strlen(c.request), c.status)) return false;
        return true;
    };
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(run());  // warm up
    const std::uint64_t before = allocations.load();
    constexpr int rounds = 250;
    for (int i = 0; i < rounds; ++i) ASSERT_TRUE(run());
    const std::uint64_t during = allocations.load() - before;
    ::close(fd);
    server.stop();
    const int requests = rounds * static_cast<int>(std::size(cases));
    std::printf("%llu allocations while answering %d OCI-mode requests\n", static_cast<unsigned long long>(during), requests);
    EXPECT_LE(during, 16u) << during << " allocations for " << requests << " requests";
}

TEST(IdleMemoryTest, AnIdleKeepAliveConnectionHoldsNoRequestBuffer) {
    // Issue 16: ~8,300 idle connections cost ~11 KiB each, mostly a
    // max_header_bytes request buffer per connection. An idle keep-alive
    // connection now holds no buffer: what the server keeps per connection
    // (session, socket state, pending wait) must stay under 2 KiB.
    provider_config google;
    google.name = "google";
    google.redirects_to = redirect_target{"k8s.gcr.io", "kubernetes-release.storage.googleapis.com"};
    google.asns = {64500};
    serving_store store;
    store.publish(std::make_shared<const serving_snapshot>(
        serving_snapshot{build_routing_table({google}, "google", origin_table{}), client_ip_policy{}, {0}, 1}));
    request_metrics metrics(1);
    http_server server({"127.0.0.1", 0}, 1, connection_limits{}, store, metrics);
    server.start();
    static constexpr char request[] = "GET /v2/ HTTP/1.1\r\nHost: r\r\nUser-Agent: idle-test\r\n\r\n";
    // A first connection warms the thread's caches (date, handler memory).
    const int first = connect_to(server.port());
    ASSERT_GE(first, 0);
    ASSERT_TRUE(round_trip(first, request, sizeof request - 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // The heap (operator new) and the server's session slabs (mmap).
    auto held = [&] { return live_bytes.load() + static_cast<std::int64_t>(server.session_memory_bytes()); };
    const std::int64_t before = held();
    constexpr int connections = 300;
    std::vector<int> fds;
    for (int i = 0; i < connections; ++i) {
        const int fd = connect_to(server.port());
        ASSERT_GE(fd, 0);
        fds.push_back(fd);
        ASSERT_TRUE(round_trip(fd, request, sizeof request - 1)) << i;  // served, now idle
    }
    // Each is idle once its response is written; give the last ones time to
    // get there (bounded wait, no timing in the assertion).
    for (int i = 0; i < 100 && server.open_connections() != connections + 1; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::int64_t per_connection = (held() - before) / connections;
    std::printf("%lld bytes held per idle keep-alive connection\n", static_cast<long long>(per_connection));
    EXPECT_LE(per_connection, 2048);
    // And they all still work.
    for (int i = 0; i < connections; i += 37) EXPECT_TRUE(round_trip(fds[i], request, sizeof request - 1)) << i;
    for (int fd : fds) ::close(fd);
    ::close(first);
    server.stop();
}

TEST(IdleMemoryTest, AnIdleServerLetsGoOfTheOldTableAfterAReload) {
    // After a reload the I/O threads must drop the old snapshot even when no
    // request comes, or its memory (a whole routing table) stays resident.
    provider_config google;
    google.name = "google";
    google.redirects_to = redirect_target{"k8s.gcr.io", "kubernetes-release.storage.googleapis.com"};
    google.asns = {64500};
    auto make = [&](std::uint64_t generation) {
        return std::make_shared<const serving_snapshot>(
            serving_snapshot{build_routing_table({google}, "google", origin_table{}), client_ip_policy{}, {0}, generation});
    };
    serving_store store;
    auto first = make(1);
    const std::weak_ptr<const serving_snapshot> old = first;
    store.publish(std::move(first));
    request_metrics metrics(2);
    http_server server({"127.0.0.1", 0}, 2, connection_limits{}, store, metrics);
    server.start();
    static constexpr char request[] = "GET /v2/ HTTP/1.1\r\nHost: r\r\n\r\n";
    for (int i = 0; i < 4; ++i) {  // reach both threads (least-loaded placement)
        const int fd = connect_to(server.port());
        ASSERT_GE(fd, 0);
        ASSERT_TRUE(round_trip(fd, request, sizeof request - 1));
        ::close(fd);
    }
    store.publish(make(2));  // a reload; then no more requests
    bool released = false;
    for (int i = 0; i < 500 && !released; ++i) {  // 5 s at most; the sweep runs every 250 ms
        released = old.expired();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(released);
    server.stop();
}

}  // namespace
}  // namespace registry_redirector
