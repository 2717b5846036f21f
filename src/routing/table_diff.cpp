#include "registry_redirector/routing/table_diff.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string_view>
#include <tuple>

#include "registry_redirector/routing/routing_table.hpp"

namespace registry_redirector {

namespace {

constexpr std::string_view none = "none";

/// A piece's answer on one side, as views into the explainer's table (no
/// allocation per piece; most pieces do not change).
struct answer_view {
    std::string_view provider, region, redirect;
    bool operator==(const answer_view&) const = default;
};

answer_view answer_of(const route_explainer& e, std::uint32_t matched, std::uint32_t region, std::uint32_t redirect) {
    const routing_table& t = e.table();
    return {matched == routing_table::no_provider ? none : std::string_view(t.providers()[matched].name),
            t.region_name(region), t.providers()[redirect].name};
}

diff_answer owned(answer_view a) {
    return {std::string(a.provider), std::string(a.region), std::string(a.redirect)};
}

/// (family, network, length): the order of route_explainer::prefixes().
auto prefix_key(const ip_prefix& p) {
    return std::tuple(p.family, p.family == ip_family::v4 ? uint128{p.v4} : p.v6, p.length);
}

struct move_key {
    std::optional<ip_prefix> old_prefix, new_prefix;
    diff_answer from, to;
    bool v6;
    friend bool operator<(const move_key& a, const move_key& b) {
        const auto k = [](const move_key& m) {
            const auto p = [](const std::optional<ip_prefix>& x) {
                return x ? std::tuple(1, x->v4, x->v6, x->length) : std::tuple(0, 0u, uint128{0}, std::uint8_t{0});
            };
            return std::tuple(m.v6, p(m.old_prefix), p(m.new_prefix));
        };
        const auto ka = k(a), kb = k(b);
        if (ka != kb) return ka < kb;
        return std::tie(a.from, a.to) < std::tie(b.from, b.to);
    }
};

}  // namespace

std::string label(const diff_answer& a) { return a.region.empty() ? a.provider : a.provider + "/" + a.region; }

table_diff diff_tables(const diff_side& before, const diff_side& after) {
    const auto explainer = [](const diff_side& side) {
        routing_options options;
        options.clouds = side.clouds;
        return std::make_unique<const route_explainer>(side.providers, side.default_provider, side.origins,
                                                      std::move(options));
    };
    const auto old_ptr = explainer(before), new_ptr = explainer(after);
    const route_explainer &old_e = *old_ptr, &new_e = *new_ptr;
    table_diff d;
    std::map<std::pair<std::string, std::string>, provider_delta> deltas;  // (provider, region)
    auto delta = [&](std::string_view provider, std::string_view region) -> provider_delta& {
        auto& x = deltas[{std::string(provider), std::string(region)}];
        x.provider = provider;
        x.region = region;
        return x;
    };
    for (const auto* side : {&before, &after})
        for (const auto& p : side->providers) delta(p.name, {});

    // Prefix level: both sides' resolved prefixes, merged in their common
    // order; a prefix only one side has is nobody's on the other.
    const std::vector<explained_prefix> old_rows = old_e.prefixes(), new_rows = new_e.prefixes();
    const auto owner = [](const route_explainer& e, const explained_prefix* r) {
        if (!r || r->matched == routing_table::no_provider) return std::pair(none, std::string_view());
        return std::pair(std::string_view(e.table().providers()[r->matched].name), e.table().region_name(r->region));
    };
    for (std::size_t i = 0, j = 0; i < old_rows.size() || j < new_rows.size();) {
        const explained_prefix* o = i < old_rows.size() ? &old_rows[i] : nullptr;
        const explained_prefix* n = j < new_rows.size() ? &new_rows[j] : nullptr;
        if (o && n && prefix_key(o->prefix) != prefix_key(n->prefix)) {
            if (prefix_key(o->prefix) < prefix_key(n->prefix)) n = nullptr;
            else o = nullptr;
        }
        i += o != nullptr;
        j += n != nullptr;
        const auto from = owner(old_e, o), to = owner(new_e, n);
        if (from == to) continue;
        ++d.prefixes_changed;
        if (from.first != none) ++delta(from.first, from.second).prefixes_lost;
        if (to.first != none) ++delta(to.first, to.second).prefixes_gained;
    }

    // Address level: cut both families at every boundary of either side.
    struct move_value {
        double size = 0;
        std::vector<std::uint32_t> old_origins, new_origins;
    };
    std::map<move_key, move_value> moves;
    auto visit = [&](bool v6, uint128 start, unsigned size_units_shift, const uint128 size) {
        ip_address a;
        a.family = v6 ? ip_family::v6 : ip_family::v4;
        if (v6) a.v6 = start;
        else a.v4 = static_cast<std::uint32_t>(start);
        const route_explanation o = old_e.explain(a), n = new_e.explain(a);
        const answer_view from = answer_of(old_e, o.matched, o.region, o.redirect);
        const answer_view to = answer_of(new_e, n.matched, n.region, n.redirect);
        if (from == to) return;
        d.answers_changed = true;
        // Sizes as /24 or /48 equivalents; a long double keeps 2^128 finite.
        const double units = static_cast<double>(static_cast<long double>(size) /
                                                 static_cast<long double>(uint128{1} << size_units_shift));
        if (v6) d.v6_moved += units;
        else d.v4_moved += units;
        if (from.provider != to.provider || from.region != to.region) {
            if (from.provider != none) {
                auto& lost = delta(from.provider, from.region);
                (v6 ? lost.v6_lost : lost.v4_lost) += units;
            }
            if (to.provider != none) {
                auto& gained = delta(to.provider, to.region);
                (v6 ? gained.v6_gained : gained.v4_gained) += units;
            }
        }
        auto [it, added] = moves.try_emplace({o.prefix, n.prefix, owned(from), owned(to), v6});
        if (added) {
            it->second.old_origins = o.origins;
            it->second.new_origins = n.origins;
        }
        it->second.size += units;
    };

    // IPv4: boundaries as 64-bit values (2^32 ends the space).
    {
        std::vector<std::uint64_t> cuts{0, std::uint64_t{1} << 32};
        for (const auto* rows : {&old_rows, &new_rows})
            for (const auto& r : *rows)
                if (r.prefix.family == ip_family::v4) {
                    cuts.push_back(r.prefix.v4);
                    cuts.push_back(std::uint64_t{r.prefix.v4} + (std::uint64_t{1} << (32 - r.prefix.length)));
                }
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
        for (std::size_t i = 0; i + 1 < cuts.size(); ++i) visit(false, cuts[i], 8, cuts[i + 1] - cuts[i]);
    }
    // IPv6: boundaries as 128-bit values; the end of the space wraps to 0,
    // so the last piece runs to 2^128.
    {
        std::vector<uint128> cuts{0};
        for (const auto* rows : {&old_rows, &new_rows})
            for (const auto& r : *rows)
                if (r.prefix.family == ip_family::v6) {
                    cuts.push_back(r.prefix.v6);
                    const uint128 end = r.prefix.length == 0 ? 0 : r.prefix.v6 + (uint128{1} << (128 - r.prefix.length));
                    if (end != 0) cuts.push_back(end);
                }
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
        for (std::size_t i = 0; i < cuts.size(); ++i) {
            const uint128 size = i + 1 < cuts.size() ? cuts[i + 1] - cuts[i] : uint128{0} - cuts[i];
            // The whole space (no cut but 0) is 2^128, which wraps to 0: use the largest value.
            visit(true, cuts[i], 80, size == 0 ? ~uint128{0} : size);
        }
    }

    for (auto& [key, x] : deltas) d.providers.push_back(x);
    for (auto& [k, v] : moves)
        d.moves.push_back({k.old_prefix, k.new_prefix, std::move(v.old_origins), std::move(v.new_origins), k.from, k.to,
                           k.v6, v.size});
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

namespace {

std::string delta_label(const provider_delta& p) { return label(diff_answer{p.provider, p.region, {}}); }

/// Both sides of a move; the redirect target only when it is all that changes.
std::pair<std::string, std::string> move_labels(const address_move& m) {
    if (m.from.provider != m.to.provider || m.from.region != m.to.region) return {label(m.from), label(m.to)};
    return {label(m.from) + " (redirect " + m.from.redirect + ")", label(m.to) + " (redirect " + m.to.redirect + ")"};
}

std::string json_answer(const diff_answer& a) {
    return "{\"provider\":" + json_string(a.provider) +
           ",\"region\":" + (a.region.empty() ? std::string("null") : json_string(a.region)) +
           ",\"redirect\":" + json_string(a.redirect) + "}";
}

}  // namespace

std::string diff_text(const table_diff& d, std::size_t max_moves) {
    int width = 16;
    for (const auto& p : d.providers) width = std::max(width, static_cast<int>(delta_label(p).size()));
    std::string s;
    char line[512];
    std::snprintf(line, sizeof line, "%-*s %9s %9s %12s %12s %12s %12s\n", width, "provider/region", "+prefixes",
                  "-prefixes", "+IPv4 /24s", "-IPv4 /24s", "+IPv6 /48s", "-IPv6 /48s");
    s += line;
    for (const auto& p : d.providers) {
        std::snprintf(line, sizeof line, "%-*s %9llu %9llu %12s %12s %12s %12s\n", width, delta_label(p).c_str(),
                      static_cast<unsigned long long>(p.prefixes_gained), static_cast<unsigned long long>(p.prefixes_lost),
                      number(p.v4_gained).c_str(), number(p.v4_lost).c_str(), number(p.v6_gained).c_str(),
                      number(p.v6_lost).c_str());
        s += line;
    }
    s += d.moves.empty() ? "no address changes provider or region\n"
                         : "largest moves (prefix before -> after, provider/region from -> to):\n";
    for (std::size_t i = 0; i < d.moves.size() && i < max_moves; ++i) {
        const auto& m = d.moves[i];
        const auto [from, to] = move_labels(m);
        s += "  " + prefix_text(m.old_prefix) + " (" + origins_text(m.old_origins) + ") -> " + prefix_text(m.new_prefix) +
             " (" + origins_text(m.new_origins) + "): " + from + " -> " + to + ", " + number(m.size) +
             (m.v6 ? " /48s\n" : " /24s\n");
    }
    if (d.moves.size() > max_moves) s += "  ... and " + std::to_string(d.moves.size() - max_moves) + " more\n";
    s += "totals: " + std::to_string(d.prefixes_changed) + " prefixes change provider or region; " +
         number(d.v4_moved) + " IPv4 /24s and " + number(d.v6_moved) + " IPv6 /48s are answered differently\n";
    return s;
}

std::string diff_json(const table_diff& d, std::size_t max_moves) {
    std::string s = "{\"answers_changed\":" + std::string(d.answers_changed ? "true" : "false") +
                    ",\"prefixes_changed\":" + std::to_string(d.prefixes_changed) + ",\"ipv4_24s_moved\":" +
                    number(d.v4_moved) + ",\"ipv6_48s_moved\":" + number(d.v6_moved) + ",\"providers\":[";
    for (std::size_t i = 0; i < d.providers.size(); ++i) {
        const auto& p = d.providers[i];
        s += (i ? "," : "") + std::string("{\"provider\":") + json_string(p.provider) +
             ",\"region\":" + (p.region.empty() ? std::string("null") : json_string(p.region)) +
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
             ",\"from\":" + json_answer(m.from) + ",\"to\":" + json_answer(m.to) + ",\"family\":" +
             (m.v6 ? "\"ipv6\"" : "\"ipv4\"") + ",\"size\":" + number(m.size) + "}";
    }
    s += "],\"moves_total\":" + std::to_string(d.moves.size()) + "}\n";
    return s;
}

}  // namespace registry_redirector
