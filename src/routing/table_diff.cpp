#include "registry_redirector/routing/table_diff.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>
#include <unordered_map>

#include "registry_redirector/routing/routing_table.hpp"

namespace registry_redirector {

namespace {

constexpr const char* none = "none";

/// Who decides each prefix of one side, by the rule of build_routing_table:
/// an explicit cidr is its provider's; otherwise the first provider (file
/// order) listing one of the prefix's origins; otherwise nobody.
std::map<std::tuple<int, uint128, int>, std::string> prefix_owners(const diff_side& side) {
    std::unordered_map<std::uint32_t, std::size_t> first_lister;
    for (std::size_t i = 0; i < side.providers.size(); ++i)
        for (auto asn : side.providers[i].asns) first_lister.try_emplace(asn, i);
    std::map<std::tuple<int, uint128, int>, std::size_t> best;  // (family, network, length) -> provider index
    auto consider = [&](int family, uint128 network, int length, std::uint32_t asn) {
        const auto it = first_lister.find(asn);
        const std::size_t owner = it == first_lister.end() ? side.providers.size() : it->second;
        auto [slot, added] = best.try_emplace({family, network, length}, owner);
        if (!added) slot->second = std::min(slot->second, owner);
    };
    for (const auto& r : side.origins.v4) consider(4, r.network, r.length, r.asn);
    for (const auto& r : side.origins.v6) consider(6, r.network, r.length, r.asn);
    std::map<std::tuple<int, uint128, int>, std::string> out;
    for (const auto& [key, owner] : best) out[key] = owner < side.providers.size() ? side.providers[owner].name : none;
    for (const auto& p : side.providers)
        for (const auto& c : p.cidrs)
            out[{c.family == ip_family::v4 ? 4 : 6, c.family == ip_family::v4 ? uint128{c.v4} : c.v6, c.length}] = p.name;
    return out;
}

std::string name_of(const route_explainer& e, std::uint32_t index) {
    return index == routing_table::no_provider ? none : e.table().providers()[index].name;
}

struct move_key {
    std::optional<ip_prefix> old_prefix, new_prefix;
    std::string from, to;
    bool v6;
    friend bool operator<(const move_key& a, const move_key& b) {
        const auto k = [](const move_key& m) {
            const auto p = [](const std::optional<ip_prefix>& x) {
                return x ? std::tuple(1, x->v4, x->v6, x->length) : std::tuple(0, 0u, uint128{0}, std::uint8_t{0});
            };
            return std::tuple(m.v6, p(m.old_prefix), p(m.new_prefix), m.from, m.to);
        };
        return k(a) < k(b);
    }
};

}  // namespace

table_diff diff_tables(const diff_side& before, const diff_side& after) {
    const route_explainer old_e(before.providers, before.default_provider, before.origins);
    const route_explainer new_e(after.providers, after.default_provider, after.origins);
    table_diff d;
    std::map<std::string, provider_delta> deltas;
    for (const auto* side : {&before, &after})
        for (const auto& p : side->providers) deltas[p.name].provider = p.name;

    // Prefix level.
    const auto old_owners = prefix_owners(before);
    const auto new_owners = prefix_owners(after);
    auto owner_in = [](const auto& owners, const auto& key) {
        const auto it = owners.find(key);
        return it == owners.end() ? std::string(none) : it->second;
    };
    std::vector<std::tuple<int, uint128, int>> keys;
    for (const auto& [k, v] : old_owners) keys.push_back(k);
    for (const auto& [k, v] : new_owners) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    for (const auto& k : keys) {
        const std::string from = owner_in(old_owners, k), to = owner_in(new_owners, k);
        if (from == to) continue;
        ++d.prefixes_changed;
        if (from != none) ++deltas[from].prefixes_lost;
        if (to != none) ++deltas[to].prefixes_gained;
    }

    // Address level: cut both families at every boundary of either side.
    std::map<move_key, double> moves;
    auto visit = [&](bool v6, uint128 start, unsigned size_units_shift, const uint128 size) {
        ip_address a;
        a.family = v6 ? ip_family::v6 : ip_family::v4;
        if (v6) a.v6 = start;
        else a.v4 = static_cast<std::uint32_t>(start);
        const route_explanation o = old_e.explain(a), n = new_e.explain(a);
        const std::string from = name_of(old_e, o.matched), to = name_of(new_e, n.matched);
        const std::string old_redirect = name_of(old_e, o.redirect), new_redirect = name_of(new_e, n.redirect);
        if (from == to && old_redirect == new_redirect) return;
        d.answers_changed = true;
        // Sizes as /24 or /48 equivalents; a long double keeps 2^128 finite.
        const double units = static_cast<double>(static_cast<long double>(size) /
                                                 static_cast<long double>(uint128{1} << size_units_shift));
        if (v6) d.v6_moved += units;
        else d.v4_moved += units;
        if (from != to) {
            auto& lost = deltas[from];
            auto& gained = deltas[to];
            (v6 ? lost.v6_lost : lost.v4_lost) += from == none ? 0 : units;
            (v6 ? gained.v6_gained : gained.v4_gained) += to == none ? 0 : units;
        }
        // Same provider, other mirror (its redirectsTo changed): name both.
        if (from == to)
            moves[{o.prefix, n.prefix, from + " (redirect " + old_redirect + ")", to + " (redirect " + new_redirect + ")", v6}] += units;
        else
            moves[{o.prefix, n.prefix, from, to, v6}] += units;
    };

    // IPv4: boundaries as 64-bit values (2^32 ends the space).
    {
        std::vector<std::uint64_t> cuts{0, std::uint64_t{1} << 32};
        auto add = [&](std::uint32_t network, unsigned length) {
            cuts.push_back(network);
            cuts.push_back(std::uint64_t{network} + (std::uint64_t{1} << (32 - length)));
        };
        for (const auto* side : {&before, &after}) {
            for (const auto& r : side->origins.v4) add(r.network, r.length);
            for (const auto& p : side->providers)
                for (const auto& c : p.cidrs)
                    if (c.family == ip_family::v4) add(c.v4, c.length);
        }
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
        for (std::size_t i = 0; i + 1 < cuts.size(); ++i) visit(false, cuts[i], 8, cuts[i + 1] - cuts[i]);
    }
    // IPv6: boundaries as 128-bit values; the end of the space wraps to 0,
    // so the last piece runs to 2^128.
    {
        std::vector<uint128> cuts{0};
        auto add = [&](uint128 network, unsigned length) {
            cuts.push_back(network);
            const uint128 end = length == 0 ? 0 : network + (uint128{1} << (128 - length));
            if (end != 0) cuts.push_back(end);
        };
        for (const auto* side : {&before, &after}) {
            for (const auto& r : side->origins.v6) add(r.network, r.length);
            for (const auto& p : side->providers)
                for (const auto& c : p.cidrs)
                    if (c.family == ip_family::v6) add(c.v6, c.length);
        }
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
        for (std::size_t i = 0; i < cuts.size(); ++i) {
            const uint128 size = i + 1 < cuts.size() ? cuts[i + 1] - cuts[i] : uint128{0} - cuts[i];
            // The whole space (no cut but 0) is 2^128, which wraps to 0: use the largest value.
            visit(true, cuts[i], 80, size == 0 ? ~uint128{0} : size);
        }
    }

    for (auto& [name, delta] : deltas)
        if (name != none) d.providers.push_back(delta);
    for (const auto& [k, size] : moves)
        d.moves.push_back({k.old_prefix, k.new_prefix, {}, {}, k.from, k.to, k.v6, size});
    // Origins for the listing: explain each move's prefixes once.
    for (auto& m : d.moves) {
        if (m.old_prefix) {
            ip_address a{m.old_prefix->family, m.old_prefix->v4, m.old_prefix->v6};
            m.old_origins = old_e.explain(a).origins;
        }
        if (m.new_prefix) {
            ip_address a{m.new_prefix->family, m.new_prefix->v4, m.new_prefix->v6};
            m.new_origins = new_e.explain(a).origins;
        }
    }
    std::stable_sort(d.moves.begin(), d.moves.end(), [](const address_move& a, const address_move& b) {
        // IPv4 /24s and IPv6 /48s are both "one network": compare the numbers.
        return a.size > b.size;
    });
    return d;
}

namespace {

std::string number(double v) {
    char buf[64];
    if (v == static_cast<double>(static_cast<std::uint64_t>(v)) && v < 1e15)
        std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v));
    else
        std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

std::string origins_text(const std::vector<std::uint32_t>& origins) {
    std::string s;
    for (auto a : origins) s += (s.empty() ? "AS" : ",AS") + std::to_string(a);
    return s.empty() ? "-" : s;
}

std::string prefix_text(const std::optional<ip_prefix>& p) { return p ? to_string(*p) : "(none)"; }

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
            continue;
        }
        out += c;
    }
    return out + "\"";
}

}  // namespace

