#pragma once
/// The routing decision for one request: classify the path, locate the
/// client's network, select the mirror, pick the URL template. A pure,
/// noexcept, allocation-free function of its inputs; the HTTP handler,
/// `lookup` and /debug/route all call it.

#include <cstdint>
#include <string_view>

#include "registry_redirector/routing/path_classifier.hpp"
#include "registry_redirector/routing/request_outcome.hpp"
#include "registry_redirector/routing/routing_table.hpp"

namespace registry_redirector {

enum class decision_kind : std::uint8_t {
    redirect,     ///< to `location` rendered with `values`
    ok,           ///< 200 (ping with action ok)
    not_found,    ///< 404
    bad_request,  ///< 400: an empty or dot segment in a /v2 path (OCI mode)
    no_mirror,    ///< every eligible mirror skipped: 503
};

struct route_decision {
    decision_kind what = decision_kind::redirect;
    bool oci = false;                 ///< routes configured
    path_class klass = path_class::artifact;
    class_action_kind action = class_action_kind::mirror;
    route kind = route::artifacts;    ///< registry for /v2 paths (metrics, access log)
    unsigned status = 302;            ///< of a redirect
    std::uint32_t network = 0;        ///< the client's (provider, region)
    std::uint32_t provider = 0;       ///< whose mirror answers, else the client's serving provider
    std::uint32_t mirror = no_mirror;
    std::uint8_t tier = 0;            ///< 1-6, for a mirror
    const url_template* location = nullptr;
    template_values values;
    std::string_view cache_control;   ///< empty: none
};

/// Decides for an origin-form `target` (already checked safe) from
/// `client`, with or without a Range header. `skip(mirror)` leaves mirrors
/// out (health). noexcept, allocation-free.
template <class Skip>
route_decision decide_route(const routing_table& table, std::string_view target, const ip_address& client,
                            bool has_range, Skip&& skip) noexcept {
    route_decision d;
    d.network = table.network_for(client);
    const routing_network& net = table.networks()[d.network];
    d.provider = net.provider;
    const path_info info = classify_path(target);
    d.klass = info.klass;
    d.kind = info.klass == path_class::root || info.klass == path_class::artifact ? route::artifacts : route::registry;
    d.values = {target, info.v2_path, info.repository, info.digest, table.region_name(net.region)};
    const auto& routes = table.routes();
    if (routes) {
        d.oci = true;
        d.status = routes->status;
        d.cache_control = routes->cache_control[static_cast<std::size_t>(info.klass)];
        if (info.bad) {
            d.what = decision_kind::bad_request;
            return d;
        }
        for (const fixed_route& f : routes->fixed)
            if (info.path.substr(0, f.prefix.size()) == f.prefix) {
                if (f.not_found) {
                    d.action = class_action_kind::not_found;
                    d.what = decision_kind::not_found;
                    return d;
                }
                d.action = class_action_kind::fixed;
                d.location = &f.url;
                return d;
            }
        const class_action& a = routes->classes[static_cast<std::size_t>(info.klass)];
        d.action = a.kind;
        switch (a.kind) {
            case class_action_kind::ok: d.what = decision_kind::ok; return d;
            case class_action_kind::not_found: d.what = decision_kind::not_found; return d;
            case class_action_kind::fixed: d.location = &a.fixed; return d;
            case class_action_kind::upstream: d.location = &*routes->upstream; return d;
            case class_action_kind::mirror: break;
        }
    }
    const unsigned caps = (client.family == ip_family::v6 ? caps_ipv6 : 0u) | (has_range ? caps_range : 0u);
    const mirror_choice choice = table.select_mirror(d.network, caps, client_network_key(client), skip);
    if (choice.mirror == no_mirror) {
        d.what = decision_kind::no_mirror;
        return d;
    }
    d.mirror = choice.mirror;
    d.tier = choice.tier;
    const routing_mirror& m = table.mirrors()[choice.mirror];
    d.provider = m.provider;
    d.location = info.klass == path_class::blob ? &m.blobs : d.kind == route::registry ? &m.registry : &m.artifacts;
    return d;
}

inline route_decision decide_route(const routing_table& table, std::string_view target, const ip_address& client,
                                   bool has_range) noexcept {
    return decide_route(table, target, client, has_range, [](std::uint32_t) noexcept { return false; });
}

}  // namespace registry_redirector
