#pragma once
/// Which address a request is routed by: the TCP peer, or a proxy header
/// when (and only when) the peer is a trusted proxy.

#include <cstdint>
#include <string_view>
#include <vector>

#include "registry_redirector/ip_prefix.hpp"

namespace registry_redirector {

/// Where the client address came from; also the metric label.
enum class client_ip_source : std::uint8_t { peer, x_real_ip, invalid_header, untrusted_header };
inline constexpr std::size_t client_ip_source_count = 4;
const char* to_label(client_ip_source s) noexcept;

/// The CIDRs whose connections may name the client in a header.
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

/// The X-Real-Ip header lines of one request.
struct real_ip_header {
    std::string_view value;  ///< the first line's value
    unsigned count = 0;      ///< how many X-Real-Ip lines the request had
};

struct client_ip {
    ip_address address;
    client_ip_source source = client_ip_source::peer;
};

/// The rule: the peer, unless the peer is trusted and the request carries
/// exactly one X-Real-Ip line holding one IPv4 or IPv6 address (blanks
/// around it allowed). A header from an untrusted peer is ignored; a bad one
/// from a trusted peer falls back to the peer. noexcept, allocation-free.
client_ip resolve_client_ip(const ip_address& peer, const real_ip_header& header,
                            const trusted_proxy_set& trusted) noexcept;

}  // namespace registry_redirector