std::string diff_text(const table_diff& d, std::size_t max_moves) {
    std::string s;
    char line[512];
    std::snprintf(line, sizeof line, "%-16s %9s %9s %12s %12s %12s %12s\n", "provider", "+prefixes", "-prefixes",
                  "+IPv4 /24s", "-IPv4 /24s", "+IPv6 /48s", "-IPv6 /48s");
    s += line;
    for (const auto& p : d.providers) {
        std::snprintf(line, sizeof line, "%-16s %9llu %9llu %12s %12s %12s %12s\n", p.provider.c_str(),
                      static_cast<unsigned long long>(p.prefixes_gained), static_cast<unsigned long long>(p.prefixes_lost),
                      number(p.v4_gained).c_str(), number(p.v4_lost).c_str(), number(p.v6_gained).c_str(),
                      number(p.v6_lost).c_str());
        s += line;
    }
    s += d.moves.empty() ? "no address changes provider\n" : "largest moves (prefix before -> after, provider from -> to):\n";
    for (std::size_t i = 0; i < d.moves.size() && i < max_moves; ++i) {
        const auto& m = d.moves[i];
        s += "  " + prefix_text(m.old_prefix) + " (" + origins_text(m.old_origins) + ") -> " + prefix_text(m.new_prefix) +
             " (" + origins_text(m.new_origins) + "): " + m.from + " -> " + m.to + ", " + number(m.size) +
             (m.v6 ? " /48s\n" : " /24s\n");
    }
    if (d.moves.size() > max_moves) s += "  ... and " + std::to_string(d.moves.size() - max_moves) + " more\n";
    s += "totals: " + std::to_string(d.prefixes_changed) + " prefixes change provider; " + number(d.v4_moved) +
         " IPv4 /24s and " + number(d.v6_moved) + " IPv6 /48s are answered differently\n";
    return s;
}

