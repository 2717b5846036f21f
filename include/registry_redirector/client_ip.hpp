#pragma once
/// Which address a request is routed by: the TCP peer (or the address a
/// PROXY protocol header gave), or a proxy header when, and only when, that
/// peer is a trusted proxy.

#include <array>
#include <optional>
#include <cstdint>
#include <string_view>
#include <vector>

#include "registry_redirector/ip_prefix.hpp"

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

/// The lines of one header in a request (views into the read buffer).
struct header_lines {
    static constexpr unsigned max_lines = 8;
    std::array<std::string_view, max_lines> values{};
    unsigned count = 0;  ///< may exceed max_lines: the extra lines are not kept

    void add(std::string_view v) noexcept {
        if (count < max_lines) values[count] = v;
        ++count;
    }
};

struct proxy_header_lines {
    header_lines x_real_ip;
    header_lines x_forwarded_for;  ///< RFC 9110: several lines are one comma-separated list
    header_lines forwarded;        ///< RFC 7239
};

struct client_ip {
    ip_address address;
    client_ip_source source = client_ip_source::peer;
};

/// Applies the policy. `peer_source` is peer, or proxy_protocol when the
/// connection's address came from a PROXY header. noexcept, allocation-free.
client_ip resolve_client_ip(const ip_address& peer, const proxy_header_lines& headers, const client_ip_policy& policy,
                            client_ip_source peer_source = client_ip_source::peer) noexcept;

/// One X-Real-Ip value: exactly one address, blanks around it allowed.
std::optional<ip_address> parse_real_ip_value(std::string_view value) noexcept;

/// The entry `hops` from the right of X-Forwarded-For lines. Entries are an
/// address, "a.b.c.d:port", "[v6]" or "[v6]:port".
std::optional<ip_address> pick_forwarded_for(const header_lines& lines, unsigned hops) noexcept;

/// The for= of the element `hops` from the right of RFC 7239 Forwarded
/// lines (quoted values, [v6], ports); "unknown" and obfuscated identifiers
/// yield nothing.
std::optional<ip_address> pick_forwarded(const header_lines& lines, unsigned hops) noexcept;

}  // namespace registry_redirector
