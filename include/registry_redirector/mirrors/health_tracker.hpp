#pragma once
/// One mirror's health with hysteresis: `fall` consecutive failed probes
/// take it down, `rise` consecutive passes bring it back, and it starts up
/// unless told otherwise (a restart or a reload must not empty the pool).
/// Pure state: the prober feeds it results, tests feed it by hand.

#include <chrono>
#include <cstdint>
#include <string>

namespace registry_redirector {

/// What one probe found; also the `result` label of mirror_probes_total.
enum class probe_outcome : std::uint8_t {
    pass,
    bad_status,      ///< a status outside `expect`
    token_required,  ///< 401 with a Bearer challenge: anonymous pulls would fail
    timeout,
    refused,         ///< connection refused or reset
    tls,             ///< handshake or certificate verification failed
    dns,             ///< the host name did not resolve
    too_large,       ///< the response header exceeded our limit
    error,           ///< anything else (malformed response, ...)
};
inline constexpr std::size_t probe_outcome_count = 9;
const char* to_label(probe_outcome o) noexcept;

struct probe_result {
    probe_outcome outcome = probe_outcome::error;
    unsigned status = 0;                 ///< the last HTTP status seen, 0 if none
    std::chrono::nanoseconds latency{};  ///< start to verdict
    std::string reason;                  ///< for logs and /mirrors: "status 503", "timeout after 2000 ms", ...
    bool passed() const noexcept { return outcome == probe_outcome::pass; }
};

/// Thread safety: none; one owner (the probe thread, or a test).
class health_tracker {
public:
    using clock = std::chrono::system_clock;

    health_tracker(unsigned fall, unsigned rise, bool initial_up, clock::time_point now);

    /// Applies one probe result. Returns true when the state flipped.
    bool record(const probe_result& result, clock::time_point now);

    bool up() const noexcept { return up_; }
    unsigned consecutive_passes() const noexcept { return passes_; }
    unsigned consecutive_failures() const noexcept { return failures_; }
    /// Why the mirror is in its state: the failure that took it down, or the passes that brought it up.
    const std::string& reason() const noexcept { return reason_; }
    clock::time_point since() const noexcept { return since_; }
    /// The latest probe, whatever its effect.
    const probe_result& last() const noexcept { return last_; }
    std::uint64_t probes() const noexcept { return probes_; }

private:
    unsigned fall_;
    unsigned rise_;
    bool up_;
    unsigned passes_ = 0;
    unsigned failures_ = 0;
    std::string reason_;
    clock::time_point since_;
    probe_result last_;
    std::uint64_t probes_ = 0;
};

}  // namespace registry_redirector
