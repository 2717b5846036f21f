#include "registry_redirector/http/request_handler.hpp"

namespace registry_redirector {

namespace {

/// The path and query to append to "https://host": origin-form as it came,
/// or the path-and-query part of an absolute-form target ("http://h/p?q",
/// which RFC 9112 section 3.2.2 says a server must accept). Empty when the
/// target is neither (authority-form, asterisk-form, garbage).
std::string_view origin_form(std::string_view target) noexcept {
    if (!target.empty() && target.front() == '/') return target;
    auto has_scheme = [&](std::string_view scheme) {
        if (target.size() < scheme.size()) return false;
        for (std::size_t i = 0; i < scheme.size(); ++i)
            if ((target[i] | 0x20) != scheme[i] && target[i] != scheme[i]) return false;
        return true;
    };
    std::size_t authority = 0;
    if (has_scheme("http://")) authority = 7;
    else if (has_scheme("https://")) authority = 8;
    else return {};
    const std::size_t path = target.find_first_of("/?#", authority);
    if (path == authority) return {};  // no host
    if (path == std::string_view::npos || target[path] != '/') return {};  // "http://h" or "http://h?q": no path to keep
    return target.substr(path);
}

/// Nothing that could end the Location line or the header: every byte must
/// be visible ASCII or above (the parser already refuses most of these; this
/// keeps the rule next to the code that copies the target).
bool safe_target(std::string_view target) noexcept {
    for (char c : target) {
        const auto b = static_cast<unsigned char>(c);
        if (b <= 0x20 || b == 0x7f) return false;
    }
    return true;
}

std::string_view status_line(status_code s) noexcept {
    switch (s) {
        case status_code::found_302: return "HTTP/1.1 302 Found\r\n";
        case status_code::bad_request_400: return "HTTP/1.1 400 Bad Request\r\n";
        case status_code::method_not_allowed_405: return "HTTP/1.1 405 Method Not Allowed\r\n";
        case status_code::content_too_large_413: return "HTTP/1.1 413 Content Too Large\r\n";
        case status_code::uri_too_long_414: return "HTTP/1.1 414 URI Too Long\r\n";
        case status_code::header_fields_too_large_431: return "HTTP/1.1 431 Request Header Fields Too Large\r\n";
        case status_code::service_unavailable_503: return "HTTP/1.1 503 Service Unavailable\r\n";
        case status_code::version_not_supported_505: return "HTTP/1.1 505 HTTP Version Not Supported\r\n";
        case status_code::moved_301: return "HTTP/1.1 301 Moved Permanently\r\n";
        case status_code::see_other_303: return "HTTP/1.1 303 See Other\r\n";
        case status_code::temporary_307: return "HTTP/1.1 307 Temporary Redirect\r\n";
        case status_code::permanent_308: return "HTTP/1.1 308 Permanent Redirect\r\n";
        case status_code::ok_200: return "HTTP/1.1 200 OK\r\n";
        case status_code::not_found_404: return "HTTP/1.1 404 Not Found\r\n";
    }
    return "HTTP/1.1 500 Internal Server Error\r\n";
}

std::string_view error_body(status_code s) noexcept {
    switch (s) {
        case status_code::found_302: return "";
        case status_code::bad_request_400: return "Bad request.\n";
        case status_code::method_not_allowed_405: return "Only GET and HEAD are allowed.\n";
        case status_code::content_too_large_413: return "Requests must not have a body.\n";
        case status_code::uri_too_long_414: return "Request target too long.\n";
        case status_code::header_fields_too_large_431: return "Request header too large.\n";
        case status_code::service_unavailable_503: return "Routing table not loaded yet; retry shortly.\n";
        case status_code::version_not_supported_505: return "Only HTTP/1.0 and HTTP/1.1 are supported.\n";
        case status_code::moved_301:
        case status_code::see_other_303:
        case status_code::temporary_307:
        case status_code::permanent_308:
        case status_code::ok_200: return "";
        case status_code::not_found_404: return "404 page not found\n";
    }
    return "";
}

/// The body of a non-redirect answer.
std::string_view body_of(const response_plan& plan) noexcept {
    // A 503 after the table loaded means every eligible mirror was left out.
    if (plan.status == status_code::service_unavailable_503 && plan.kind != route::rejected)
        return "No mirror is available; retry shortly.\n";
    return error_body(plan.status);
}

}  // namespace

response_plan reject(status_code status) noexcept {
    response_plan p;
    p.status = status;
    p.kind = route::rejected;
    p.close = true;
    return p;
}

namespace {

/// decide_route with the mirrors that are down or drained left out, in the
/// same selection order (README "Mirror health"). When that leaves no
/// mirror it never fails closed: routes.upstream if configured, else the
/// default provider's mirrors chosen as if all were up. `failover` says
/// whether health changed the answer.
route_decision decide_with_health(const routing_table& routes, const health_board* health, std::string_view target,
                                  const ip_address& client, bool has_range, std::span<const std::uint32_t> excluded,
                                  failover_reason& failover) noexcept {
    failover = failover_reason::none;
    if ((health == nullptr || health->all_usable()) && excluded.empty())
        return decide_route(routes, target, client, has_range);
    route_decision d = decide_route(routes, target, client, has_range, [health, excluded](std::uint32_t m) noexcept {
        if (health != nullptr && !health->usable(m)) return true;
        for (const std::uint32_t e : excluded)
            if (e == m) return true;
        return false;
    });
    if (d.what == decision_kind::redirect && d.mirror != no_mirror) {
        if (!excluded.empty()) {
            failover = failover_reason::blob_missing;
        } else {
            const route_decision blind = decide_route(routes, target, client, has_range);
            if (blind.mirror != d.mirror) failover = failover_reason::next_mirror;
        }
        return d;
    }
    if (d.what != decision_kind::no_mirror) return d;
    if (routes.routes() && routes.routes()->upstream) {
        failover = failover_reason::upstream;
        d.what = decision_kind::redirect;
        d.action = class_action_kind::upstream;
        d.location = &*routes.routes()->upstream;
        return d;
    }
    failover = failover_reason::last_resort;
    const unsigned caps = (client.family == ip_family::v6 ? caps_ipv6 : 0u) | (has_range ? caps_range : 0u);
    mirror_choice choice = routes.select_mirror(routes.default_index(), caps, client_network_key(client));
    if (choice.mirror == no_mirror) choice = routes.select_mirror(routes.default_index(), 0, client_network_key(client));
    if (choice.mirror == no_mirror) return d;  // no mirror of the default at all: nothing to fall back to (503)
    const routing_mirror& m = routes.mirrors()[choice.mirror];
    d.what = decision_kind::redirect;
    d.mirror = choice.mirror;
    d.tier = choice.tier;
    d.provider = m.provider;
    d.location = d.klass == path_class::blob ? &m.blobs : d.kind == route::registry ? &m.registry : &m.artifacts;
    return d;
}

}  // namespace

response_plan handle_request(const request_view& request, const ip_address& peer, const serving_snapshot* snapshot,
                             client_ip_source peer_source, std::span<const std::uint32_t> excluded) noexcept {
    response_plan p;
    p.close = !request.keep_alive;
    p.client = peer;
    if (request.version < 10 || request.version >= 20) {
        p = reject(status_code::version_not_supported_505);
        p.client = peer;
        return p;
    }
    const bool head = request.method == "HEAD";
    if (!head && request.method != "GET") {
        p.status = status_code::method_not_allowed_405;
        // An unread body would be parsed as the next request: close instead.
        p.close = p.close || request.has_body;
        return p;
    }
    const std::string_view target = origin_form(request.target);
    if (request.has_body || target.empty() || !safe_target(target)) {
        p = reject(request.has_body ? status_code::content_too_large_413 : status_code::bad_request_400);
        p.client = peer;
        return p;
    }
    p.target = target;
    if (snapshot == nullptr) {
        p.status = status_code::service_unavailable_503;
        return p;
    }
    const client_ip client = resolve_client_ip(peer, request.proxy, snapshot->client_policy, peer_source);
    p.source = client.source;
    p.client = client.address;
    const routing_table& routes = snapshot->routes;
    const route_decision d = decide_with_health(routes, snapshot->health.get(), target, client.address,
                                                request.has_range, excluded, p.failover);
    p.provider = d.provider;
    p.kind = d.kind;
    p.oci = d.oci;
    p.klass = d.klass;
    p.action = d.action;
    p.cache_control = d.cache_control;
    p.mirror = d.mirror;
    switch (d.what) {
        case decision_kind::redirect: break;
        case decision_kind::ok: p.status = status_code::ok_200; return p;
        case decision_kind::not_found: p.status = status_code::not_found_404; return p;
        case decision_kind::bad_request: p.status = status_code::bad_request_400; return p;
        case decision_kind::no_mirror: p.status = status_code::service_unavailable_503; return p;
    }
    p.status = redirect_status(d.status);
    p.location = d.location;
    p.values = d.values;
    if (d.mirror != no_mirror) {
        const routing_mirror& m = routes.mirrors()[d.mirror];
        if (m.from_redirects_to) {
            const redirect_target& hosts = *routes.providers()[m.provider].redirects_to;
            p.host = d.kind == route::registry ? std::string_view(hosts.registry) : std::string_view(hosts.artifacts);
        }
        p.reason_mirror = m.name;
    }
    if (routes.explain_header()) {
        p.explain = true;
        p.reason_provider = routes.providers()[d.provider].name;
    }
    return p;
}

const blob_check* blob_check_for(const response_plan& plan, const serving_snapshot& snapshot,
                                 std::span<const std::uint32_t> excluded) noexcept {
    if (plan.klass != path_class::blob || plan.mirror >= snapshot.blob_checks.size() || !is_redirect(plan.status))
        return nullptr;
    for (const std::uint32_t e : excluded)
        if (e == plan.mirror) return nullptr;  // the last resort, sent as if the blob were there
    return snapshot.blob_checks[plan.mirror].get();
}

const blob_check* settle_blob_check(response_plan& plan, const request_view& request, const ip_address& peer,
                                    const serving_snapshot& snapshot, client_ip_source peer_source,
                                    std::vector<std::uint32_t>& excluded, std::string& url,
                                    blob_existence_cache::clock::time_point now) {
    for (;;) {
        const blob_check* check = blob_check_for(plan, snapshot, excluded);
        if (check == nullptr) return nullptr;
        url.clear();
        render_url(*plan.location, plan.values, url);
        switch (check->cache->find(url, now)) {
            case blob_verdict::exists: plan.rendered_location = url; return nullptr;
            case blob_verdict::unknown: return check;
            case blob_verdict::missing: break;
        }
        excluded.push_back(plan.mirror);
        plan = handle_request(request, peer, &snapshot, peer_source, excluded);
    }
}

void write_response(const response_plan& plan, const request_view& request, std::string_view date,
                    std::string& out) {
    out += status_line(plan.status);
    if (!plan.cache_control.empty() && plan.status != status_code::bad_request_400 &&
        plan.status != status_code::service_unavailable_503) {
        out += "Cache-Control: ";
        out += plan.cache_control;
        out += "\r\n";
    }
    if (is_redirect(plan.status) && plan.location != nullptr) {
        // Rendered straight into the response: templates were validated at
        // load and the values come from the checked target and region
        // labels, so no byte can end the line.
        out += "Location: ";
        const std::size_t url_start = out.size();
        if (plan.rendered_location.empty())
            render_url(*plan.location, plan.values, out);
        else
            out += plan.rendered_location;
        if (!plan.request_id.empty()) {  // location_request_id: join the mirror's logs with ours
            out += out.find('?', url_start) == std::string::npos ? "?rid=" : "&rid=";
            out += plan.request_id;
        }
        out += "\r\nContent-Length: 0\r\n";
        if (plan.explain) {
            out += "X-Redirect-Reason: provider=";
            out += plan.reason_provider;
            out += "; region=";
            out += plan.values.region.empty() ? std::string_view("-") : plan.values.region;
            out += "; mirror=";
            out += plan.reason_mirror.empty() ? std::string_view("-") : plan.reason_mirror;
            out += "; class=";
            out += plan.oci ? to_label(plan.klass) : to_label(plan.kind);
            out += "\r\n";
        }
    } else if (plan.status == status_code::ok_200) {
        // The OCI "API version check" (distribution-spec, GET /v2/).
        out += "Docker-Distribution-Api-Version: registry/2.0\r\nContent-Length: 0\r\n";
    } else {
        const std::string_view body = body_of(plan);
        if (plan.status == status_code::method_not_allowed_405) out += "Allow: GET, HEAD\r\n";
        if (plan.status == status_code::service_unavailable_503) out += "Retry-After: 1\r\n";
        out += "Content-Type: text/plain; charset=utf-8\r\nContent-Length: ";
        char digits[8];
        std::size_t n = body.size(), len = 0;
        do {
            digits[len++] = static_cast<char>('0' + n % 10);
            n /= 10;
        } while (n);
        while (len) out += digits[--len];
        out += "\r\n";
    }
    out += "Date: ";
    out += date;
    out += "\r\n";
    if (plan.close)
        out += "Connection: close\r\n";
    else if (request.version == 10)
        out += "Connection: keep-alive\r\n";
    out += "\r\n";
    const bool head = request.method == "HEAD";
    if (!head) out += body_of(plan);
}

}  // namespace registry_redirector
