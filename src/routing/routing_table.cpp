#include "registry_redirector/routing/routing_table.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "registry_redirector/data/config_error.hpp"

namespace registry_redirector {

namespace {

constexpr std::uint32_t hole = 0xfffffffeu;  // a prefix of no provider: punches a hole
constexpr std::size_t max_listed_warnings = 1000;

/// ASN -> the providers listing it, in file order.
class asn_owners {
public:
    explicit asn_owners(const std::vector<provider_config>& providers) : maybe_(1 << 16) {
        for (std::uint32_t i = 0; i < providers.size(); ++i)
            for (std::uint32_t asn : providers[i].asns) {
                pairs_.push_back({asn, i});
                maybe_[asn & 0xffff] = true;
            }
        std::sort(pairs_.begin(), pairs_.end());
    }

    /// Calls f(provider) for each provider listing `asn`, in file order.
    template <class F>
    void for_each(std::uint32_t asn, F&& f) const {
        // Almost every origin in a whole-Internet table belongs to no
        // provider: one bit test on the low 16 bits rules most of them out.
        if (!maybe_[asn & 0xffff]) return;
        auto it = std::lower_bound(pairs_.begin(), pairs_.end(), std::pair{asn, std::uint32_t{0}});
        for (; it != pairs_.end() && it->first == asn; ++it) f(it->second);
    }

