#pragma once
/// GET /debug/route?ip=IP&path=PATH[&range=1] on the admin port: the routing
/// decision for that client and path, explained, as JSON (Boost.JSON).

#include <string>
#include <string_view>

#include "registry_redirector/routing/serving_snapshot.hpp"

namespace registry_redirector {

struct debug_route_answer {
    unsigned status = 200;  ///< 400 for a bad query, 503 before the first table
    std::string json;
};

/// Answers for the query string (without '?'). `snapshot` may be null.
/// Thread safety: reads the snapshot only.
debug_route_answer debug_route(const serving_snapshot* snapshot, std::string_view query);

}  // namespace registry_redirector
