#pragma once
/// The admin port's mirror endpoints:
///   GET  /mirrors                    JSON, one entry per mirror
///   POST /mirrors/NAME/drain         take NAME out of rotation (runtime override)
///   POST /mirrors/NAME/undrain       put it back
/// Drain and undrain need `Authorization: Bearer <admin token>`; without an
/// admin token configured they are refused. GET stays open, like /metrics.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "registry_redirector/admin/admin_server.hpp"
#include "registry_redirector/mirrors/mirror_prober.hpp"

namespace registry_redirector {

/// What the config says of one mirror (the serving snapshot's view).
struct mirror_description {
    std::string name;
    std::string provider;
    std::vector<std::string> regions;  ///< empty = any region
    std::uint32_t weight = 100;
    std::uint64_t requests = 0;  ///< redirects sent to it since start
};

struct mirror_endpoint_sources {
    mirror_prober* prober = nullptr;
    std::function<std::vector<mirror_description>()> describe;
    /// The admin token (from admin_token_file), or nothing when none is set.
    std::function<std::optional<std::string>()> admin_token;
};

/// The route for admin_handlers::routes. Thread safety: called on the admin thread.
std::function<std::optional<admin_reply>(const admin_request&)> mirror_routes(mirror_endpoint_sources sources);

/// Constant-time comparison of a presented bearer token with the expected
/// one (both are hashed first, so neither content nor length leaks).
bool bearer_token_matches(std::string_view authorization, std::string_view expected);

}  // namespace registry_redirector
