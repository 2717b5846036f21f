#pragma once
/// The small enums a request's outcome is described by: where it was routed,
/// the status it got, and where the client address came from. They are the
/// decision's vocabulary and the metrics' label sets, so they sit below both
/// `telemetry` and `http`.

#include <cstddef>
#include <cstdint>

namespace registry_redirector {

/// Where the client address came from; also the metric label.
enum class client_ip_source : std::uint8_t {
    peer,
    proxy_protocol,
    x_real_ip,
    x_forwarded_for,
    forwarded,
    invalid_header,
    untrusted_header,
};
inline constexpr std::size_t client_ip_source_count = 7;
const char* to_label(client_ip_source s) noexcept;

enum class route : std::uint8_t { registry, artifacts, rejected };
inline constexpr std::size_t route_count = 3;
const char* to_label(route r) noexcept;

/// Status codes the redirect port can answer, as a dense index for metrics.
enum class status_code : std::uint8_t {
    found_302,
    bad_request_400,
    method_not_allowed_405,
    content_too_large_413,
    uri_too_long_414,
    header_fields_too_large_431,
    service_unavailable_503,
    version_not_supported_505,
    // OCI mode (routes): the configured redirect status, ping and 404.
    moved_301,
    see_other_303,
    temporary_307,
    permanent_308,
    ok_200,
    not_found_404,
};
inline constexpr std::size_t status_code_count = 14;

/// The redirect statuses, densely: 301, 302, 303, 307, 308.
inline constexpr std::size_t redirect_status_count = 5;

/// True for 301, 302, 303, 307, 308.
constexpr bool is_redirect(status_code s) noexcept {
    return s == status_code::found_302 || s == status_code::moved_301 || s == status_code::see_other_303 ||
           s == status_code::temporary_307 || s == status_code::permanent_308;
}

/// Dense index (0-4) of a redirect status; 1 (302) for anything else.
std::size_t redirect_index(status_code s) noexcept;
/// The redirect status for 301, 302, 303, 307 or 308 (302 otherwise).
status_code redirect_status(unsigned number) noexcept;
/// The redirect status of a dense index.
status_code redirect_status_at(std::size_t index) noexcept;

unsigned to_number(status_code s) noexcept;

/// Why a request did not go where it would have with every mirror up
/// (registry_redirector_failover_total{reason}).
enum class failover_reason : std::uint8_t {
    none,
    next_mirror,  ///< a down or drained mirror was passed over for the next one in selection order
    upstream,     ///< every eligible mirror was down: routes.upstream
    last_resort,  ///< every eligible mirror was down and no upstream: the default provider's, as if up
    blob_missing, ///< the chosen mirror lacked the blob (or its existence check failed): the next one
};
inline constexpr std::size_t failover_reason_count = 5;
const char* to_label(failover_reason r) noexcept;

}  // namespace registry_redirector
