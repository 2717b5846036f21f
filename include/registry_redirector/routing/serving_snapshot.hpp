#pragma once
/// Everything one request reads, as one immutable snapshot.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "registry_redirector/config/client_ip_policy.hpp"
#include "registry_redirector/routing/blob_check.hpp"
#include "registry_redirector/routing/health_board.hpp"
#include "registry_redirector/routing/routing_table.hpp"

namespace registry_redirector {

/// Published whole through snapshot_store; never modified after publish.
struct serving_snapshot {
    routing_table routes;
    client_ip_policy client_policy;
    /// Metric slot of each provider (index as in routes.providers()).
    std::vector<std::uint16_t> metric_slots;
    std::uint64_t generation = 0;
    /// Metric slot of each mirror (index as in routes.mirrors()); may be
    /// empty (tests), then mirrors are not counted.
    std::vector<std::uint16_t> mirror_slots;
    /// Up/down/drained per mirror (index as in routes.mirrors()), flipped by
    /// the probes without a rebuild. Null: every mirror is up (tests, CLI).
    std::shared_ptr<health_board> health;
    /// Per mirror (index as in routes.mirrors()): its blob existence check,
    /// null for a mirror without check_blobs. Empty: no mirror checks.
    std::vector<std::shared_ptr<const blob_check>> blob_checks;
};

}  // namespace registry_redirector
