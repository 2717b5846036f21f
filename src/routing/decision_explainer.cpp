#include "registry_redirector/routing/decision_explainer.hpp"

#include <algorithm>

namespace registry_redirector {

std::string describe_needs(const ip_address& client, bool has_range) {
    return std::string(client.family == ip_family::v6 ? "IPv6 client" : "IPv4 client") +
           (has_range ? " with a Range header" : "");
}

decision_explanation explain_decision(const routing_table& table, std::string_view target, const ip_address& client,
                                      bool has_range) {
    decision_explanation e;
    e.decision = decide_route(table, target, client, has_range);
    const route_decision& d = e.decision;
    const routing_network& net = table.networks()[d.network];
    e.provider = table.providers()[net.provider].name;
    e.region = std::string(table.region_name(net.region));
    switch (d.what) {
        case decision_kind::redirect:
            e.location = render_url(*d.location, d.values);
            e.outcome = std::to_string(d.status) + " to " + e.location;
            break;
        case decision_kind::ok: e.outcome = "200 (ping)"; break;
        case decision_kind::not_found: e.outcome = "404"; break;
        case decision_kind::bad_request: e.outcome = "400 (an empty or dot segment in a /v2 path)"; break;
        case decision_kind::no_mirror: e.outcome = "503 (no mirror available)"; break;
    }
    // Candidates: only meaningful when a mirror is (or would be) selected.
    const bool selects = d.action == class_action_kind::mirror && d.what != decision_kind::bad_request;
    const unsigned caps = (client.family == ip_family::v6 ? caps_ipv6 : 0u) | (has_range ? caps_range : 0u);
    const auto tiers = table.tiers_for(d.network, caps);
    auto first_tier_of = [&](std::uint32_t m) -> int {
        for (const auto& t : tiers)
            if (std::find(t.mirrors, t.mirrors + t.count, m) != t.mirrors + t.count) return t.tier;
        return 0;
    };
    std::vector<std::uint32_t> providers{net.provider};
    if (net.provider != table.default_index()) providers.push_back(table.default_index());
    for (std::uint32_t p : providers) {
        for (std::uint32_t m : table.providers()[p].mirrors) {
            const routing_mirror& mm = table.mirrors()[m];
            candidate_mirror c;
            c.mirror = m;
            if (!selects) {
                c.verdict = "not considered: class " + std::string(to_label(d.klass)) + " is " + to_label(d.action);
            } else if ((caps & caps_ipv6) && !mm.ipv6) {
                c.verdict = "skipped: ipv6: false and the client is IPv6";
            } else if ((caps & caps_range) && !mm.ranges) {
                c.verdict = "skipped: ranges: false and the request has a Range header";
            } else if (m == d.mirror) {
                c.verdict = "chosen (tier " + std::to_string(d.tier) + (mm.weight ? "" : ", standby") + ")";
            } else {
                const int tier = first_tier_of(m);
                if (tier > d.tier)
                    c.verdict = "not reached: its first tier is " + std::to_string(tier) + ", tier " +
                                std::to_string(d.tier) + " already had a mirror";
                else if (mm.weight == 0)
                    c.verdict = "standby (weight 0) in tier " + std::to_string(tier);
                else
                    c.verdict = "lost the weighted rendezvous hash in tier " + std::to_string(tier);
            }
            e.candidates.push_back(std::move(c));
        }
    }
    return e;
}

}  // namespace registry_redirector