    std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs_;
    std::vector<bool> maybe_;
};

template <class Key>
struct cidr_entry {
    Key network;
    std::uint8_t length;
    std::uint32_t provider;
    std::uint32_t region = no_region;  ///< a cloud range prefix's label
};

/// One resolved prefix, as handed to a visitor.
template <class Origin>
struct resolved {
    decltype(Origin::network) network;
    std::uint8_t length;
    std::uint32_t provider;  // provider index, or hole
    const Origin* origins;   // the table's (prefix, origin) rows for it; may be empty
    std::size_t origin_count;
    bool explicit_cidr;
    std::uint32_t region = no_region;  // the client region of addresses in it (README "Mirrors and routes")
};

struct warning_sink {
    std::vector<std::string>& list;
    std::size_t& ties;
    void add(std::string w) {
        if (list.size() < max_listed_warnings) list.push_back(std::move(w));
    }
};

/// Applies the decision rules to one address family. `origins` is sorted in
/// place; `cidrs` are the explicit prefixes of this family, sorted.
template <class Origin, class Visitor>
void resolve_family(std::vector<Origin>& origins,
                    const std::vector<cidr_entry<decltype(Origin::network)>>& cidrs, const asn_owners& owners,
                    const std::vector<provider_config>& providers, warning_sink& warnings, Visitor&& visit_resolved) {
    using Key = decltype(Origin::network);
    // Region inheritance: the region of a prefix is the label of the most
    // specific labelled prefix of its owner that contains it. Prefixes come
    // in (start, length) order, so the open labelled prefixes form a stack.
    struct open_label {
        Key last;
        std::uint32_t provider;
        std::uint32_t region;
    };
    std::vector<open_label> labels;
    auto visit = [&](resolved<Origin> r, std::uint32_t own_region) {
        while (!labels.empty() && labels.back().last < r.network) labels.pop_back();
        if (r.provider != hole) {
            if (own_region != no_region) {
                r.region = own_region;
                const Key host = r.length == sizeof(Key) * 8 ? Key{0} : static_cast<Key>(~Key{0} >> r.length);
                labels.push_back({static_cast<Key>(r.network | host), r.provider, own_region});
            } else {
                for (auto it = labels.rbegin(); it != labels.rend(); ++it)
                    if (it->provider == r.provider) {
                        r.region = it->region;
                        break;
                    }
            }
        }
        visit_resolved(r);
    };
    auto less = [](const Origin& a, const Origin& b) {
        if (a.network != b.network) return a.network < b.network;
        if (a.length != b.length) return a.length < b.length;
        return a.asn < b.asn;
    };
    if (!std::is_sorted(origins.begin(), origins.end(), less)) std::sort(origins.begin(), origins.end(), less);

    auto cidr_it = cidrs.begin();
    auto emit_cidr = [&](const Origin* rows, std::size_t count) {
        visit(resolved<Origin>{cidr_it->network, cidr_it->length, cidr_it->provider, rows, count, true},
              cidr_it->region);
        ++cidr_it;
    };
    auto cidr_before = [&](const Origin& o) {
        return cidr_it != cidrs.end() && (cidr_it->network != o.network ? cidr_it->network < o.network
                                                                        : cidr_it->length < o.length);
    };

    std::size_t i = 0;
    while (i < origins.size()) {
        std::size_t j = i + 1;
        while (j < origins.size() && origins[j].network == origins[i].network &&
               origins[j].length == origins[i].length)
            ++j;
        while (cidr_before(origins[i])) emit_cidr(nullptr, 0);
        if (cidr_it != cidrs.end() && cidr_it->network == origins[i].network &&
            cidr_it->length == origins[i].length) {
            emit_cidr(&origins[i], j - i);  // an explicit cidr beats what the tables say
            i = j;
            continue;
        }
        std::uint32_t winner = hole;
        bool tie = false;
        for (std::size_t k = i; k < j; ++k) {
            if (k > i && origins[k].asn == origins[k - 1].asn) continue;  // a duplicate row
            owners.for_each(origins[k].asn, [&](std::uint32_t p) {
                if (winner != hole && winner != p) tie = true;
                winner = std::min(winner == hole ? p : winner, p);
            });
        }
        if (tie) {
            ++warnings.ties;
            std::string who;
            for (std::size_t k = i; k < j; ++k)
                owners.for_each(origins[k].asn, [&](std::uint32_t p) {
                    who += (who.empty() ? "" : ", ") + std::string("AS") + std::to_string(origins[k].asn) + " (" +
                           providers[p].name + ")";
                });
            ip_prefix shown;
            if constexpr (sizeof(origins[i].network) == 4)
                shown = {ip_family::v4, origins[i].network, 0, origins[i].length};
            else
                shown = {ip_family::v6, 0, origins[i].network, origins[i].length};
            warnings.add("prefix " + to_string(shown) + " is claimed by several providers: " + who + "; " +
                         providers[winner].name + " wins (its file name sorts first)");
        }
        visit(resolved<Origin>{origins[i].network, origins[i].length, winner, &origins[i], j - i, false}, no_region);
        i = j;
    }
    while (cidr_it != cidrs.end()) emit_cidr(nullptr, 0);
}

/// Everything both the routing table and the explainer need before the
/// per-family walk.
struct resolution_inputs {
    std::vector<cidr_entry<std::uint32_t>> cidrs_v4;
    std::vector<cidr_entry<uint128>> cidrs_v6;
    std::uint32_t default_index = 0;
};

std::uint32_t find_default(const std::vector<provider_config>& providers, const std::string& default_provider) {
    auto def = std::find_if(providers.begin(), providers.end(),
                            [&](const provider_config& p) { return p.name == default_provider; });
    if (def == providers.end()) {
        std::string names;
        for (const auto& p : providers) names += (names.empty() ? "" : ", ") + p.name;
        throw config_error("default_provider", 0,
                           "default provider \"" + default_provider + "\" is not among the providers (" + names + ")");
    }
    if (!def->redirects_to && def->mirrors.empty())
        throw config_error(def->file, 0, "the default provider \"" + default_provider + "\" has no redirectsTo and no mirrors");
    if (!def->active)
        throw config_error(def->file, 0, "the default provider \"" + default_provider + "\" cannot be active: false");
    return static_cast<std::uint32_t>(def - providers.begin());
}

/// The region labels of all range files, sorted and unique.
std::vector<std::string> all_regions(const std::vector<labelled_source>& clouds) {
    std::set<std::string> names;
    for (const auto& c : clouds) names.insert(c.ranges.regions.begin(), c.ranges.regions.end());
    return {names.begin(), names.end()};
}

std::uint32_t provider_named(const std::vector<provider_config>& providers, const labelled_source& c) {
    for (std::uint32_t i = 0; i < providers.size(); ++i)
        if (providers[i].name == c.source.provider) return i;
    std::string names;
    for (const auto& p : providers) names += (names.empty() ? "" : ", ") + p.name;
    throw config_error(c.config_path, c.source.line,
                       "cloud_ranges provider \"" + c.source.provider + "\" is not among the providers (" + names + ")");
}

resolution_inputs prepare(const std::vector<provider_config>& providers, const std::string& default_provider,
                          std::vector<std::string>& warnings, const std::vector<labelled_source>& clouds = {},
                          std::size_t* labelled = nullptr) {
    resolution_inputs in;
    if (!default_provider.empty()) in.default_index = find_default(providers, default_provider);

    // Explicit cidrs: one owner each; a second provider listing the same
    // prefix loses by file order, as with ASNs.
    // The value is (provider, index in its family's list).
    std::map<std::pair<int, std::pair<uint128, int>>, std::pair<std::uint32_t, std::size_t>> seen;
    auto key_of = [](const ip_prefix& c) {
        return std::pair{static_cast<int>(c.family), std::pair{c.family == ip_family::v4 ? uint128{c.v4} : c.v6, static_cast<int>(c.length)}};
    };
    for (std::uint32_t i = 0; i < providers.size(); ++i) {
        for (const auto& c : providers[i].cidrs) {
            const std::size_t index = c.family == ip_family::v4 ? in.cidrs_v4.size() : in.cidrs_v6.size();
            if (auto [it, inserted] = seen.emplace(key_of(c), std::pair{i, index}); !inserted) {
                warnings.push_back("cidr " + to_string(c) + " is listed by " + providers[it->second.first].name + " and " +
                                   providers[i].name + "; " + providers[it->second.first].name + " wins (its file name sorts first)");
                continue;
            }
            if (c.family == ip_family::v4)
                in.cidrs_v4.push_back({c.v4, c.length, i});
            else
                in.cidrs_v6.push_back({c.v6, c.length, i});
        }
    }
    // Cloud range prefixes are the provider's exactly like cidrs, with a
    // region label. On a prefix claimed twice the first claim (cidrs, then
    // range files in config order) keeps it; the same provider's claim just
    // adds the label.
    const std::vector<std::string> regions = all_regions(clouds);
    std::size_t conflicts = 0;
    std::string first_conflict;
    for (const auto& c : clouds) {
        const std::uint32_t provider = provider_named(providers, c);
        for (const auto& e : c.ranges.prefixes) {
            const auto region = static_cast<std::uint32_t>(
                std::lower_bound(regions.begin(), regions.end(), c.ranges.regions[e.region]) - regions.begin());
            const std::size_t index = e.prefix.family == ip_family::v4 ? in.cidrs_v4.size() : in.cidrs_v6.size();
            if (auto [it, inserted] = seen.emplace(key_of(e.prefix), std::pair{provider, index}); !inserted) {
                if (it->second.first == provider) {
                    auto& existing = e.prefix.family == ip_family::v4 ? in.cidrs_v4[it->second.second].region
                                                                      : in.cidrs_v6[it->second.second].region;
                    if (existing == no_region) existing = region;
                } else {
                    if (conflicts++ == 0)
                        first_conflict = to_string(e.prefix) + " of " + c.source.file + " (" + providers[provider].name +
                                         ") is already " + providers[it->second.first].name + "'s";
                }
                continue;
            }
            if (labelled) ++*labelled;
            if (e.prefix.family == ip_family::v4)
                in.cidrs_v4.push_back({e.prefix.v4, e.prefix.length, provider, region});
            else
                in.cidrs_v6.push_back({e.prefix.v6, e.prefix.length, provider, region});
        }
        for (const auto& w : c.ranges.warnings) warnings.push_back(w);
    }
    if (conflicts)
        warnings.push_back(std::to_string(conflicts) + " cloud range prefixes are claimed by an earlier cidr or range file of another provider and keep that owner, e.g. " + first_conflict);
    auto by_prefix = [](const auto& a, const auto& b) {
        return a.network != b.network ? a.network < b.network : a.length < b.length;
    };
    std::sort(in.cidrs_v4.begin(), in.cidrs_v4.end(), by_prefix);
    std::sort(in.cidrs_v6.begin(), in.cidrs_v6.end(), by_prefix);

    // An ASN listed by several providers is a tie for every prefix it
    // originates: say so once here, and per prefix during resolution.
    std::map<std::uint32_t, std::vector<std::uint32_t>> listed_by;
    for (std::uint32_t i = 0; i < providers.size(); ++i)
        for (auto asn : providers[i].asns) listed_by[asn].push_back(i);
    for (const auto& [asn, who] : listed_by) {
        if (who.size() < 2) continue;
        std::string names;
        for (auto p : who) names += (names.empty() ? "" : " and ") + providers[p].name;
        warnings.push_back("AS" + std::to_string(asn) + " is listed by " + names + "; " + providers[who[0]].name +
                           " wins (its file name sorts first)");
    }
    for (const auto& p : providers) {
        const bool has_ranges = std::any_of(clouds.begin(), clouds.end(),
                                            [&](const labelled_source& c) { return c.source.provider == p.name; });
        for (const auto& w : p.warnings)
            if (!has_ranges || w.find("lists no asns and no cidrs") == std::string::npos) warnings.push_back(w);
    }
    return in;
}

std::vector<routing_provider> make_providers(const std::vector<provider_config>& providers,
                                             std::uint32_t default_index) {
    std::vector<routing_provider> out;
    for (std::uint32_t i = 0; i < providers.size(); ++i) {
        routing_provider r;
        r.name = providers[i].name;
        r.file = providers[i].file;
        r.redirects_to = providers[i].redirects_to;
        r.active = providers[i].active;
        r.oncall = providers[i].oncall;
        const bool serves = (providers[i].redirects_to || !providers[i].mirrors.empty()) && providers[i].active;
        r.redirect_index = serves ? i : default_index;
        r.asns = providers[i].asns;
        out.push_back(std::move(r));
    }
    return out;
}

std::uint64_t name_hash(const std::string& name) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a, then mixed
    for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    return rendezvous_hash(h, 0x9e3779b97f4a7c15ull);
}

/// Every provider's mirrors (redirectsTo becomes one mirror named after the
/// provider), with region labels turned into ids.
std::vector<routing_mirror> make_mirrors(const std::vector<provider_config>& providers,
                                         std::vector<routing_provider>& out, const std::vector<std::string>& regions) {
    std::vector<routing_mirror> mirrors;
    std::map<std::string, std::string> where;  // name -> "file:line"
    auto add = [&](routing_mirror m, const std::string& at) {
        if (auto [it, inserted] = where.emplace(m.name, at); !inserted)
            throw config_error(at, 0, "mirror name \"" + m.name + "\" is also used by " + it->second +
                                          " (a provider with only redirectsTo has one mirror named after it)");
        if (mirrors.size() >= 0xffff) throw config_error(at, 0, "more than 65535 mirrors");
        m.name_hash = name_hash(m.name);
        out[m.provider].mirrors.push_back(static_cast<std::uint32_t>(mirrors.size()));
        mirrors.push_back(std::move(m));
    };
    for (std::uint32_t i = 0; i < providers.size(); ++i) {
        const provider_config& p = providers[i];
        if (p.mirrors.empty()) {
            if (!p.redirects_to) continue;
            routing_mirror m;
            m.name = p.name;
            m.provider = i;
            m.registry = parse_url_template(p.redirects_to->registry, template_mode::location);
            m.artifacts = parse_url_template(p.redirects_to->artifacts, template_mode::location);
            m.blobs = m.registry;
            m.from_redirects_to = true;
            add(std::move(m), p.file);
            continue;
        }
        for (const mirror_config& c : p.mirrors) {
            routing_mirror m;
            m.name = c.name;
            m.provider = i;
            m.any_region = c.any_region;
            for (const auto& label : c.regions) {
                const auto it = std::lower_bound(regions.begin(), regions.end(), label);
                if (it != regions.end() && *it == label) m.regions.push_back(static_cast<std::uint32_t>(it - regions.begin()));
                else m.unknown_regions.push_back(label);
            }
            std::sort(m.regions.begin(), m.regions.end());
            m.weight = c.weight;
            m.ipv6 = c.ipv6;
            m.ranges = c.ranges;
            m.registry = c.registry;
            m.artifacts = c.artifacts;
            m.blobs = c.blobs;
            add(std::move(m), p.file + ":" + std::to_string(c.line));
        }
    }
    return mirrors;
}

bool eligible(const routing_mirror& m, unsigned caps) noexcept {
    return ((caps & caps_ipv6) == 0 || m.ipv6) && ((caps & caps_range) == 0 || m.ranges);
}

const char* caps_text(unsigned caps) {
    switch (caps) {
        case 0: return "IPv4 clients";
        case caps_ipv6: return "IPv6 clients";
        case caps_range: return "IPv4 clients with a Range header";
        default: return "IPv6 clients with a Range header";
    }
}

}  // namespace

