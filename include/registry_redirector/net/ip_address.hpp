#pragma once
/// IPv4/IPv6 addresses as plain integers, the key type of every lookup.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace registry_redirector {

__extension__ using uint128 = unsigned __int128;

enum class ip_family : std::uint8_t { v4, v6 };

/// An IPv4 or IPv6 address in host byte order. An IPv4-mapped IPv6 address
/// (::ffff:a.b.c.d) is always stored as the IPv4 address a.b.c.d, because that
/// is how the routing decision treats it.
struct ip_address {
    ip_family family = ip_family::v4;
    std::uint32_t v4 = 0;  ///< valid when family == v4
    uint128 v6 = 0;        ///< valid when family == v6

    static ip_address from_v4(std::uint32_t a) noexcept { return {ip_family::v4, a, 0}; }
    /// Folds v4-mapped addresses into IPv4.
    static ip_address from_v6(uint128 a) noexcept;
    static ip_address from_v6_bytes(const unsigned char (&bytes)[16]) noexcept;

    friend bool operator==(const ip_address&, const ip_address&) = default;
};

/// Parses one textual IPv4 (dotted quad, no leading zeros) or IPv6 address
/// (RFC 4291 text forms, no zone index). Never throws, never allocates.
std::optional<ip_address> parse_ip_address(std::string_view text) noexcept;

/// Parses IPv6 text into its 128-bit value without folding v4-mapped
/// addresses (prefix parsing needs the raw value). Never throws.
std::optional<uint128> parse_ipv6_text(std::string_view text) noexcept;

/// Parses a dotted-quad IPv4 address without leading zeros. Never throws.
std::optional<std::uint32_t> parse_ipv4_text(std::string_view text) noexcept;

/// Canonical text: dotted quad, or RFC 5952 compressed IPv6.
std::string to_string(const ip_address& address);

}  // namespace registry_redirector
