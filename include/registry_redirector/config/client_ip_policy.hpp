#pragma once
/// Who may name the client: the trusted proxies and the headers honoured from
/// them. Plain data read from the config; `http/client_ip` interprets it.

#include <cstdint>
#include <vector>

#include "registry_redirector/net/ip_prefix.hpp"

namespace registry_redirector {

/// The proxy headers a deployment may honour.
enum class client_ip_header : std::uint8_t { x_real_ip, x_forwarded_for, forwarded };

/// The CIDRs whose connections may name the client.
/// Thread safety: immutable after construction.
class trusted_proxy_set {
public:
    trusted_proxy_set() = default;
    explicit trusted_proxy_set(std::vector<ip_prefix> prefixes) : prefixes_(std::move(prefixes)) {}
    bool contains(const ip_address& peer) const noexcept;
    bool empty() const noexcept { return prefixes_.empty(); }

private:
    std::vector<ip_prefix> prefixes_;  // a handful: a linear scan beats any index
};

/// Who may name the client, and how.
struct client_ip_policy {
    trusted_proxy_set trusted;
    /// Headers honoured from a trusted peer, in precedence order: the first
    /// one the request carries decides (an invalid value falls back to the
    /// peer; later headers are not consulted).
    std::vector<client_ip_header> headers{client_ip_header::x_real_ip};
    /// For X-Forwarded-For and Forwarded: the client is this many entries
    /// from the right (1 = the last one, as ingress-nginx appends; 2 for a
    /// Google Cloud load balancer, which appends "<client>,<lb>").
    unsigned trusted_hops = 1;
};

}  // namespace registry_redirector
