#pragma once
/// One active probe of a mirror: an HTTP or HTTPS GET/HEAD with a deadline,
/// a cap on the body read, optional redirects (at most 3), certificate and
/// host name verification (system store or the probe's ca_file) and SNI.
/// Runs on the caller's io_context (the prober's own thread, never an I/O
/// thread) and reports a probe_result; it never throws.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "registry_redirector/config/probe_config.hpp"
#include "registry_redirector/mirrors/health_tracker.hpp"

namespace registry_redirector {

struct mirror_url {
    bool https = false;
    std::string host;  ///< a name or a numeric address, without brackets
    std::uint16_t port = 0;
    std::string target = "/";  ///< path and query
};

/// Parses an absolute http:// or https:// URL (no user info, no fragment).
std::optional<mirror_url> parse_mirror_url(std::string_view text);

/// The TLS client context a probe verifies with: peer verification on, the
/// system trust store or only `ca_file`. Throws std::runtime_error naming
/// the file when it cannot be read.
std::shared_ptr<boost::asio::ssl::context> make_probe_tls_context(const std::string& ca_file);

/// Starts one probe; `done` runs on `context`'s thread exactly once.
/// `tls` is used for https URLs (make_probe_tls_context).
void start_probe(boost::asio::io_context& context, const probe_config& config,
                 std::shared_ptr<boost::asio::ssl::context> tls, std::function<void(probe_result)> done);

}  // namespace registry_redirector
