#pragma once
/// Active health probes for every mirror that has a `probe`, on a thread and
/// io_context of their own (never an I/O thread), at most one probe in
/// flight per mirror. Results go through a health_tracker (fall/rise) and
/// flip bits of the published health_board; nothing is rebuilt. Also keeps
/// the operators' drain overrides, the per-mirror metrics, and the state
/// shown by the admin port's /mirrors.

#include <prometheus/collectable.h>
#include <prometheus/registry.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry_redirector/config/probe_config.hpp"
#include "registry_redirector/mirrors/blob_checker.hpp"
#include "registry_redirector/mirrors/health_tracker.hpp"
#include "registry_redirector/routing/blob_check.hpp"
#include "registry_redirector/routing/health_board.hpp"

namespace registry_redirector {

/// One mirror as the routing table numbers it (index = mirror id).
struct mirror_probe_target {
    std::string name;
    std::optional<probe_config> probe;
    std::optional<blob_check_config> check_blobs;
};

/// The per-mirror state published with a routing table (serving_snapshot).
struct mirror_state {
    std::shared_ptr<health_board> health;
    /// Index = mirror id; null for a mirror without check_blobs, empty when
    /// no mirror has it.
    std::vector<std::shared_ptr<const blob_check>> blob_checks;
};

/// What /mirrors shows of one mirror's health.
struct mirror_health_status {
    std::string name;
    bool probed = false;
    bool up = true;
    bool drained = false;
    std::string reason;
    std::chrono::system_clock::time_point since;
    unsigned last_status = 0;
    double last_latency_seconds = 0;
    std::string last_result;  ///< probe_outcome label, empty before the first probe
    unsigned consecutive_passes = 0;
    unsigned consecutive_failures = 0;
    std::uint64_t probes = 0;
};

/// Thread safety: every member function may be called from any thread.
class mirror_prober {
public:
    explicit mirror_prober(prometheus::Registry& registry);
    ~mirror_prober();
    mirror_prober(const mirror_prober&) = delete;
    mirror_prober& operator=(const mirror_prober&) = delete;

    /// Starts the probe thread. Probes of mirrors assigned before run now.
    void start();
    /// Stops probing and joins the thread (in-flight probes are abandoned).
    void stop();

    /// Sets the mirror list (start-up and every reload) and returns the state
    /// to publish with the routing table that numbers mirrors this way. A
    /// mirror whose name and probe are unchanged keeps its health state;
    /// a drain override is kept by name; a blob cache is kept while the
    /// mirror's name and check_blobs are unchanged. New mirrors start as
    /// their probe's `initial` says. Throws std::runtime_error when a
    /// probe's ca_file cannot be read (the reload is then rejected).
    mirror_state assign(const std::vector<mirror_probe_target>& mirrors);

    /// Sends the blob existence checks' HEADs, on the probe thread.
    blob_checker& blob_checks() noexcept;

    /// The blob existence checks' metrics, read at scrape time.
    const prometheus::Collectable& blob_check_metrics() const noexcept;

    /// The operators' emergency lever. False when no mirror has that name.
    bool set_drained(std::string_view name, bool drained);

    std::vector<mirror_health_status> statuses() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace registry_redirector
