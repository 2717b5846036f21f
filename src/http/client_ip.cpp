#include "registry_redirector/http/client_ip.hpp"

namespace registry_redirector {

namespace {

std::string_view trim(std::string_view v) noexcept {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

bool is_port(std::string_view v) noexcept {
    if (v.empty() || v.size() > 5) return false;
    unsigned n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return false;
        n = n * 10 + static_cast<unsigned>(c - '0');
    }
    return n <= 65535;
}

/// An address as proxies write it into a list: plain, IPv4 with a port, or
/// a bracketed IPv6 with an optional port.
std::optional<ip_address> parse_node(std::string_view v) noexcept {
    v = trim(v);
    if (!v.empty() && v.front() == '[') {
        const auto close = v.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        const std::string_view rest = v.substr(close + 1);
        if (!rest.empty() && !(rest.front() == ':' && is_port(rest.substr(1)))) return std::nullopt;
        const auto a = parse_ipv6_text(v.substr(1, close - 1));
        if (!a) return std::nullopt;
        return ip_address::from_v6(*a);
    }
    const auto colon = v.find(':');
    if (colon != std::string_view::npos && v.find(':', colon + 1) == std::string_view::npos) {
        // "a.b.c.d:port": one colon can only be an IPv4 address with a port.
        if (!is_port(v.substr(colon + 1))) return std::nullopt;
        const auto a = parse_ipv4_text(v.substr(0, colon));
        if (!a) return std::nullopt;
        return ip_address::from_v4(*a);
    }
    return parse_ip_address(v);
}

/// Calls f(entry) for each comma-separated entry of the lines, right to
/// left, until f returns true. Quoted strings (Forwarded) may hold commas.
template <class F>
void for_each_entry_from_right(const header_lines& lines, F&& f) noexcept {
    const unsigned kept = lines.count < header_lines::max_lines ? lines.count : header_lines::max_lines;
    for (unsigned l = kept; l-- > 0;) {
        const std::string_view line = lines.values[l];
        std::size_t end = line.size();
        bool quoted = false;
        for (std::size_t i = line.size(); i-- > 0;) {
            const char c = line[i];
            if (c == '"' && (i == 0 || line[i - 1] != '\\')) quoted = !quoted;
            if (c == ',' && !quoted) {
                if (f(line.substr(i + 1, end - i - 1))) return;
                end = i;
            }
        }
        if (f(line.substr(0, end))) return;
    }
}

bool iequal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

/// The for= value of one Forwarded element ("for=1.2.3.4;proto=https").
std::optional<ip_address> forwarded_for_of(std::string_view element) noexcept {
    std::size_t start = 0;
    while (start <= element.size()) {
        // Pairs are separated by ';' outside quotes.
        std::size_t end = start;
        bool quoted = false;
        while (end < element.size() && (quoted || element[end] != ';')) {
            if (element[end] == '"' && (end == 0 || element[end - 1] != '\\')) quoted = !quoted;
            ++end;
        }
        const std::string_view pair = trim(element.substr(start, end - start));
        const auto eq = pair.find('=');
        if (eq != std::string_view::npos && iequal(trim(pair.substr(0, eq)), "for")) {
            std::string_view value = trim(pair.substr(eq + 1));
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
                value = value.substr(1, value.size() - 2);
                // A node never needs an escape; one that has one is not an address.
                if (value.find('\\') != std::string_view::npos) return std::nullopt;
            }
            return parse_node(value);  // "unknown" and "_hidden" do not parse
        }
        start = end + 1;
    }
    return std::nullopt;
}

}  // namespace

std::optional<ip_address> parse_real_ip_value(std::string_view value) noexcept {
    return parse_ip_address(trim(value));
}

std::optional<ip_address> pick_forwarded_for(const header_lines& lines, unsigned hops) noexcept {
    if (lines.count > header_lines::max_lines || hops == 0) return std::nullopt;
    std::optional<ip_address> found;
    unsigned seen = 0;
    bool bad = false;
    for_each_entry_from_right(lines, [&](std::string_view entry) {
        if (++seen < hops) return false;
        found = parse_node(entry);
        bad = !found;
        return true;
    });
    if (bad) return std::nullopt;
    return found;
}

std::optional<ip_address> pick_forwarded(const header_lines& lines, unsigned hops) noexcept {
    if (lines.count > header_lines::max_lines || hops == 0) return std::nullopt;
    std::optional<ip_address> found;
    unsigned seen = 0;
    for_each_entry_from_right(lines, [&](std::string_view element) {
        if (++seen < hops) return false;
        found = forwarded_for_of(element);
        return true;
    });
    return found;
}

client_ip resolve_client_ip(const ip_address& peer, const proxy_header_lines& headers, const client_ip_policy& policy,
                            client_ip_source peer_source) noexcept {
    const bool any = headers.x_real_ip.count || headers.x_forwarded_for.count || headers.forwarded.count;
    if (!any) return {peer, peer_source};
    const bool trusted = policy.trusted.contains(peer);
    for (const client_ip_header h : policy.headers) {
        std::optional<ip_address> address;
        client_ip_source source = client_ip_source::peer;
        switch (h) {
            case client_ip_header::x_real_ip:
                if (!headers.x_real_ip.count) continue;
                // Two X-Real-Ip lines cannot both be right: trust neither.
                if (headers.x_real_ip.count == 1) address = parse_real_ip_value(headers.x_real_ip.values[0]);
                source = client_ip_source::x_real_ip;
                break;
            case client_ip_header::x_forwarded_for:
                if (!headers.x_forwarded_for.count) continue;
                address = pick_forwarded_for(headers.x_forwarded_for, policy.trusted_hops);
                source = client_ip_source::x_forwarded_for;
                break;
            case client_ip_header::forwarded:
                if (!headers.forwarded.count) continue;
                address = pick_forwarded(headers.forwarded, policy.trusted_hops);
                source = client_ip_source::forwarded;
                break;
        }
        if (!trusted) return {peer, client_ip_source::untrusted_header};
        if (!address) return {peer, client_ip_source::invalid_header};
        return {*address, source};
    }
    // Only headers this deployment does not honour: the peer decides. An
    // untrusted peer sending them is still worth counting.
    return {peer, trusted ? peer_source : client_ip_source::untrusted_header};
}

}  // namespace registry_redirector
