#pragma once
/// Which address a request is routed by: the TCP peer (or the address a
/// PROXY protocol header gave), or a proxy header when, and only when, that
/// peer is a trusted proxy.

#include <array>
#include <optional>
#include <cstdint>
#include <string_view>
#include <vector>

#include "registry_redirector/config/client_ip_policy.hpp"
#include "registry_redirector/net/ip_address.hpp"
#include "registry_redirector/routing/request_outcome.hpp"

namespace registry_redirector {

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
