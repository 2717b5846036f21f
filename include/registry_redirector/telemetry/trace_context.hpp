#pragma once
/// W3C Trace Context (https://www.w3.org/TR/trace-context/): strict parsing of
/// `traceparent` and `tracestate`, the per-thread id generator and the
/// OpenTelemetry samplers. Everything here is noexcept and allocation-free:
/// it runs on the I/O threads for every request while tracing is on.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "registry_redirector/config/otel_config.hpp"

namespace registry_redirector {

using trace_id_bytes = std::array<std::uint8_t, 16>;
using span_id_bytes = std::array<std::uint8_t, 8>;

struct trace_parent {
    trace_id_bytes trace_id{};
    span_id_bytes parent_id{};
    std::uint8_t flags = 0;  ///< bit 0: sampled
    bool sampled() const noexcept { return (flags & 1) != 0; }
};

/// One `traceparent` value. Version 00 must be exactly 55 characters;
/// a higher version (not ff) may be longer if character 55 is '-', and its
/// first 55 characters are read as version 00 (section 3.2.4). Lower-case
/// hex only; an all-zero trace-id or parent-id is invalid.
std::optional<trace_parent> parse_traceparent(std::string_view value) noexcept;

/// `tracestate` header lines, which together form one list (section 3.3):
/// at most 32 list-members `key=value` with the spec's key and value
/// grammar, no key twice, empty members allowed. True when valid.
bool valid_tracestate(const std::string_view* lines, unsigned count) noexcept;

/// xoshiro256** (Blackman and Vigna, 2018): fast, non-blocking, one per I/O
/// thread, seeded once from std::random_device. Not for secrets.
class trace_id_generator {
public:
    trace_id_generator();
    explicit trace_id_generator(std::uint64_t seed) noexcept;
    std::uint64_t next() noexcept;
    /// A random, non-zero trace id (the spec's random trace-id flag holds).
    trace_id_bytes trace_id() noexcept;
    span_id_bytes span_id() noexcept;

private:
    std::uint64_t s_[4];
};

/// The OpenTelemetry samplers (OTEL_TRACES_SAMPLER names).
class trace_sampler {
public:
    trace_sampler(sampler_kind kind, double ratio) noexcept;
    /// Whether a request is recorded, given its parent (if any) and the
    /// trace id it will carry. Deterministic in the trace id, so every
    /// service with the same ratio agrees (TraceIdRatioBased: the low 8
    /// bytes, big-endian, compared with ratio * 2^64, as Go and Java do).
    bool sample(const trace_parent* parent, const trace_id_bytes& trace_id) const noexcept;
    /// True when no request can ever be recorded.
    bool always_off() const noexcept;

private:
    sampler_kind kind_;
    std::uint64_t bound_;  // trace ids whose low 63 bits are below it are sampled
    bool all_ = false;     // ratio 1
};

/// Lower-case hex of `n` bytes into `out` (2n characters, no terminator).
void to_hex(const std::uint8_t* bytes, std::size_t n, char* out) noexcept;

/// Appends the lower-case hex of `n` (at most 16) bytes.
void append_hex(std::string& out, const std::uint8_t* bytes, std::size_t n);

}  // namespace registry_redirector
