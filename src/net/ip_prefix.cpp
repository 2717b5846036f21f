#include "registry_redirector/net/ip_prefix.hpp"

namespace registry_redirector {

namespace {
constexpr uint128 v4_mapped_prefix = static_cast<uint128>(0xffff) << 32;

bool parse_length(std::string_view s, unsigned max, unsigned& out) noexcept {
    if (s.empty() || s.size() > 3) return false;
    if (s.size() > 1 && s[0] == '0') return false;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > max) return false;
    out = v;
    return true;
}
}  // namespace

bool ip_prefix::contains(const ip_address& a) const noexcept {
    if (a.family != family) return false;
    if (family == ip_family::v4) return (a.v4 & v4_mask(length)) == v4;
    return (a.v6 & v6_mask(length)) == v6;
}

prefix_parse_result make_ip_prefix(std::string_view address, std::string_view length) noexcept {
    prefix_parse_result r;
    const bool is_v6 = address.find(':') != std::string_view::npos;
    unsigned len = 0;
    if (!parse_length(length, is_v6 ? 128 : 32, len)) {
        r.error = is_v6 ? "prefix length must be a number from 0 to 128"
                        : "prefix length must be a number from 0 to 32";
        return r;
    }
    r.prefix.length = static_cast<std::uint8_t>(len);
    if (!is_v6) {
        auto a = parse_ipv4_text(address);
        if (!a) {
            r.error = "not a valid IPv4 address (dotted quad, no leading zeros)";
            return r;
        }
        if ((*a & ~v4_mask(len)) != 0) {
            r.error = "host bits are set beyond the prefix length";
            return r;
        }
        r.prefix.family = ip_family::v4;
        r.prefix.v4 = *a;
        return r;
    }
    auto a = parse_ipv6_text(address);
    if (!a) {
        r.error = "not a valid IPv6 address";
        return r;
    }
    if ((*a & ~v6_mask(len)) != 0) {
        r.error = "host bits are set beyond the prefix length";
        return r;
    }
    if (len >= 96 && (*a & v6_mask(96)) == v4_mapped_prefix) {
        r.error = "IPv4-mapped IPv6 prefix; write the IPv4 prefix instead";
        return r;
    }
    r.prefix.family = ip_family::v6;
    r.prefix.v6 = *a;
    return r;
}

prefix_parse_result parse_ip_prefix(std::string_view text) noexcept {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        prefix_parse_result r;
        r.error = "expected ADDRESS/LENGTH";
        return r;
    }
    return make_ip_prefix(text.substr(0, slash), text.substr(slash + 1));
}

std::string to_string(const ip_prefix& prefix) {
    const ip_address a = prefix.family == ip_family::v4
                             ? ip_address{ip_family::v4, prefix.v4, 0}
                             : ip_address{ip_family::v6, 0, prefix.v6};
    return to_string(a) + "/" + std::to_string(prefix.length);
}

}  // namespace registry_redirector
