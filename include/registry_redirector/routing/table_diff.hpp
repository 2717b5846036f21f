#pragma once
/// `registry-redirector diff`: what a data or config change does to the
/// answers, per provider and region, before it lands.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "registry_redirector/config/config.hpp"
#include "registry_redirector/data/prefix_table.hpp"
#include "registry_redirector/net/ip_prefix.hpp"
#include "registry_redirector/routing/routing_table.hpp"

namespace registry_redirector {

/// One side of a diff: providers (file-name order), default, rows and the
/// cloud range files that label prefixes with regions.
struct diff_side {
    std::vector<provider_config> providers;
    std::string default_provider;
    origin_table origins;
    std::vector<labelled_source> clouds;
};

/// Per (provider, region): prefixes whose (owner, region) became / stopped
/// being it, and addresses gained and lost, as /24 (IPv4) and /48 (IPv6)
/// equivalents. An empty region is the provider's addresses without one.
struct provider_delta {
    std::string provider;
    std::string region;
    std::uint64_t prefixes_gained = 0;
    std::uint64_t prefixes_lost = 0;
    double v4_gained = 0, v4_lost = 0;  ///< in /24s
    double v6_gained = 0, v6_lost = 0;  ///< in /48s
};

/// What an address is answered with on one side.
struct diff_answer {
    std::string provider;  ///< owner of its prefix, "none" for no provider
    std::string region;    ///< the client region, empty for none
    std::string redirect;  ///< the provider whose mirrors serve it
    friend auto operator<=>(const diff_answer&, const diff_answer&) = default;
};

/// "provider/region", or "provider" without a region.
std::string label(const diff_answer& a);

/// Addresses whose answer changes, grouped by the prefix that decided them
/// before and after.
struct address_move {
    std::optional<ip_prefix> old_prefix, new_prefix;
    std::vector<std::uint32_t> old_origins, new_origins;
    diff_answer from, to;
    bool v6 = false;
    double size = 0;  ///< /24s or /48s
};

struct table_diff {
    /// Every provider of either side without a region, and each (provider,
    /// region) with a change; by provider, then region.
    std::vector<provider_delta> providers;
    std::vector<address_move> moves;    ///< largest first
    double v4_moved = 0, v6_moved = 0;  ///< /24s and /48s answered differently
    std::uint64_t prefixes_changed = 0;  ///< prefixes whose (owner, region) differs
    /// True when some address changes provider, region or redirect target:
    /// `diff` exits 1.
    bool answers_changed = false;
};

/// Compares every address of both families: the address space is cut at every
/// resolved prefix boundary of either side, and each piece is explained on
/// both sides (route_explainer). Cost: about one lookup per row of both
/// tables. Throws config_error as build_routing_table does. Thread-safe (no
/// shared state).
table_diff diff_tables(const diff_side& before, const diff_side& after);

/// For a pull-request comment: a per (provider, region) table, the largest
/// `max_moves` moves, totals.
std::string diff_text(const table_diff& d, std::size_t max_moves = 25);
/// The same as one JSON object.
std::string diff_json(const table_diff& d, std::size_t max_moves = 1000);

}  // namespace registry_redirector
