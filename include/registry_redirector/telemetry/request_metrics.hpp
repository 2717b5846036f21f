#pragma once
/// Hot-path metrics without a shared lock: every I/O thread bumps its own
/// cache-line-aligned counters (single writer, relaxed atomics), and a scrape
/// folds them. prometheus-cpp's Histogram::Observe takes a mutex per call,
/// which would serialise the I/O threads; this collectable never does.

#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "registry_redirector/routing/request_outcome.hpp"

namespace registry_redirector {

/// Upper bounds of the request duration histogram, in seconds.
inline constexpr std::array<double, 14> duration_buckets_seconds{
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};

/// How a TLS handshake ended (the `result` label of
/// registry_redirector_tls_handshakes_total); a bounded set.
enum class tls_handshake_result : std::uint8_t {
    ok,                ///< a full handshake
    resumed,           ///< a session ticket was accepted
    protocol_error,    ///< not TLS, an unsupported version, a malformed message
    no_shared_cipher,  ///< no cipher suite (or group) in common
    alpn,              ///< ALPN offered without http/1.1 (e.g. h2 only)
    timeout,           ///< not done by header_timeout
    other,             ///< the client went away, or anything else
};
inline constexpr std::size_t tls_handshake_result_count = 7;
const char* to_label(tls_handshake_result r) noexcept;

/// The negotiated version (`version` label); `none` when the handshake
/// failed before one was agreed.
enum class tls_version_label : std::uint8_t { none, tls1_2, tls1_3 };
inline constexpr std::size_t tls_version_label_count = 3;
const char* to_label(tls_version_label v) noexcept;

/// One I/O thread's counters. Only its own thread writes them.
class alignas(64) thread_request_counters {
public:
    static constexpr std::size_t max_providers = 256;

    static constexpr std::size_t max_mirrors = 1024;
    static constexpr std::size_t path_classes = 6;   ///< config's path_class_count
    static constexpr std::size_t class_actions = 5;  ///< config's class_action_count

    void count_redirect(std::uint16_t provider_slot, route kind, status_code status = status_code::found_302) noexcept {
        bump(redirects_[provider_slot][kind == route::registry ? 0 : 1][redirect_index(status)]);
    }
    /// OCI mode: the request's path class and the action taken for it.
    void count_class(std::size_t klass, std::size_t action) noexcept {
        if (klass < path_classes && action < class_actions) bump(classes_[klass][action]);
    }
    /// A redirect to a mirror (slot from request_metrics::mirror_slot_for).
    void count_mirror(std::uint16_t mirror_slot) noexcept {
        if (mirror_slot < max_mirrors) bump(mirrors_[mirror_slot]);
    }
    void count_rejected(status_code status) noexcept { bump(rejected_[static_cast<std::size_t>(status)]); }
    void count_source(client_ip_source source) noexcept { bump(sources_[static_cast<std::size_t>(source)]); }
    void observe_duration(std::chrono::nanoseconds d, std::uint64_t requests = 1) noexcept;
    void count_tls_handshake(tls_handshake_result r, tls_version_label v) noexcept {
        bump(tls_handshakes_[static_cast<std::size_t>(r)][static_cast<std::size_t>(v)]);
    }

private:
    friend class request_metrics;
    static void bump(std::atomic<std::uint64_t>& c, std::uint64_t by = 1) noexcept {
        c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
    }
    std::atomic<std::uint64_t> redirects_[max_providers][2][redirect_status_count] = {};
    std::atomic<std::uint64_t> classes_[path_classes][class_actions] = {};
    std::atomic<std::uint64_t> mirrors_[max_mirrors] = {};
    std::atomic<std::uint64_t> rejected_[status_code_count] = {};
    std::atomic<std::uint64_t> sources_[client_ip_source_count] = {};
    std::atomic<std::uint64_t> buckets_[duration_buckets_seconds.size() + 1] = {};
    std::atomic<std::uint64_t> duration_sum_ns_{0};
    std::atomic<std::uint64_t> tls_handshakes_[tls_handshake_result_count][tls_version_label_count] = {};
};

/// requests_total, request_duration_seconds, client_ip_total and the
/// connection gauges, folded over all threads at scrape time.
/// Thread safety: slot_for and Collect may be called from any thread.
class request_metrics : public prometheus::Collectable {
public:
    explicit request_metrics(unsigned threads);

    /// The metric slot for a provider name; the first call for a name creates
    /// its series (control plane only). Throws std::length_error past
    /// thread_request_counters::max_providers names.
    std::uint16_t slot_for(const std::string& provider);

    /// Likewise for a mirror name (registry_redirector_mirror_redirects_total);
    /// throws std::length_error past thread_request_counters::max_mirrors.
    std::uint16_t mirror_slot_for(const std::string& mirror);

    thread_request_counters& thread(unsigned index) noexcept { return *threads_[index]; }

    /// The provider name of a slot (for the access log writer).
    std::string name_of(std::uint16_t slot) const;

    std::atomic<std::int64_t> connections_open{0};
    std::atomic<std::uint64_t> connections_rejected{0};   ///< over max_connections
    std::atomic<std::uint64_t> connection_timeouts{0};    ///< header, idle or write deadline passed
    std::atomic<std::uint64_t> accept_errors{0};
    std::atomic<std::uint64_t> access_log_dropped{0};    ///< records a full ring refused
    std::atomic<std::uint64_t> proxy_protocol_rejected{0};  ///< connections closed for a missing/bad/untrusted PROXY header
    /// Trusted PROXY headers that named no IP client, so the TCP peer stood:
    /// v2 AF_UNSPEC, v2 AF_UNIX, v1 UNKNOWN (a v2 LOCAL health check is not counted).
    std::atomic<std::uint64_t> proxy_protocol_no_address_unspec{0};
    std::atomic<std::uint64_t> proxy_protocol_no_address_unix{0};
    std::atomic<std::uint64_t> proxy_protocol_no_address_unknown{0};
    /// Set once a TLS listener exists: the TLS families are exported only then.
    std::atomic<bool> tls_enabled{false};
    /// notAfter of the serving certificate (Unix seconds), set at each publish.
    std::atomic<std::int64_t> tls_certificate_expiry{0};

    std::vector<prometheus::MetricFamily> Collect() const override;

private:
    std::vector<std::unique_ptr<thread_request_counters>> threads_;
    mutable std::mutex names_mutex_;
    std::vector<std::string> names_;  // slot -> provider name, append-only
    std::vector<std::string> mirror_names_;  // slot -> mirror name, append-only (under names_mutex_)
};

}  // namespace registry_redirector
