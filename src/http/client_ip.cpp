#include "registry_redirector/client_ip.hpp"

namespace registry_redirector {

const char* to_label(client_ip_source s) noexcept {
    switch (s) {
        case client_ip_source::peer: return "peer";
        case client_ip_source::x_real_ip: return "x_real_ip";
        case client_ip_source::invalid_header: return "invalid_header";
        case client_ip_source::untrusted_header: return "untrusted_header";
    }
    return "peer";
}

bool trusted_proxy_set::contains(const ip_address& peer) const noexcept {
    for (const auto& p : prefixes_)
        if (p.contains(peer)) return true;
    return false;
}

client_ip resolve_client_ip(const ip_address& peer, const real_ip_header& header,
                            const trusted_proxy_set& trusted) noexcept {
    if (header.count == 0) return {peer, client_ip_source::peer};
    if (!trusted.contains(peer)) return {peer, client_ip_source::untrusted_header};
    // Two X-Real-Ip lines cannot both be right: trust neither.
    if (header.count != 1) return {peer, client_ip_source::invalid_header};
    std::string_view v = header.value;
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    const auto address = parse_ip_address(v);
    if (!address) return {peer, client_ip_source::invalid_header};
    return {*address, client_ip_source::x_real_ip};
}

}  // namespace registry_redirector
