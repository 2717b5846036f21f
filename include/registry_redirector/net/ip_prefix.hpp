#pragma once
/// CIDR prefixes: parsing with reasons, containment, canonical text.

#include <cstdint>
#include <string>
#include <string_view>

#include "registry_redirector/net/ip_address.hpp"

namespace registry_redirector {

/// A canonical CIDR prefix: host bits are always zero. For IPv4 the address
/// lives in `v4`, for IPv6 in `v6`.
struct ip_prefix {
    ip_family family = ip_family::v4;
    std::uint32_t v4 = 0;
    uint128 v6 = 0;
    std::uint8_t length = 0;

    std::uint8_t max_length() const noexcept { return family == ip_family::v4 ? 32 : 128; }
    bool contains(const ip_address& a) const noexcept;
    friend bool operator==(const ip_prefix&, const ip_prefix&) = default;
};

/// Result of parsing a prefix: either `ok` with a value, or a static reason
/// string saying what is wrong (no allocation on the error path).
struct prefix_parse_result {
    ip_prefix prefix;
    const char* error = nullptr;  ///< nullptr on success
    bool ok() const noexcept { return error == nullptr; }
};

/// Parses "ADDRESS/LENGTH" (IPv4 or IPv6). Rejects host bits set, lengths out
/// of range, leading zeros and IPv4-mapped IPv6 prefixes (::ffff:0:0/96 and
/// longer, which clients never reach: mapped clients are looked up as IPv4).
prefix_parse_result parse_ip_prefix(std::string_view text) noexcept;

/// Same, with address and length given separately (CAIDA pfx2as columns).
prefix_parse_result make_ip_prefix(std::string_view address, std::string_view length) noexcept;

std::string to_string(const ip_prefix& prefix);

inline constexpr std::uint32_t v4_mask(unsigned length) noexcept {
    return length == 0 ? 0u : ~std::uint32_t{0} << (32 - length);
}
inline constexpr uint128 v6_mask(unsigned length) noexcept {
    return length == 0 ? uint128{0} : ~uint128{0} << (128 - length);
}

}  // namespace registry_redirector
