#pragma once
/// `serve`: wires config, routing table, listeners, metrics, reload and
/// drain together.

#include <optional>
#include <string>

#include "registry_redirector/config/config.hpp"

namespace registry_redirector {

/// 1168945 -> "1,168,945", for logs and `check`.
std::string with_commas(std::size_t n);

/// Command-line values that win over the file, at start-up and at every
/// reload.
struct serve_overrides {
    std::optional<endpoint_config> listen;
    bool listen_off = false;  ///< --listen off
    std::optional<endpoint_config> tls_listen;
    std::optional<endpoint_config> admin_listen;
    std::optional<unsigned> threads;
    std::optional<std::string> log_level;

    void apply(server_config& config) const;
};

/// Runs until SIGTERM/SIGINT and a drain (exit 0), a second signal (exit 1)
/// or an initial configuration that cannot be loaded (throws config_error). SIGHUP and
/// changes under the watched folders reload the routing table.
int run_server(const std::string& config_path, const serve_overrides& overrides);

}  // namespace registry_redirector
