#include "registry_redirector/net/ip_address.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace registry_redirector {

namespace {
constexpr uint128 v4_mapped_prefix = static_cast<uint128>(0xffff) << 32;
constexpr uint128 v4_mapped_mask = ~static_cast<uint128>(0xffffffff);

}  // namespace

std::optional<std::uint32_t> parse_ipv4_text(std::string_view s) noexcept {
    std::uint32_t result = 0;
    int parts = 0;
    std::size_t i = 0;
    while (parts < 4) {
        if (i >= s.size()) return std::nullopt;
        std::uint32_t octet = 0;
        std::size_t digits = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            octet = octet * 10 + static_cast<std::uint32_t>(s[i] - '0');
            ++digits;
            ++i;
            if (digits > 3) return std::nullopt;
        }
        // A leading zero is rejected: "010" reads as octal in some parsers
        // (inet_aton), so accepting it would make two systems disagree.
        if (digits == 0 || octet > 255 || (digits > 1 && s[i - digits] == '0')) return std::nullopt;
        result = (result << 8) | octet;
        ++parts;
        if (parts < 4) {
            if (i >= s.size() || s[i] != '.') return std::nullopt;
            ++i;
        }
    }
    if (i != s.size()) return std::nullopt;
    return result;
}

std::optional<uint128> parse_ipv6_text(std::string_view text) noexcept {
    // inet_pton implements the RFC 4291 grammar (including an embedded dotted
    // quad); it needs a NUL-terminated copy, kept on the stack.
    std::array<char, INET6_ADDRSTRLEN> buffer{};
    if (text.empty() || text.size() >= buffer.size()) return std::nullopt;
    std::memcpy(buffer.data(), text.data(), text.size());
    unsigned char bytes[16];
    if (::inet_pton(AF_INET6, buffer.data(), bytes) != 1) return std::nullopt;
    uint128 a = 0;
    for (unsigned char b : bytes) a = (a << 8) | b;
    return a;
}

ip_address ip_address::from_v6(uint128 a) noexcept {
    if ((a & v4_mapped_mask) == v4_mapped_prefix) return from_v4(static_cast<std::uint32_t>(a));
    return {ip_family::v6, 0, a};
}

ip_address ip_address::from_v6_bytes(const unsigned char (&bytes)[16]) noexcept {
    uint128 a = 0;
    for (unsigned char b : bytes) a = (a << 8) | b;
    return from_v6(a);
}

std::optional<ip_address> parse_ip_address(std::string_view text) noexcept {
    if (text.empty()) return std::nullopt;
    if (text.find(':') == std::string_view::npos) {
        auto v4 = parse_ipv4_text(text);
        if (!v4) return std::nullopt;
        return ip_address::from_v4(*v4);
    }
    auto v6 = parse_ipv6_text(text);
    if (!v6) return std::nullopt;
    return ip_address::from_v6(*v6);
}

std::string to_string(const ip_address& address) {
    char buffer[INET6_ADDRSTRLEN];
    if (address.family == ip_family::v4) {
        const std::uint32_t n = htonl(address.v4);
        ::inet_ntop(AF_INET, &n, buffer, sizeof buffer);
    } else {
        unsigned char bytes[16];
        uint128 a = address.v6;
        for (int i = 15; i >= 0; --i) {
            bytes[i] = static_cast<unsigned char>(a & 0xff);
            a >>= 8;
        }
        ::inet_ntop(AF_INET6, bytes, buffer, sizeof buffer);
    }
    return buffer;
}

}  // namespace registry_redirector
