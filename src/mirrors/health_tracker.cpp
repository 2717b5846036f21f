#include "registry_redirector/mirrors/health_tracker.hpp"

#include <algorithm>

namespace registry_redirector {

const char* to_label(probe_outcome o) noexcept {
    switch (o) {
        case probe_outcome::pass: return "pass";
        case probe_outcome::bad_status: return "bad_status";
        case probe_outcome::token_required: return "token_required";
        case probe_outcome::timeout: return "timeout";
        case probe_outcome::refused: return "refused";
        case probe_outcome::tls: return "tls";
        case probe_outcome::dns: return "dns";
        case probe_outcome::too_large: return "too_large";
        case probe_outcome::error: return "error";
    }
    return "error";
}

health_tracker::health_tracker(unsigned fall, unsigned rise, bool initial_up, clock::time_point now)
    : fall_(std::max(1u, fall)),
      rise_(std::max(1u, rise)),
      up_(initial_up),
      reason_(initial_up ? "initial state: up until proven down" : "initial state: down until it passes"),
      since_(now) {}

bool health_tracker::record(const probe_result& result, clock::time_point now) {
    ++probes_;
    last_ = result;
    if (result.passed()) {
        failures_ = 0;
        passes_ = std::min(passes_ + 1, rise_);  // saturate: only "enough" matters
        if (!up_ && passes_ >= rise_) {
            up_ = true;
            since_ = now;
            reason_ = "passed " + std::to_string(rise_) + " consecutive probes";
            return true;
        }
        return false;
    }
    passes_ = 0;
    failures_ = std::min(failures_ + 1, fall_);
    if (up_ && failures_ >= fall_) {
        up_ = false;
        since_ = now;
        reason_ = result.reason;
        return true;
    }
    if (!up_) reason_ = result.reason;  // down: show the latest cause
    return false;
}

}  // namespace registry_redirector
