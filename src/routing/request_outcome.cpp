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
    }
    return 500;
}

}  // namespace registry_redirector