routing_table build_routing_table(const std::vector<provider_config>& providers, const std::string& default_provider,
                                  origin_table origins, routing_options options) {
    routing_table t;
    resolution_inputs in = prepare(providers, default_provider, t.warnings_, options.clouds, &t.stats_.labelled_prefixes);
    in.default_index = find_default(providers, default_provider);
    t.providers_ = make_providers(providers, in.default_index);
    t.default_index_ = in.default_index;
    t.regions_ = all_regions(options.clouds);
    t.mirrors_ = make_mirrors(providers, t.providers_, t.regions_);
    t.routes_ = std::move(options.routes);
    t.explain_header_ = options.explain_header;
    for (const auto& m : t.mirrors_) t.hot_.push_back({m.name_hash, m.weight});
    const asn_owners owners(providers);
    warning_sink sink{t.warnings_, t.stats_.ties};

    // Network ids: (serving provider, no region) are the provider indexes,
    // so a config without range files has the same values as before.
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> network_ids;
    for (std::uint32_t i = 0; i < t.providers_.size(); ++i) {
        network_ids.emplace(std::pair{i, no_region}, i);
        t.networks_.push_back({i, no_region});
    }
    auto network_of = [&](std::uint32_t owner, std::uint32_t region) {
        const std::uint32_t serving = t.redirect_index(owner == hole ? routing_table::no_provider : owner);
        auto [it, inserted] = network_ids.emplace(std::pair{serving, region}, static_cast<std::uint32_t>(t.networks_.size()));
        if (inserted) t.networks_.push_back({serving, region});
        return it->second;
    };

    std::vector<lpm_table_v4::entry> e4;
    resolve_family(origins.v4, in.cidrs_v4, owners, providers, sink, [&](const resolved<origin_v4>& r) {
        if (r.provider != hole) ++t.providers_[r.provider].prefixes_v4;
        if (!r.explicit_cidr || r.origin_count) ++t.stats_.table_prefixes_v4;
        e4.push_back({r.network, r.length, network_of(r.provider, r.region)});
    });
    origins.v4 = {};
    t.v4_ = lpm_table_v4::build(std::move(e4), t.default_index_);

    std::vector<lpm_table_v6::entry> e6;
    resolve_family(origins.v6, in.cidrs_v6, owners, providers, sink, [&](const resolved<origin_v6>& r) {
        if (r.provider != hole) ++t.providers_[r.provider].prefixes_v6;
        if (!r.explicit_cidr || r.origin_count) ++t.stats_.table_prefixes_v6;
        e6.push_back({r.network, r.length, network_of(r.provider, r.region)});
    });
    origins.v6 = {};
    t.v6_ = lpm_table_v6::build(std::move(e6), t.default_index_);

    t.stats_.ranges_v4 = t.v4_.range_count();
    t.stats_.ranges_v6 = t.v6_.range_count();
    t.stats_.memory_bytes = t.v4_.memory_bytes() + t.v6_.memory_bytes();
    t.stats_.trie_nodes = t.v4_.node_count() + t.v6_.node_count();
    t.stats_.search_spans = t.v4_.span_count() + t.v6_.span_count();
    if (t.stats_.ties > max_listed_warnings)
        t.warnings_.push_back(std::to_string(t.stats_.ties) + " prefixes are claimed by several providers in all");
    // A provider no prefix ended up with is almost always a mistake (a wrong
    // ASN, a stale table): nobody is sent to it.
    for (std::size_t i = 0; i < providers.size(); ++i) {
        const routing_provider& p = t.providers_[i];
        // The default serves every client no prefix gives another provider.
        if (p.prefixes_v4 + p.prefixes_v6 != 0 || i == t.default_index_) continue;
        std::string asns;
        for (std::size_t k = 0; k < p.asns.size() && k < 8; ++k) {
            asns += k ? ", AS" : "AS";
            asns += std::to_string(p.asns[k]);
        }
        if (p.asns.size() > 8) asns += ", ...";
        const std::string& file = providers[i].file;
        t.warnings_.push_back("provider " + p.name + (file.empty() ? "" : " (" + file + ")") + " has no prefixes: " +
                              (p.asns.empty() ? std::string("it lists no ASNs") : "no table prefix is originated by " + asns) +
                              (providers[i].cidrs.empty() ? " and it lists no cidrs" : " and its cidrs are all taken") +
                              ", so no client is sent to it");
    }

    // The default provider must serve every client, whatever its needs.
    const routing_provider& def = t.providers_[t.default_index_];
    for (unsigned caps = 0; caps < caps_count; ++caps)
        if (std::none_of(def.mirrors.begin(), def.mirrors.end(), [&](std::uint32_t m) { return eligible(t.mirrors_[m], caps); }))
            throw config_error(def.file, 0, "no mirror of the default provider \"" + def.name + "\" may serve " +
                                                caps_text(caps) + " (check its mirrors' ipv6 and ranges)");
    // Selection tiers per (network, needs), README "Mirrors and routes".
    for (std::uint32_t n = 0; n < t.networks_.size(); ++n) {
        const routing_network& net = t.networks_[n];
        for (unsigned caps = 0; caps < caps_count; ++caps) {
            t.plan_index_.push_back(static_cast<std::uint32_t>(t.tiers_.size()));
            auto add_tiers = [&](std::uint32_t provider, std::uint8_t first_tier) {
                for (std::uint8_t k = 0; k < 3; ++k) {
                    const auto first = static_cast<std::uint32_t>(t.tier_mirrors_.size());
                    for (std::uint32_t m : t.providers_[provider].mirrors) {
                        const routing_mirror& mm = t.mirrors_[m];
                        if (!eligible(mm, caps)) continue;
                        const bool in_tier =
                            k == 0 ? (net.region != no_region && std::binary_search(mm.regions.begin(), mm.regions.end(), net.region))
                                   : k == 1 ? mm.any_region : true;
                        if (in_tier) t.tier_mirrors_.push_back(static_cast<std::uint16_t>(m));
                    }
                    const auto count = static_cast<std::uint32_t>(t.tier_mirrors_.size() - first);
                    if (count) t.tiers_.push_back({first, static_cast<std::uint16_t>(count), static_cast<std::uint8_t>(first_tier + k)});
                }
            };
            add_tiers(net.provider, 1);
            if (net.provider != t.default_index_) add_tiers(t.default_index_, 4);
        }
    }
    t.plan_index_.push_back(static_cast<std::uint32_t>(t.tiers_.size()));

    for (const auto& m : t.mirrors_)
        for (const auto& label : m.unknown_regions)
            t.warnings_.push_back("mirror " + m.name + " lists region \"" + label +
                                  "\", which no cloud_ranges file produces: no client will match it");
    for (const auto& p : t.providers_)
        if (!p.active)
            t.warnings_.push_back("provider " + p.name + " is active: false; its clients go to the default provider, " +
                                  def.name);
    if (t.routes_)
        for (std::size_t c = 0; c < path_class_count; ++c)
            if (t.routes_->classes[c].kind == class_action_kind::mirror && c != static_cast<std::size_t>(path_class::blob)) {
                // Only a reminder when templates need values this class lacks.
                for (const auto& m : t.mirrors_) {
                    const url_template& tpl = c == static_cast<std::size_t>(path_class::root) ||
                                                      c == static_cast<std::size_t>(path_class::artifact)
                                                  ? m.artifacts
                                                  : m.registry;
                    for (const auto& part : tpl.parts)
                        if (part.is_variable && part.variable == template_variable::digest) {
                            t.warnings_.push_back("mirror " + m.name + ": class " +
                                                  to_label(static_cast<path_class>(c)) +
                                                  " uses a template with {digest}, which is empty outside blob requests");
                            break;
                        }
                }
            }
    return t;
}

