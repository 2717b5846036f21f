#pragma once
/// Why a request goes where it goes: the decision of decide_route with every
/// candidate mirror and the reason each was or was not chosen. For `lookup`
/// and the admin /debug/route endpoint (control plane: allocates freely).

#include <string>
#include <string_view>
#include <vector>

#include "registry_redirector/routing/route_decision.hpp"

namespace registry_redirector {

struct candidate_mirror {
    std::uint32_t mirror = no_mirror;
    std::string verdict;  ///< "chosen", or why not
};

struct decision_explanation {
    route_decision decision;
    std::string provider;   ///< whose mirrors serve the client's network
    std::string region;     ///< empty: none
    std::string location;   ///< of a redirect
    std::vector<candidate_mirror> candidates;  ///< the serving provider's mirrors, then the default's
    std::string outcome;    ///< e.g. "307 to ...", "200 (ping)", "404"
};

/// Explains the decision for (`target`, `client`, Range header or not).
/// `target` must be origin-form ("/..."). Thread safety: reads `table` only.
decision_explanation explain_decision(const routing_table& table, std::string_view target, const ip_address& client,
                                      bool has_range);

/// "ipv4"/"ipv6" + " with Range", for texts.
std::string describe_needs(const ip_address& client, bool has_range);

}  // namespace registry_redirector
