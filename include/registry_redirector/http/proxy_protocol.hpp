#pragma once
/// The PROXY protocol header that L4 load balancers (AWS NLB, HAProxy, ...)
/// put before the first byte of a connection, versions 1 (text) and 2
/// (binary), as specified in HAProxy's proxy-protocol.txt.

#include <cstddef>
#include <optional>

#include "registry_redirector/net/ip_address.hpp"

namespace registry_redirector {

struct proxy_protocol_result {
    enum class kind : std::uint8_t {
        need_more,  ///< could still become a header: read more
        absent,     ///< the connection does not start with a PROXY header
        header,     ///< a valid header of `consumed` bytes
        invalid,    ///< starts like one but is malformed: close
    };
    /// Why a valid header names no client: the connection's own addresses
    /// stand (the specification's rule for all of these).
    enum class no_source : std::uint8_t {
        none,         ///< `source` is set
        local,        ///< v2 LOCAL: the balancer's own health check
        v1_unknown,   ///< v1 "PROXY UNKNOWN"
        v2_unspec,    ///< v2 PROXY with AF_UNSPEC
        v2_unix,      ///< v2 PROXY with AF_UNIX: no IP address to route by
    };
    kind what = kind::need_more;
    std::size_t consumed = 0;
    /// The client's address; empty when `fallback` is not none.
    std::optional<ip_address> source;
    no_source fallback = no_source::none;
};

/// Never reads past `size`, never allocates.
proxy_protocol_result parse_proxy_protocol(const char* data, std::size_t size) noexcept;

}  // namespace registry_redirector