std::vector<routing_table::tier_view> routing_table::tiers_for(std::uint32_t network, unsigned caps) const {
    std::vector<tier_view> out;
    const std::size_t slot = std::size_t{network} * caps_count + caps;
    for (std::uint32_t i = plan_index_[slot]; i < plan_index_[slot + 1]; ++i)
        out.push_back({tiers_[i].tier, tier_mirrors_.data() + tiers_[i].first, tiers_[i].count});
    return out;
}

std::uint64_t client_network_key(const ip_address& address) noexcept {
    // The /24 or /48 a client's address is in: a whole network sticks to
    // one mirror (caches there stay warm), tagged by family.
    const std::uint64_t raw = address.family == ip_family::v4
                                  ? (std::uint64_t{address.v4 >> 8} | (std::uint64_t{1} << 62))
                                  : (static_cast<std::uint64_t>(address.v6 >> 80) | (std::uint64_t{2} << 62));
    return rendezvous_hash(raw, 0x2545f4914f6cdd1dull);
}

std::vector<labelled_source> load_cloud_sources(const server_config& config) {
    std::vector<labelled_source> out;
    for (const auto& src : config.cloud_ranges)
        out.push_back({src, load_cloud_ranges(src.file, src.format), config.path});
    return out;
}

namespace {

template <class Origin, class Key>
void reduce_family(std::vector<Origin>& rows, const std::vector<cidr_entry<Key>>& cidrs, const asn_owners& owners,
                   std::vector<Origin>& kept) {
    auto less = [](const Origin& a, const Origin& b) {
        if (a.network != b.network) return a.network < b.network;
        if (a.length != b.length) return a.length < b.length;
        return a.asn < b.asn;
    };
    std::sort(rows.begin(), rows.end(), less);
    auto last_address = [](Key network, unsigned length) {
        const Key host = length == sizeof(Key) * 8 ? Key{0} : static_cast<Key>(~Key{0} >> length);
        return static_cast<Key>(network | host);
    };
    // Open provider prefixes, as their last addresses; nested ones on top.
    std::vector<Key> open;
    auto cidr = cidrs.begin();
    std::size_t i = 0;
    while (i < rows.size()) {
        std::size_t j = i + 1;
        while (j < rows.size() && rows[j].network == rows[i].network && rows[j].length == rows[i].length) ++j;
        const Key network = rows[i].network;
        // Explicit cidrs that start at or before this prefix open first.
        while (cidr != cidrs.end() &&
               (cidr->network < network || (cidr->network == network && cidr->length <= rows[i].length))) {
            while (!open.empty() && open.back() < cidr->network) open.pop_back();
            open.push_back(last_address(cidr->network, cidr->length));
            ++cidr;
        }
        while (!open.empty() && open.back() < network) open.pop_back();
        bool provider = false;
        for (std::size_t k = i; k < j && !provider; ++k) owners.for_each(rows[k].asn, [&](std::uint32_t) { provider = true; });
        if (provider || !open.empty()) kept.insert(kept.end(), rows.begin() + static_cast<std::ptrdiff_t>(i), rows.begin() + static_cast<std::ptrdiff_t>(j));
        if (provider) open.push_back(last_address(network, rows[i].length));
        i = j;
    }
}

}  // namespace

