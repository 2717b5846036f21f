#include "registry_redirector/config/client_ip_policy.hpp"

namespace registry_redirector {

bool trusted_proxy_set::contains(const ip_address& peer) const noexcept {
    for (const auto& p : prefixes_)
        if (p.contains(peer)) return true;
    return false;
}

}  // namespace registry_redirector
