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
#include <new>

#include <openssl/ssl.h>

#include <filesystem>

#include "registry_redirector/http/http_server.hpp"
#include "../../support/self_signed.hpp"

namespace {
std::atomic<std::uint64_t> allocations{0};
}

void* operator new(std::size_t n) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

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

}  // namespace
}  // namespace registry_redirector
