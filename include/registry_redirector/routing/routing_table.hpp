#pragma once
/// The immutable routing table: address -> provider, built once from the
/// provider files and the prefix -> origin-ASN tables, then only read.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "registry_redirector/config/config.hpp"
#include "registry_redirector/lpm/lpm_table.hpp"
#include "registry_redirector/data/prefix_table.hpp"

namespace registry_redirector {

struct routing_provider {
    std::string name;
    std::optional<redirect_target> redirects_to;  ///< as configured
    std::uint32_t redirect_index = 0;  ///< provider whose hosts serve this one (itself, or the default)
    std::vector<std::uint32_t> asns;
    std::size_t prefixes_v4 = 0;  ///< prefixes decided for this provider (tables + cidrs)
    std::size_t prefixes_v6 = 0;
};

struct routing_stats {
    std::size_t table_prefixes_v4 = 0;  ///< unique prefixes read from the tables
    std::size_t table_prefixes_v6 = 0;
    std::size_t ranges_v4 = 0;          ///< disjoint ranges after resolution
    std::size_t ranges_v6 = 0;
    std::size_t memory_bytes = 0;       ///< of the lookup structures
    std::size_t trie_nodes = 0;         ///< 256-slot nodes below the roots
    std::size_t search_spans = 0;       ///< slots left to a binary search (node budget spent)
    std::size_t ties = 0;               ///< prefixes claimed by several providers
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
        return address.family == ip_family::v4 ? v4_.lookup_or(address.v4, default_index_)
                                               : v6_.lookup_or(address.v6, default_index_);
    }

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
                                             origin_table);
    std::vector<routing_provider> providers_;
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
                                  const std::string& default_provider, origin_table origins);

/// Keeps the rows of every prefix that is, or lies inside, a provider's
/// prefix (one whose origin a provider lists, or an explicit cidr), and drops
/// the rest, which cannot change any decision. This is how the shipped
/// reduced table is made from a whole-Internet dump.
origin_table reduce_to_providers(const std::vector<provider_config>& providers, origin_table origins);

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
    /// `providers` must outlive the filter.
    explicit provider_row_filter(const std::vector<provider_config>& providers);
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
    bool explicit_cidr = false;
    std::uint32_t matched = routing_table::no_provider;
    std::uint32_t redirect = 0;
};

/// Keeps every resolved prefix (not only provider ranges), so it costs far
/// more memory than routing_table: for the CLI only.
class route_explainer {
public:
    route_explainer(const std::vector<provider_config>& providers, const std::string& default_provider,
                    origin_table origins);
    ~route_explainer();
    route_explanation explain(const ip_address& address) const;
    const routing_table& table() const noexcept { return table_; }

private:
    struct data;
    routing_table table_;
    std::unique_ptr<data> data_;
};

}  // namespace registry_redirector
