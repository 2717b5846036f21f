#pragma once
/// The span exporter: OTLP/HTTP with JSON encoding, gzip, batched
/// (https://opentelemetry.io/docs/specs/otlp/). I/O threads copy one
/// fixed-size span_record per recorded request into their own bounded ring
/// (the access log's spsc_ring) and never wait; one exporter thread drains
/// the rings, encodes batches and POSTs them to `<endpoint>/v1/traces`.
/// A full ring drops the span and counts it; a collector that is down or
/// slow costs only counted failures (each POST is bounded by a timeout).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "registry_redirector/config/otel_config.hpp"
#include "registry_redirector/net/ip_address.hpp"
#include "registry_redirector/telemetry/request_metrics.hpp"
#include "registry_redirector/telemetry/spsc_ring.hpp"
#include "registry_redirector/telemetry/trace_context.hpp"

namespace registry_redirector {

/// One server span, as an I/O thread records it (no pointers, no heap).
struct span_record {
    static constexpr std::size_t max_method = 16;
    static constexpr std::size_t max_path = 512;
    static constexpr std::size_t max_tracestate = 512;

    trace_id_bytes trace_id{};
    span_id_bytes span_id{};
    span_id_bytes parent_span_id{};  ///< all zero: a root span
    std::uint8_t flags = 1;
    std::int64_t start_unix_ns = 0;
    std::int64_t end_unix_ns = 0;
    ip_address client;
    std::uint16_t status = 0;
    std::uint16_t provider_slot = 0xffff;
    std::uint16_t mirror_slot = 0xffff;  ///< 0xffff: no mirror chosen
    std::uint8_t route = 0;          ///< as enum route
    std::uint8_t http_minor = 1;     ///< HTTP/1.x
    std::uint8_t method_length = 0;
    std::uint16_t path_length = 0;
    std::uint16_t tracestate_length = 0;
    char method[max_method];
    char path[max_path];
    char tracestate[max_tracestate];
};

using span_ring = spsc_ring<span_record>;


/// Names of the metric slots a span_record holds.
struct span_names {
    std::function<std::string(std::uint16_t)> provider;
    std::function<std::string(std::uint16_t)> mirror;
};

/// Encodes one ExportTraceServiceRequest in OTLP/JSON. Client addresses are
/// cut to the given prefix lengths.
std::string encode_otlp_json(const std::vector<span_record>& spans, const attribute_list& resource,
                             const span_names& names, std::uint8_t ipv4_prefix, std::uint8_t ipv6_prefix);

/// gzip (RFC 1952) of `data`.
std::string gzip_compress(const std::string& data);

/// Thread safety: ring(i) belongs to I/O thread i; start/stop from the
/// control thread.
class otlp_exporter {
public:
    struct options {
        std::size_t ring_capacity = 2048;                  ///< spans per I/O thread
        std::size_t max_batch = 512;                       ///< spans per POST
        std::chrono::milliseconds interval{1000};          ///< a partial batch waits at most this long
        std::chrono::milliseconds timeout{5000};           ///< per POST: connect, send and answer
    };

    otlp_exporter(otel_settings settings, unsigned threads, span_names names,
                  std::uint8_t ipv4_prefix, std::uint8_t ipv6_prefix, otel_counters& counters, options opts);
    ~otlp_exporter();

    span_ring& ring(unsigned thread) noexcept { return *rings_[thread]; }
    void count_drop() noexcept { counters_.spans_dropped.fetch_add(1, std::memory_order_relaxed); }

    void start();
    /// Exports what is queued within `bound` (each POST's timeout is cut to
    /// what is left of it), then stops the thread. Spans still queued after
    /// that are counted as failed.
    void stop(std::chrono::milliseconds bound);

private:
    void run();
    std::size_t collect(std::vector<span_record>& batch);
    bool post(const std::vector<span_record>& batch, std::chrono::milliseconds timeout);

    otel_settings settings_;
    span_names names_;
    std::uint8_t ipv4_prefix_;
    std::uint8_t ipv6_prefix_;
    otel_counters& counters_;
    options options_;
    std::vector<std::unique_ptr<span_ring>> rings_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point stop_deadline_{};
    std::thread thread_;
};

}  // namespace registry_redirector
