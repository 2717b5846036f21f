#include "registry_redirector/routing/request_outcome.hpp"

namespace registry_redirector {

const char* to_label(client_ip_source s) noexcept {
    switch (s) {
        case client_ip_source::peer: return "peer";
        case client_ip_source::proxy_protocol: return "proxy_protocol";
        case client_ip_source::x_real_ip: return "x_real_ip";
        case client_ip_source::x_forwarded_for: return "x_forwarded_for";
        case client_ip_source::forwarded: return "forwarded";
        case client_ip_source::invalid_header: return "invalid_header";
        case client_ip_source::untrusted_header: return "untrusted_header";
    }
    return "peer";
}

const char* to_label(route r) noexcept {
    switch (r) {
        case route::registry: return "registry";
        case route::artifacts: return "artifacts";
        case route::rejected: return "rejected";
    }
    return "rejected";
}

unsigned to_number(status_code s) noexcept {
    switch (s) {
        case status_code::found_302: return 302;
        case status_code::bad_request_400: return 400;
        case status_code::method_not_allowed_405: return 405;
        case status_code::content_too_large_413: return 413;
        case status_code::uri_too_long_414: return 414;
        case status_code::header_fields_too_large_431: return 431;
        case status_code::service_unavailable_503: return 503;
        case status_code::version_not_supported_505: return 505;
        case status_code::moved_301: return 301;
        case status_code::see_other_303: return 303;
        case status_code::temporary_307: return 307;
        case status_code::permanent_308: return 308;
        case status_code::ok_200: return 200;
        case status_code::not_found_404: return 404;
    }
    return 500;
}

namespace {
constexpr status_code redirects[redirect_status_count] = {status_code::moved_301, status_code::found_302,
                                                          status_code::see_other_303, status_code::temporary_307,
                                                          status_code::permanent_308};
}  // namespace

std::size_t redirect_index(status_code s) noexcept {
    for (std::size_t i = 0; i < redirect_status_count; ++i)
        if (redirects[i] == s) return i;
    return 1;
}

status_code redirect_status(unsigned number) noexcept {
    for (status_code s : redirects)
        if (to_number(s) == number) return s;
    return status_code::found_302;
}

status_code redirect_status_at(std::size_t index) noexcept {
    return index < redirect_status_count ? redirects[index] : status_code::found_302;
}

const char* to_label(failover_reason r) noexcept {
    switch (r) {
        case failover_reason::none: return "none";
        case failover_reason::next_mirror: return "next_mirror";
        case failover_reason::upstream: return "upstream";
        case failover_reason::last_resort: return "last_resort";
        case failover_reason::blob_missing: return "blob_missing";
    }
    return "none";
}

}  // namespace registry_redirector
