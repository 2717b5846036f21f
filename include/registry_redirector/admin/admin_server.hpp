#pragma once
/// The admin listener: /healthz, /readyz and /metrics, on its own thread so
/// that a slow scrape never delays a redirect.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registry_redirector/config/config.hpp"

namespace registry_redirector {

/// A request to the admin port, as the extra routes see it.
struct admin_request {
    std::string_view method;         ///< "GET", "HEAD", "POST", ...
    std::string_view path;           ///< without the query
    std::string_view query;          ///< after '?', may be empty
    std::string_view authorization;  ///< the Authorization header, empty if none
    std::string caller;              ///< the peer address, for logs
};

struct admin_reply {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

struct admin_handlers {
    std::function<bool()> ready;                ///< /readyz: 200 when true, else 503
    std::function<std::string()> metrics_text;  ///< /metrics body (Prometheus text format)
    /// Further endpoints (/mirrors, ...), tried before the 404. Nothing = not
    /// this route. May be empty.
    std::vector<std::function<std::optional<admin_reply>(const admin_request&)>> routes;
    /// /debug/route: (status, JSON body) for the query string; unset = 404.
    std::function<std::pair<unsigned, std::string>(std::string_view query)> debug_route;
};

/// Thread safety: construct, start and stop from one thread; the handlers are
/// called on the admin thread.
class admin_server {
public:
    /// Binds (throws listen_error, "cannot listen on ADDR:PORT (admin port): REASON").
    admin_server(const endpoint_config& listen, admin_handlers handlers);
    ~admin_server();
    unsigned short port() const noexcept;
    void start();
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace registry_redirector
