// libFuzzer target: hostile bytes on the HTTPS port, through the real
// session loop (src/http/http_server.cpp: PROXY preamble, the first-byte
// check, the buffered handshake, HTTP over TLS, the deadlines) of a real
// http_server on loopback, with a self-signed certificate made once at
// start-up.
//
// Input layout: [0] bit 0: the listener that takes an optional PROXY header
// (from 127.0.0.1, trusted); then the bytes the client sends, after which it
// half-closes. The server must then close the connection within a few
// seconds whatever the bytes were: a hang is __builtin_trap(), as is a
// server that stops accepting. ASan watches the server's threads too.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "registry_redirector/http/http_server.hpp"
#include "registry_redirector/http/tls_context.hpp"
#include "registry_redirector/routing/routing_table.hpp"
#include "fuzz_check.hpp"
#include "../support/self_signed.hpp"

using namespace registry_redirector;

namespace {

struct fixture {
    fixture() {
        provider_config google;
        google.name = "google";
        google.redirects_to = redirect_target{"registry.google.example", "artifacts.google.example"};
        google.asns = {15169};
        origin_table origins;
        origins.v4.push_back({0xCB007100u, 24, 15169});
        store.publish(std::make_shared<const serving_snapshot>(serving_snapshot{
            build_routing_table({google}, "google", origins),
            client_ip_policy{trusted_proxy_set({parse_ip_prefix("127.0.0.0/8").prefix})}, {0}, 1}));
        const auto dir = std::filesystem::temp_directory_path() / ("redirector-fuzz-tls-" + std::to_string(::getpid()));
        const auto pem = testing::write_self_signed(dir, "fuzz.test");
        tls_config files;
        files.certificate = pem.certificate;
        files.private_key = pem.key;
        contexts.publish(tls_context::load(files, "fuzz.yaml"));
        std::filesystem::remove_all(dir);
        connection_limits limits;
        limits.header_timeout = std::chrono::milliseconds(1000);
        limits.write_timeout = std::chrono::milliseconds(1000);
        for (int i = 0; i < 2; ++i) {
            servers[i] = std::make_unique<http_server>(std::nullopt, https_listener{{"127.0.0.1", 0}, contexts}, 1, limits,
                                                       store, *metrics[i], nullptr,
                                                       i == 0 ? proxy_protocol_mode::off : proxy_protocol_mode::optional);
            servers[i]->start();
        }
    }
    serving_store store;
    tls_context_store contexts;
    std::unique_ptr<request_metrics> metrics[2] = {std::make_unique<request_metrics>(1),
                                                   std::make_unique<request_metrics>(1)};
    std::unique_ptr<http_server> servers[2];
};

fixture& the_fixture() {
    static fixture f;
    return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fixture& f = the_fixture();
    if (size < 1) return 0;
    http_server& server = *f.servers[data[0] & 1];
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(server.tls_port());
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // A connect can fail for want of an ephemeral port on a busy shared
    // machine (thousands of connections a second): retry for a while; a
    // listener that stays unreachable is a finding.
    int fd = -1;
    for (int attempt = 0; attempt < 200 && fd < 0; ++attempt) {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        CHECK(fd >= 0);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
            std::fprintf(stderr, "fuzz_tls: connect: %s (retrying)\n", std::strerror(errno));
            ::close(fd);
            fd = -1;
            ::usleep(10'000);
        }
    }
    CHECK(fd >= 0);
    // Inputs are at most a few KiB (-max_len): the socket buffer takes them.
    std::size_t sent = 0;
    while (sent < size - 1) {
        const auto n = ::send(fd, data + 1 + sent, size - 1 - sent, MSG_NOSIGNAL);
        if (n <= 0) break;  // the server already closed: fine
        sent += static_cast<std::size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
    // Whatever came, the server closes: after an alert, after EOF, or at
    // its deadline (1 s here).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    char sink[16384];
    bool closed = false;
    while (!closed && std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        closed = ::recv(fd, sink, sizeof sink, 0) <= 0;
    }
    ::close(fd);
    CHECK(closed);
    return 0;
}
