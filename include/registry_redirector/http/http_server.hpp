#pragma once
/// The redirect listener: one io_context per I/O thread (so no strands and
/// no locks between sessions), each thread accepting on the listeners itself
/// (no accept thread, no hand-off per connection), sessions that parse with Beast's basic_parser
/// into views of their own read buffer, and a per-thread sweep that enforces
/// header, idle and write deadlines without re-arming a timer per request.

#include <memory>
#include <optional>

#include "registry_redirector/telemetry/access_log.hpp"
#include "registry_redirector/telemetry/otlp_exporter.hpp"
#include "registry_redirector/telemetry/trace_context.hpp"
#include "registry_redirector/config/config.hpp"
#include "registry_redirector/telemetry/request_metrics.hpp"
#include "registry_redirector/routing/serving_snapshot.hpp"
#include "registry_redirector/routing/snapshot_store.hpp"
#include "registry_redirector/http/tls_context.hpp"

namespace registry_redirector {

class blob_checker;

using serving_store = snapshot_store<serving_snapshot>;

/// The HTTPS listener: where, and the store its handshakes take their
/// context from (each new connection takes the newest one published).
struct https_listener {
    endpoint_config endpoint;
    const tls_context_store& contexts;
};

/// Tracing on the redirect listener (see otlp_exporter).
struct http_tracing {
    otlp_exporter* exporter = nullptr;  ///< must outlive the server
    trace_sampler sampler{sampler_kind::always_off, 0};
    bool location_request_id = false;   ///< rid=<trace id> on every Location
};

/// Thread safety: start/stop from one control thread; everything else runs
/// on the server's own threads.
class http_server {
public:
    /// Binds the listener (throws listen_error, "cannot listen on ADDR:PORT
    /// (redirect port): REASON").
    /// `log` may be null (no access log); it must outlive the server.
    http_server(const endpoint_config& listen, unsigned threads, const connection_limits& limits,
                const serving_store& store, request_metrics& metrics, access_log* log = nullptr,
                proxy_protocol_mode proxy_protocol = proxy_protocol_mode::off);
    /// Plain HTTP on `listen` and/or HTTPS on `https` (at least one); both
    /// share the I/O threads, the limits (max_connections counts both) and
    /// the session code. `https.contexts` must outlive the server. A TLS
    /// connection accepted before the first context is published is closed.
    http_server(const std::optional<endpoint_config>& listen, const std::optional<https_listener>& https,
                unsigned threads, const connection_limits& limits, const serving_store& store,
                request_metrics& metrics, access_log* log = nullptr,
                proxy_protocol_mode proxy_protocol = proxy_protocol_mode::off);
    ~http_server();

    /// The bound ports (useful with port 0); 0 for a listener not configured.
    unsigned short port() const noexcept;
    unsigned short tls_port() const noexcept;

    /// Turns tracing (and location_request_id) on; before start() only.
    void set_tracing(const http_tracing& tracing);

    /// Turns the blob existence checks on (for the mirrors with
    /// check_blobs); before start() only. `checker` must outlive the server.
    void set_blob_checker(blob_checker* checker);

    /// Starts the I/O threads; returns at once.
    void start();

    /// Stops accepting; connections finish their current response, each
    /// keep-alive connection is told Connection: close on its next
    /// response, and idle ones are closed.
    void stop_accepting();

    /// Number of open client connections.
    std::size_t open_connections() const noexcept;

    /// Bytes mapped for connection sessions, over all I/O threads (whole
    /// 64 KiB chunks; request buffers are not included: idle connections
    /// hold none). Any thread.
    std::size_t session_memory_bytes() const noexcept;

    /// Stops the I/O threads and joins them, closing whatever is still open.
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace registry_redirector
