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
};
inline constexpr std::size_t status_code_count = 8;
unsigned to_number(status_code s) noexcept;

}  // namespace registry_redirector