namespace {

/// One family of provider_row_filter: reduce_family's loop, a row at a time.
template <class Origin, class Key>
class streaming_reducer {
public:
    streaming_reducer(const std::vector<cidr_entry<Key>>& cidrs, const asn_owners& owners)
        : cidrs_(cidrs), owners_(owners) {}

    /// False once a row came before the one it followed.
    bool add(const Origin& row) {
        if (!group_.empty()) {
            const Origin& g = group_.front();
            if (row.network == g.network && row.length == g.length) {  // another origin (MOAS)
                group_.push_back(row);
                return true;
            }
            if (row.network < g.network || (row.network == g.network && row.length < g.length)) return false;
            flush();
        }
        group_.push_back(row);
        return true;
    }

    std::vector<Origin> finish() {
        if (!group_.empty()) flush();
        kept_.shrink_to_fit();
        return std::move(kept_);
    }

private:
    static Key last_address(Key network, unsigned length) {
        const Key host = length == sizeof(Key) * 8 ? Key{0} : static_cast<Key>(~Key{0} >> length);
        return static_cast<Key>(network | host);
    }

    void flush() {
        const Key network = group_.front().network;
        const std::uint8_t length = group_.front().length;
        while (cidr_ < cidrs_.size() && (cidrs_[cidr_].network < network ||
                                         (cidrs_[cidr_].network == network && cidrs_[cidr_].length <= length))) {
            while (!open_.empty() && open_.back() < cidrs_[cidr_].network) open_.pop_back();
            open_.push_back(last_address(cidrs_[cidr_].network, cidrs_[cidr_].length));
            ++cidr_;
        }
        while (!open_.empty() && open_.back() < network) open_.pop_back();
        bool provider = false;
        for (const Origin& r : group_) owners_.for_each(r.asn, [&](std::uint32_t) { provider = true; });
        if (provider || !open_.empty()) kept_.insert(kept_.end(), group_.begin(), group_.end());
        if (provider) open_.push_back(last_address(network, length));
        group_.clear();
    }