std::string diff_json(const table_diff& d, std::size_t max_moves) {
    std::string s = "{\"answers_changed\":" + std::string(d.answers_changed ? "true" : "false") +
                    ",\"prefixes_changed\":" + std::to_string(d.prefixes_changed) + ",\"ipv4_24s_moved\":" +
                    number(d.v4_moved) + ",\"ipv6_48s_moved\":" + number(d.v6_moved) + ",\"providers\":[";
    for (std::size_t i = 0; i < d.providers.size(); ++i) {
        const auto& p = d.providers[i];
        s += (i ? "," : "") + std::string("{\"provider\":") + json_string(p.provider) +
             ",\"prefixes_gained\":" + std::to_string(p.prefixes_gained) + ",\"prefixes_lost\":" +
             std::to_string(p.prefixes_lost) + ",\"ipv4_24s_gained\":" + number(p.v4_gained) +
             ",\"ipv4_24s_lost\":" + number(p.v4_lost) + ",\"ipv6_48s_gained\":" + number(p.v6_gained) +
             ",\"ipv6_48s_lost\":" + number(p.v6_lost) + "}";
    }
    s += "],\"moves\":[";
    for (std::size_t i = 0; i < d.moves.size() && i < max_moves; ++i) {
        const auto& m = d.moves[i];
        s += (i ? "," : "") + std::string("{\"before\":") + json_string(prefix_text(m.old_prefix)) +
             ",\"before_origins\":" + json_string(origins_text(m.old_origins)) + ",\"after\":" +
             json_string(prefix_text(m.new_prefix)) + ",\"after_origins\":" + json_string(origins_text(m.new_origins)) +
             ",\"from\":" + json_string(m.from) + ",\"to\":" + json_string(m.to) + ",\"family\":" +
             (m.v6 ? "\"ipv6\"" : "\"ipv4\"") + ",\"size\":" + number(m.size) + "}";
    }
    s += "],\"moves_total\":" + std::to_string(d.moves.size()) + "}\n";
    return s;
}

}  // namespace registry_redirector
