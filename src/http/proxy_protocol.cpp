#include "registry_redirector/http/proxy_protocol.hpp"

#include <cstring>
#include <string_view>

namespace registry_redirector {

namespace {

constexpr char v2_signature[12] = {'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'};
constexpr std::string_view v1_prefix = "PROXY ";
constexpr std::size_t v1_max = 107;   // the specification's bound, CRLF included
constexpr std::size_t v2_max = 1024;  // 16-byte header + addresses + TLVs we are willing to skip

using kind = proxy_protocol_result::kind;

bool is_port(std::string_view v) noexcept {
    if (v.empty() || v.size() > 5 || (v.size() > 1 && v[0] == '0')) return false;
    unsigned n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return false;
        n = n * 10 + static_cast<unsigned>(c - '0');
    }
    return n <= 65535;
}

proxy_protocol_result parse_v1(const char* data, std::size_t size) noexcept {
    proxy_protocol_result r;
    const std::string_view in(data, size < v1_max ? size : v1_max);
    const auto end = in.find("\r\n");
    if (end == std::string_view::npos) {
        r.what = size >= v1_max ? kind::invalid : kind::need_more;
        return r;
    }
    // "PROXY TCP4 src dst sport dport", "PROXY TCP6 ...", "PROXY UNKNOWN ..."
    std::string_view line = in.substr(v1_prefix.size(), end - v1_prefix.size());
    std::string_view fields[5];
    std::size_t n = 0;
    while (!line.empty() && n < 5) {
        const auto space = line.find(' ');
        fields[n++] = line.substr(0, space);
        line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    }
    r.consumed = end + 2;
    if (n >= 1 && fields[0] == "UNKNOWN") {
        r.what = kind::header;
        r.fallback = proxy_protocol_result::no_source::v1_unknown;
        return r;
    }
    r.what = kind::invalid;
    if (n != 5 || !line.empty() || !is_port(fields[3]) || !is_port(fields[4])) return r;
    if (fields[0] == "TCP4") {
        const auto src = parse_ipv4_text(fields[1]);
        if (!src || !parse_ipv4_text(fields[2])) return r;
        r.source = ip_address::from_v4(*src);
    } else if (fields[0] == "TCP6") {
        const auto src = parse_ipv6_text(fields[1]);
        if (!src || !parse_ipv6_text(fields[2])) return r;
        r.source = ip_address::from_v6(*src);
    } else {
        return r;
    }
    r.what = kind::header;
    return r;
}

proxy_protocol_result parse_v2(const unsigned char* data, std::size_t size) noexcept {
    proxy_protocol_result r;
    if (size < 16) {
        r.what = kind::need_more;
        return r;
    }
    const unsigned version = data[12] >> 4;
    const unsigned command = data[12] & 0x0f;
    const unsigned family = data[13] >> 4;
    const unsigned transport = data[13] & 0x0f;
    const std::size_t length = static_cast<std::size_t>(data[14]) << 8 | data[15];
    r.what = kind::invalid;
    // Families above AF_UNIX and transports above DGRAM "must be rejected as
    // invalid by receivers" (proxy-protocol.txt, section 2.2).
    if (version != 2 || command > 1 || family > 3 || transport > 2 || 16 + length > v2_max) return r;
    if (size < 16 + length) {
        r.what = kind::need_more;
        return r;
    }
    r.consumed = 16 + length;
    const unsigned char* a = data + 16;
    if (command == 0) {  // LOCAL: a health check from the balancer itself
        r.what = kind::header;
        r.fallback = proxy_protocol_result::no_source::local;
        return r;
    }
    if (family == 1) {  // AF_INET: src(4) dst(4) sport(2) dport(2)
        if (length < 12) return r;
        r.source = ip_address::from_v4(static_cast<std::uint32_t>(a[0]) << 24 | static_cast<std::uint32_t>(a[1]) << 16 |
                                       static_cast<std::uint32_t>(a[2]) << 8 | a[3]);
    } else if (family == 2) {  // AF_INET6: src(16) dst(16) sport(2) dport(2)
        if (length < 36) return r;
        unsigned char bytes[16];
        std::memcpy(bytes, a, 16);
        r.source = ip_address::from_v6_bytes(bytes);
    } else if (family == 3) {  // AF_UNIX: src(108) dst(108)
        // No IP address to route by. A receiver that does not support a
        // valid family falls back to UNSPEC, i.e. the real connection's
        // addresses (section 2.2), rather than refusing the connection.
        if (length < 216) return r;
        r.fallback = proxy_protocol_result::no_source::v2_unix;
    } else {  // AF_UNSPEC: the address block, if any, is ignored
        r.fallback = proxy_protocol_result::no_source::v2_unspec;
    }
    r.what = kind::header;
    return r;
}

}  // namespace

proxy_protocol_result parse_proxy_protocol(const char* data, std::size_t size) noexcept {
    proxy_protocol_result r;
    // Decide which of the two it can still be from the bytes so far.
    const std::size_t v1n = size < v1_prefix.size() ? size : v1_prefix.size();
    const bool maybe_v1 = std::memcmp(data, v1_prefix.data(), v1n) == 0;
    const std::size_t v2n = size < sizeof v2_signature ? size : sizeof v2_signature;
    const bool maybe_v2 = std::memcmp(data, v2_signature, v2n) == 0;
    if (size == 0 || (maybe_v1 && size < v1_prefix.size()) || (maybe_v2 && size < sizeof v2_signature)) {
        r.what = maybe_v1 || maybe_v2 || size == 0 ? kind::need_more : kind::absent;
        return r;
    }
    if (maybe_v1) return parse_v1(data, size);
    if (maybe_v2) return parse_v2(reinterpret_cast<const unsigned char*>(data), size);
    r.what = kind::absent;
    return r;
}

}  // namespace registry_redirector