    const std::vector<cidr_entry<Key>>& cidrs_;
    const asn_owners& owners_;
    std::size_t cidr_ = 0;
    std::vector<Origin> group_;  // the rows of the current prefix
    std::vector<Key> open_;      // open provider prefixes' last addresses, nested on top
    std::vector<Origin> kept_;
};

}  // namespace

struct provider_row_filter::state {
    state(const std::vector<provider_config>& providers, const std::vector<labelled_source>& clouds)
        : in(prepare(providers, std::string(), ignored, clouds)), owners(providers), v4(in.cidrs_v4, owners),
          v6(in.cidrs_v6, owners) {}
    std::vector<std::string> ignored;  // warnings: build_routing_table gives them
    resolution_inputs in;
    asn_owners owners;
    streaming_reducer<origin_v4, std::uint32_t> v4;
    streaming_reducer<origin_v6, uint128> v6;
    bool sorted = true;
};

provider_row_filter::provider_row_filter(const std::vector<provider_config>& providers,
                                         const std::vector<labelled_source>& clouds)
    : state_(std::make_unique<state>(providers, clouds)) {}
provider_row_filter::~provider_row_filter() = default;

void provider_row_filter::add(const origin_v4& row) {
    if (state_->sorted && !state_->v4.add(row)) state_->sorted = false;
}

