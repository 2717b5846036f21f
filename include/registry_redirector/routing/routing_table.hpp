#pragma once
/// The immutable routing table: address -> provider, built once from the
/// provider files and the prefix -> origin-ASN tables, then only read.

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "registry_redirector/config/config.hpp"
#include "registry_redirector/lpm/lpm_table.hpp"
#include "registry_redirector/data/prefix_table.hpp"

namespace registry_redirector {

inline constexpr std::uint32_t no_region = 0xffffffffu;
inline constexpr std::uint32_t no_mirror = 0xffffffffu;

struct routing_provider {
    std::string name;
    std::string file;
    std::optional<redirect_target> redirects_to;  ///< as configured
    std::uint32_t redirect_index = 0;  ///< provider whose mirrors serve this one (itself, or the default)
    std::vector<std::uint32_t> mirrors;  ///< indexes into routing_table::mirrors(), in file order
    bool active = true;
    std::vector<std::string> oncall;
    std::vector<std::uint32_t> asns;
    std::size_t prefixes_v4 = 0;  ///< prefixes decided for this provider (tables + cidrs)
    std::size_t prefixes_v6 = 0;
};

/// A mirror as the decision uses it. A provider with only redirectsTo has
/// one, named after the provider, serving every region.
struct routing_mirror {
    std::string name;
    std::uint32_t provider = 0;
    std::vector<std::uint32_t> regions;  ///< region ids, sorted; empty with any_region
    std::vector<std::string> unknown_regions;  ///< configured labels no range file produces
    bool any_region = true;
    std::uint32_t weight = 100;
    bool ipv6 = true;
    bool ranges = true;
    url_template registry;
    url_template artifacts;
    url_template blobs;
    std::uint64_t name_hash = 0;
    bool from_redirects_to = false;
};

/// (provider whose mirrors serve the client, client region): what a lookup
/// answers. Ids below the provider count are (provider, no region).
struct routing_network {
    std::uint32_t provider = 0;
    std::uint32_t region = no_region;
};

/// The request's needs a mirror must meet: bit 0 an IPv6 client, bit 1 a
/// Range header.
inline constexpr unsigned caps_ipv6 = 1;
inline constexpr unsigned caps_range = 2;
inline constexpr unsigned caps_count = 4;

/// A cloud range file with the provider its prefixes go to.
struct labelled_source {
    cloud_range_source source;
    cloud_ranges ranges;
    std::string config_path;  ///< the main config, for errors about the entry
};

/// Reads every `cloud_ranges` file of `config`. Throws config_error.
std::vector<labelled_source> load_cloud_sources(const server_config& config);

/// What the routing table is built from besides providers and prefix tables.
struct routing_options {
    std::vector<labelled_source> clouds;
    std::optional<route_config> routes;
    bool explain_header = false;
};

/// The outcome of mirror selection: the mirror and the tier (1-6) it came from.
struct mirror_choice {
    std::uint32_t mirror = no_mirror;
    std::uint8_t tier = 0;
};

/// The key weighted rendezvous hashing uses for a client: its /24 (IPv4)
/// or /48 (IPv6), hashed. noexcept.
std::uint64_t client_network_key(const ip_address& address) noexcept;

/// Mixes a client key with a mirror's name hash (SplitMix64 finaliser).
inline std::uint64_t rendezvous_hash(std::uint64_t client_key, std::uint64_t name_hash) noexcept {
    std::uint64_t z = client_key ^ name_hash;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/// Weighted rendezvous score (Schindelhauer and Schomaker, "Weighted
/// distributed hash tables", SPAA 2005; the logarithmic method): with u the
/// hash as a uniform number in (0, 1), -weight / ln(u) is largest for a
/// mirror with probability weight / sum of weights, and removing a mirror
/// moves only the clients it had.
inline double rendezvous_score(std::uint64_t hash, std::uint32_t weight) noexcept {
    const double u = (static_cast<double>(hash >> 11) + 0.5) * 0x1p-53;
    return static_cast<double>(weight) / -std::log(u);
}

struct routing_stats {
    std::size_t table_prefixes_v4 = 0;  ///< unique prefixes read from the tables
    std::size_t table_prefixes_v6 = 0;
    std::size_t ranges_v4 = 0;          ///< disjoint ranges after resolution
    std::size_t ranges_v6 = 0;
    std::size_t memory_bytes = 0;       ///< of the lookup structures
    std::size_t trie_nodes = 0;         ///< 256-slot nodes below the roots
    std::size_t search_spans = 0;       ///< slots left to a binary search (node budget spent)
    std::size_t ties = 0;               ///< prefixes claimed by several providers
    std::size_t labelled_prefixes = 0;  ///< cloud range prefixes that were given to a provider
};

/// Thread safety: immutable; share it through a shared_ptr<const routing_table>.
class routing_table {
public:
    static constexpr std::uint32_t no_provider = 0xffffffffu;

    /// Index of the provider whose hosts answer `address`: the owner of the
    /// most specific prefix holding it if that owner has redirectsTo, else
    /// the default. noexcept, allocation-free.
    ///
    /// The tables store this answer, not the owner: neighbouring ranges that
    /// end up at the same mirror merge, which shrinks the whole-Internet
    /// table from 279 k ranges to 11 k (and the lookup with it). Who owns a
    /// prefix is route_explainer's business.
    std::uint32_t redirect_for(const ip_address& address) const noexcept {
        return networks_[network_for(address)].provider;
    }

    /// The network id of `address`: (provider whose mirrors serve it, its
    /// region), from the same merged ranges. noexcept, allocation-free.
    std::uint32_t network_for(const ip_address& address) const noexcept {
        return address.family == ip_family::v4 ? v4_.lookup_or(address.v4, default_index_)
                                               : v6_.lookup_or(address.v6, default_index_);
    }

    /// Selects the mirror for a client of `network` with needs `caps`
    /// (caps_ipv6 | caps_range) and key `client_key` (client_network_key):
    /// the first tier with an eligible mirror wins - (1) the provider's
    /// mirrors for the client's region, (2) its mirrors for any region, (3)
    /// all its mirrors, (4)-(6) the same for the default provider - and
    /// within it weighted rendezvous hashing; weight-0 mirrors only when no
    /// positive-weight one is left. `skip(mirror)` true leaves a mirror out
    /// (health: down or drained), keeping the order of the rest.
    /// noexcept, allocation-free.
    template <class Skip>
    mirror_choice select_mirror(std::uint32_t network, unsigned caps, std::uint64_t client_key,
                                Skip&& skip) const noexcept {
        const std::size_t slot = std::size_t{network} * caps_count + caps;
        for (std::uint32_t i = plan_index_[slot]; i < plan_index_[slot + 1]; ++i) {
            const tier_ref& t = tiers_[i];
            std::uint32_t best = no_mirror, standby = no_mirror;
            double best_score = -1.0;
            std::uint64_t standby_hash = 0;
            for (std::uint32_t k = t.first; k < t.first + t.count; ++k) {
                const std::uint32_t m = tier_mirrors_[k];
                if (skip(m)) continue;
                const hot_mirror& h = hot_[m];
                const std::uint64_t hash = rendezvous_hash(client_key, h.name_hash);
                if (h.weight > 0) {
                    const double score = rendezvous_score(hash, h.weight);
                    if (score > best_score) {
                        best_score = score;
                        best = m;
                    }
                } else if (standby == no_mirror || hash > standby_hash) {
                    standby_hash = hash;
                    standby = m;
                }
            }
            if (best != no_mirror) return {best, t.tier};
            if (standby != no_mirror) return {standby, t.tier};
        }
        return {};
    }

    mirror_choice select_mirror(std::uint32_t network, unsigned caps, std::uint64_t client_key) const noexcept {
        return select_mirror(network, caps, client_key, [](std::uint32_t) noexcept { return false; });
    }

    /// The tiers considered for (network, caps), in order: for explanations.
    struct tier_view {
        std::uint8_t tier;
        const std::uint16_t* mirrors;
        std::size_t count;
    };
    std::vector<tier_view> tiers_for(std::uint32_t network, unsigned caps) const;

    const std::vector<routing_network>& networks() const noexcept { return networks_; }
    const std::vector<routing_mirror>& mirrors() const noexcept { return mirrors_; }
    /// Region labels of all range files, sorted; region ids index it.
    const std::vector<std::string>& regions() const noexcept { return regions_; }
    std::string_view region_name(std::uint32_t region) const noexcept {
        return region == no_region ? std::string_view() : std::string_view(regions_[region]);
    }
    /// Present: OCI mode (README "Mirrors and routes").
    const std::optional<route_config>& routes() const noexcept { return routes_; }
    bool explain_header() const noexcept { return explain_header_; }

    /// The provider whose hosts answer a client whose prefix belongs to
    /// `matched` (itself when it has redirectsTo, else the default).
    std::uint32_t redirect_index(std::uint32_t matched) const noexcept {
        return matched == no_provider ? default_index_ : providers_[matched].redirect_index;
    }

    const std::vector<routing_provider>& providers() const noexcept { return providers_; }
    std::uint32_t default_index() const noexcept { return default_index_; }
    const routing_stats& stats() const noexcept { return stats_; }
    /// Ties and other non-fatal findings, for `check` and the start-up log.
    const std::vector<std::string>& warnings() const noexcept { return warnings_; }

private:
    friend routing_table build_routing_table(const std::vector<provider_config>&, const std::string&,
                                             origin_table, routing_options);
    struct tier_ref {
        std::uint32_t first;  ///< into tier_mirrors_
        std::uint16_t count;
        std::uint8_t tier;    ///< 1-6
    };
    struct hot_mirror {
        std::uint64_t name_hash;
        std::uint32_t weight;
    };
    std::vector<routing_provider> providers_;
    std::vector<routing_network> networks_;
    std::vector<routing_mirror> mirrors_;
    std::vector<hot_mirror> hot_;
    std::vector<std::string> regions_;
    std::vector<std::uint32_t> plan_index_;  ///< network * caps_count + caps -> first tier; one past the end too
    std::vector<tier_ref> tiers_;
    std::vector<std::uint16_t> tier_mirrors_;
    std::optional<route_config> routes_;
    bool explain_header_ = false;
    std::uint32_t default_index_ = 0;
    lpm_table_v4 v4_;
    lpm_table_v6 v6_;
    routing_stats stats_;
    std::vector<std::string> warnings_;
};

/// Builds the table by the decision rules (README, "How a client is routed"):
/// the most specific prefix over all table prefixes and explicit cidrs
/// decides; an explicit cidr of P makes it P's; else the provider listing one
/// of its origin ASNs, ties broken by provider file order; else no provider.
/// `providers` must be in file-name order (load_providers gives that).
/// Throws config_error if the default provider is missing or has no
/// redirectsTo.
routing_table build_routing_table(const std::vector<provider_config>& providers,
                                  const std::string& default_provider, origin_table origins,
                                  routing_options options = {});

/// Keeps the rows of every prefix that is, or lies inside, a provider's
/// prefix (one whose origin a provider lists, or an explicit cidr), and drops
/// the rest, which cannot change any decision. This is how the shipped
/// reduced table is made from a whole-Internet dump. Cloud range prefixes
/// (`clouds`) count as the providers' own, like cidrs.
origin_table reduce_to_providers(const std::vector<provider_config>& providers, origin_table origins,
                                 const std::vector<labelled_source>& clouds = {});

/// reduce_to_providers as the rows stream in: keeps, while a table is being
/// parsed, exactly the rows reduce_to_providers would keep, so a
/// whole-Internet table (1.45 M rows) is never held in memory, only the
/// ~40 k rows that can change a decision. That needs rows in (network,
/// length) order within each family, which pfx2as and pyasn dumps have; on
/// the first row out of order sorted() turns false, nothing more is kept, and
/// the caller must load the table unfiltered instead.
/// Thread safety: none (one loader).
class provider_row_filter final : public origin_sink {
public:
    /// `providers` must outlive the filter. Cloud range prefixes count as
    /// the providers' own (like cidrs): rows nested in them are kept.
    explicit provider_row_filter(const std::vector<provider_config>& providers,
                                 const std::vector<labelled_source>& clouds = {});
    ~provider_row_filter() override;

    void add(const origin_v4& row) override;
    void add(const origin_v6& row) override;

    bool sorted() const noexcept;
    /// The rows kept; call once, after the last file.
    origin_table finish();

private:
    struct state;
    std::unique_ptr<state> state_;
};

/// Why an address goes where it goes, for the `lookup` command.
struct route_explanation {
    std::optional<ip_prefix> prefix;   ///< the most specific prefix holding the address
    std::vector<std::uint32_t> origins;  ///< its origin ASNs (empty for an explicit cidr)
    bool explicit_cidr = false;       ///< an explicit cidr or a cloud range prefix
    std::uint32_t matched = routing_table::no_provider;
    std::uint32_t redirect = 0;
    std::uint32_t region = no_region;  ///< the client's region
    std::uint32_t network = 0;
};

/// A resolved prefix with its owner and the region its addresses get.
struct explained_prefix {
    ip_prefix prefix;
    std::uint32_t matched = routing_table::no_provider;
    std::uint32_t region = no_region;
};

/// Keeps every resolved prefix (not only provider ranges), so it costs far
/// more memory than routing_table: for the CLI only.
class route_explainer {
public:
    route_explainer(const std::vector<provider_config>& providers, const std::string& default_provider,
                    origin_table origins, routing_options options = {});
    ~route_explainer();
    route_explanation explain(const ip_address& address) const;
    /// Every resolved prefix once (table rows, cidrs, cloud range prefixes):
    /// IPv4 then IPv6, each family in (network, length) order.
    std::vector<explained_prefix> prefixes() const;
    const routing_table& table() const noexcept { return table_; }

private:
    struct data;
    routing_table table_;
    std::unique_ptr<data> data_;
};

}  // namespace registry_redirector
