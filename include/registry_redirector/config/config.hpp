#pragma once
/// The main configuration file and the provider files, as validated values.
/// Knows YAML and files; nothing of sockets or tries.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "registry_redirector/config/client_ip_policy.hpp"
#include "registry_redirector/config/otel_config.hpp"
#include "registry_redirector/config/probe_config.hpp"
#include "registry_redirector/config/url_template.hpp"
#include "registry_redirector/data/cloud_ranges.hpp"
#include "registry_redirector/data/mrt_resolve.hpp"
#include "registry_redirector/net/ip_prefix.hpp"

namespace registry_redirector {

struct endpoint_config {
    std::string host;         ///< numeric address, no brackets
    std::uint16_t port = 0;
};

/// Per-connection limits of the redirect listener.
struct connection_limits {
    std::size_t max_connections = 10'000;
    std::chrono::milliseconds header_timeout{5'000};   ///< first byte of a request -> full header
    std::chrono::milliseconds idle_timeout{75'000};    ///< keep-alive wait for the next request
    std::chrono::milliseconds write_timeout{10'000};
    std::size_t max_requests_per_connection = 10'000;  ///< 0 = unlimited
    std::size_t max_header_bytes = 8'192;
    std::size_t max_header_fields = 100;
};

enum class access_log_format : std::uint8_t { off, json, text };

/// PROXY protocol (v1 and v2) on the redirect listener.
enum class proxy_protocol_mode : std::uint8_t {
    off,       ///< never parsed: a PROXY line is a bad HTTP request
    optional,  ///< parsed when a trusted peer sends one
    required,  ///< every connection must start with one, from a trusted peer
};

/// TLS on the redirect port (`tls_listen`). Paths are resolved against the
/// config file's folder; empty strings mean "the built-in default" for the
/// cipher lists and "none" for the ticket key file.
struct tls_config {
    std::string certificate;              ///< PEM: the leaf first, then its chain
    std::string private_key;              ///< PEM, unencrypted
    std::string ciphers;                  ///< TLS 1.2 cipher list (OpenSSL syntax)
    std::string ciphersuites;             ///< TLS 1.3 cipher suites (OpenSSL syntax)
    std::string session_ticket_key_file;  ///< 80 bytes shared by all replicas
    bool operator==(const tls_config&) const = default;
};

/// A cloud's published range file: each prefix becomes the provider's, with
/// a region label (README "Mirrors and routes").
struct cloud_range_source {
    std::string provider;
    cloud_format format = cloud_format::aws;
    std::string file;  ///< resolved against the config file's folder
    int line = 0;      ///< of the entry in the main config, for errors
};

/// OCI path classes (distribution-spec "Endpoints"), in `routes.classes`.
enum class path_class : std::uint8_t { ping, blob, manifest, other_v2, root, artifact };
inline constexpr std::size_t path_class_count = 6;
/// "ping", "blob", "manifest", "other_v2", "root", "artifact".
const char* to_label(path_class c) noexcept;

enum class class_action_kind : std::uint8_t {
    mirror,     ///< the selected mirror (blobs, registry or artifacts template)
    upstream,   ///< routes.upstream
    ok,         ///< 200 + Docker-Distribution-Api-Version (ping only)
    not_found,  ///< 404
    fixed,      ///< a fixed URL
};
inline constexpr std::size_t class_action_count = 5;
const char* to_label(class_action_kind a) noexcept;

struct class_action {
    class_action_kind kind = class_action_kind::mirror;
    url_template fixed;  ///< for kind == fixed
};

/// `routes.fixed`: a request whose path starts with `prefix` goes to `url`
/// (or gets a 404, for the value `not_found`).
struct fixed_route {
    std::string prefix;
    url_template url;
    bool not_found = false;
};

/// `routes`: present = OCI mode (every GET/HEAD is classified).
struct route_config {
    unsigned status = 302;  ///< 301, 302, 303, 307 or 308
    std::optional<url_template> upstream;
    std::array<class_action, path_class_count> classes{};
    std::vector<fixed_route> fixed;  ///< longest prefix first
    std::array<std::string, path_class_count> cache_control{};  ///< empty = no header
};

struct server_config {
    std::string path;  ///< the config file itself
    endpoint_config listen{"0.0.0.0", 8080};
    bool listen_enabled = true;                ///< false: `listen: off` (needs tls_listen)
    std::optional<endpoint_config> tls_listen;  ///< HTTPS listener, set together with `tls`
    tls_config tls;
    endpoint_config admin_listen{"0.0.0.0", 9090};
    unsigned threads = 0;  ///< 0 = one per core
    std::string log_level = "info";
    std::string providers_dir;              ///< resolved against the config file's folder
    std::vector<std::string> prefix_files;  ///< resolved likewise
    /// `mrt: {min_peers, keep_long}`: how an MRT dump in prefix_files is
    /// resolved (as `resolve --min-peers/--keep-long`).
    mrt_resolve_options mrt;
    std::string default_provider = "google";
    std::vector<ip_prefix> trusted_proxies;
    /// Headers honoured from trusted proxies, in precedence order.
    std::vector<client_ip_header> client_ip_headers{client_ip_header::x_real_ip};
    unsigned trusted_hops = 1;  ///< see client_ip_policy
    proxy_protocol_mode proxy_protocol = proxy_protocol_mode::off;
    connection_limits limits;
    /// After SIGTERM: keep serving (not ready) this long, so the load
    /// balancer notices; then drain for at most shutdown_timeout.
    std::chrono::milliseconds shutdown_delay{5'000};
    std::chrono::milliseconds shutdown_timeout{30'000};
    access_log_format access_log = access_log_format::off;
    std::uint8_t access_log_ipv4_prefix = 24;  ///< client addresses are logged as this prefix
    std::uint8_t access_log_ipv6_prefix = 48;
    std::vector<cloud_range_source> cloud_ranges;
    std::optional<route_config> routes;  ///< absent: registry/artifacts by path, as always
    bool explain_header = false;         ///< X-Redirect-Reason on every redirect
    otel_file_config otel;             ///< the `otel:` section (see otel_config.hpp)
    bool location_request_id = false;  ///< append rid=<trace id> to each Location
    /// A file holding the bearer token that POST /mirrors/NAME/drain|undrain
    /// need (admin port); empty = those endpoints are refused.
    std::string admin_token_file;
};

struct redirect_target {
    std::string registry;   ///< host[:port] for /v2 and /v2/...
    std::string artifacts;  ///< host[:port] for everything else
};

/// One mirror of a provider (provider-file key `mirrors`).
struct mirror_config {
    std::string name;                  ///< unique across all providers
    std::vector<std::string> regions;  ///< client regions it serves; empty = any (see any_region)
    bool any_region = true;            ///< `regions` omitted
    std::uint32_t weight = 100;        ///< 0 = standby only
    bool ipv6 = true;                  ///< may serve IPv6 clients
    bool ranges = true;                ///< may serve requests with a Range header
    url_template registry;             ///< /v2 classes
    url_template artifacts;            ///< everything else (defaults to registry)
    url_template blobs;                ///< OCI blobs (defaults to registry)
    std::optional<probe_config> probe;              ///< active health probe; none = always up
    std::optional<blob_check_config> check_blobs;   ///< HEAD a blob's URL before sending a client there
    int line = 0;
};

struct provider_config {
    std::string name;
    std::string file;  ///< path of the provider file
    std::optional<redirect_target> redirects_to;
    /// Our extension: when present it replaces redirectsTo.
    std::vector<mirror_config> mirrors;
    bool active = true;                ///< false: its clients go to the default provider
    std::vector<std::string> oncall;   ///< contacts, for check and /debug/route
    std::vector<std::uint32_t> asns;  ///< sorted, unique
    std::vector<ip_prefix> cidrs;     ///< explicit prefixes, unique
    std::vector<std::string> warnings;
};

/// Loads and validates the main config. Throws config_error (file, line,
/// reason) on bad YAML, unknown keys, wrong types or bad values.
server_config load_server_config(const std::string& path);

/// Loads every *.yaml / *.yml file of `dir` (hidden entries skipped, symlinks
/// followed, as a Kubernetes ConfigMap volume needs), sorted by file name:
/// that order breaks ties between providers. Throws config_error.
std::vector<provider_config> load_providers(const std::string& dir);

/// Loads one provider file. Throws config_error.
provider_config load_provider_file(const std::string& path);

/// The same two parsers on text already in memory (`path` names it in
/// errors; relative paths resolve against its folder). Throw config_error.
server_config parse_server_config(const std::string& path, const std::string& text);
provider_config parse_provider(const std::string& path, const std::string& text);

/// True for a DNS host name (RFC 1123 labels), optionally with ":PORT".
bool is_valid_redirect_host(const std::string& host) noexcept;

/// Parses "HOST:PORT" or "[V6]:PORT" with a numeric host. Throws
/// std::invalid_argument with a reason.
endpoint_config parse_endpoint(const std::string& text);

}  // namespace registry_redirector