void provider_row_filter::add(const origin_v6& row) {
    if (state_->sorted && !state_->v6.add(row)) state_->sorted = false;
}

bool provider_row_filter::sorted() const noexcept { return state_->sorted; }

origin_table provider_row_filter::finish() {
    origin_table out;
    out.v4 = state_->v4.finish();
    out.v6 = state_->v6.finish();
    return out;
}

origin_table reduce_to_providers(const std::vector<provider_config>& providers, origin_table origins,
                                 const std::vector<labelled_source>& clouds) {
    std::vector<std::string> ignored;
    const resolution_inputs in = prepare(providers, std::string(), ignored, clouds);
    const asn_owners owners(providers);
    origin_table out;
    reduce_family(origins.v4, in.cidrs_v4, owners, out.v4);
    reduce_family(origins.v6, in.cidrs_v6, owners, out.v6);
    return out;
}

struct route_explainer::data {
    struct row {
        ip_prefix prefix;
        std::uint32_t provider;
        bool explicit_cidr;
        std::uint32_t first_origin;
        std::uint32_t origin_count;
        std::uint32_t region;
    };
    std::vector<row> rows;
    std::vector<std::uint32_t> origins;
    lpm_table_v4 v4;
    lpm_table_v6 v6;
};

route_explainer::route_explainer(const std::vector<provider_config>& providers, const std::string& default_provider,
                                 origin_table origins, routing_options options)
    : data_(std::make_unique<data>()) {
    std::vector<std::string> ignored_warnings;
    std::size_t ignored_ties = 0;
    warning_sink sink{ignored_warnings, ignored_ties};
    const resolution_inputs in = prepare(providers, default_provider, ignored_warnings, options.clouds);
    table_ = build_routing_table(providers, default_provider, origins, std::move(options));
    const asn_owners owners(providers);
    auto add_row = [&](ip_prefix p, const auto& r) {
        const auto first = static_cast<std::uint32_t>(data_->origins.size());
        for (std::size_t k = 0; k < r.origin_count; ++k)
            if (k == 0 || r.origins[k].asn != r.origins[k - 1].asn) data_->origins.push_back(r.origins[k].asn);
        data_->rows.push_back({p, r.provider, r.explicit_cidr, first,
                               static_cast<std::uint32_t>(data_->origins.size() - first), r.region});
        return static_cast<std::uint32_t>(data_->rows.size() - 1);
    };
    std::vector<lpm_table_v4::entry> e4;
    resolve_family(origins.v4, in.cidrs_v4, owners, providers, sink, [&](const resolved<origin_v4>& r) {
        e4.push_back({r.network, r.length, add_row(ip_prefix{ip_family::v4, r.network, 0, r.length}, r)});
    });
    data_->v4 = lpm_table_v4::build(std::move(e4));
    std::vector<lpm_table_v6::entry> e6;
    resolve_family(origins.v6, in.cidrs_v6, owners, providers, sink, [&](const resolved<origin_v6>& r) {
        e6.push_back({r.network, r.length, add_row(ip_prefix{ip_family::v6, 0, r.network, r.length}, r)});
    });
    data_->v6 = lpm_table_v6::build(std::move(e6));
}

route_explainer::~route_explainer() = default;

route_explanation route_explainer::explain(const ip_address& address) const {
    route_explanation e;
    const auto row = address.family == ip_family::v4 ? data_->v4.lookup(address.v4) : data_->v6.lookup(address.v6);
    if (row) {
        const auto& r = data_->rows[*row];
        e.prefix = r.prefix;
        e.explicit_cidr = r.explicit_cidr;
        e.origins.assign(data_->origins.begin() + r.first_origin,
                         data_->origins.begin() + r.first_origin + r.origin_count);
        e.matched = r.provider == hole ? routing_table::no_provider : r.provider;
        e.region = r.region;
    }
    e.redirect = table_.redirect_index(e.matched);
    e.network = table_.network_for(address);
    return e;
}

std::vector<explained_prefix> route_explainer::prefixes() const {
    // Rows were added in resolve_family's order: IPv4 then IPv6, each by (network, length).
    std::vector<explained_prefix> out;
    out.reserve(data_->rows.size());
    for (const auto& r : data_->rows)
        out.push_back({r.prefix, r.provider == hole ? routing_table::no_provider : r.provider, r.region});
    return out;
}

}  // namespace registry_redirector
