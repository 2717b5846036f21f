// redirector_bench: Google Benchmark suite over the full, real routing table.
//
//   redirector_bench [--table=FILE] [--asns=DIR] [--addresses=N] [benchmark flags]
//
// FILE (a pfx2asn/CAIDA prefix -> origin table, plain or gzip) defaults to
// $REDIRECTOR_BENCH_TABLE, else the whole-Internet table of the shared data
// folder; DIR (provider YAML files) to $REDIRECTOR_BENCH_ASNS, else
// config/asns. N (addresses per set, rounded up to a power of two) defaults
// to 1048576. Benchmarks that need a missing file are skipped with an error.
//
// Groups (use --benchmark_filter):
//   lookup/...      routing_table::redirect_for (ours) and the one-bit trie
//                   baseline (one_bit_trie.hpp, NGINX's ngx_radix_tree, whose
//                   answer goes through redirect_index), on the same address
//                   arrays, side by side. One iteration = one lookup, so
//                   "Time" is ns per lookup. lookup_chained/... makes each
//                   address depend on the previous answer: latency, not
//                   throughput (over the first 16,384 addresses). (The merged_v4/v6 tables built below were the
//                   prototype of the redirect-keyed table, PROFILE.md; they
//                   remain only as an independent cross-check of routes.)
//   handler/...     handle_request + write_response (no I/O, no parsing).
//   build/...       (wall-clock time: loading may use a helper thread)
//                   load_prefix_file, build_routing_table, both, building
//                   the baseline trie, and what bounds start-up from below
//                   (gunzip alone, sha256 of the file as serve fingerprints it).
//   parse/...       parse_ip_prefix and parse_ip_address throughput.
//
// Before any lookup benchmark runs, every address of every set is looked up
// in both structures and the answers are compared: the baseline is built
// from an independent resolution of the decision rules (below), so this is
// also a differential test of the routing table.

#include <benchmark/benchmark.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "one_bit_trie.hpp"
#include "registry_redirector/config/config.hpp"
#include "registry_redirector/net/ip_address.hpp"
#include "registry_redirector/net/ip_prefix.hpp"
#include "registry_redirector/data/prefix_table.hpp"
#include "registry_redirector/http/request_handler.hpp"
#include "registry_redirector/routing/routing_table.hpp"
#include "registry_redirector/routing/serving_snapshot.hpp"
#include "registry_redirector/data/sha256.hpp"

#ifndef REDIRECTOR_BENCH_DEFAULT_TABLE
#define REDIRECTOR_BENCH_DEFAULT_TABLE ""
#endif
#ifndef REDIRECTOR_BENCH_DEFAULT_ASNS
#define REDIRECTOR_BENCH_DEFAULT_ASNS ""
#endif

namespace rr = registry_redirector;
using rr::bench::one_bit_trie;

namespace {

struct options {
    std::string table = REDIRECTOR_BENCH_DEFAULT_TABLE;
    std::string asns = REDIRECTOR_BENCH_DEFAULT_ASNS;
    std::size_t addresses = std::size_t{1} << 20;
};

options& opts() {
    static options o;
    return o;
}

bool readable(const std::string& path) {
    if (path.empty()) return false;
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        std::fclose(f);
        return true;
    }
    return false;
}

// ---------------------------------------------------------------------------
// Inputs, loaded once and shared by the benchmarks.

/// A prefix with the provider the decision rules give it, resolved here
/// independently of routing_table.cpp (the baseline must not inherit a bug).
template <class Key>
struct resolved_prefix {
    Key network;
    std::uint8_t length;
    std::uint32_t provider;  // index, or hole
};
constexpr std::uint32_t hole = 0xfffffffeu;

struct inputs {
    std::string error;  // non-empty: the files could not be loaded
    std::vector<rr::provider_config> providers;
    rr::origin_table origins;  // as loaded, unsorted
    rr::prefix_file_stats stats;
};

const inputs& get_inputs() {
    static const inputs in = [] {
        inputs r;
        const options& o = opts();
        if (!readable(o.table)) {
            r.error = "prefix table not found: '" + o.table + "' (set --table=FILE or REDIRECTOR_BENCH_TABLE)";
            return r;
        }
        if (!readable(o.asns + "/amazon.yaml") && !readable(o.asns)) {
            r.error = "provider folder not found: '" + o.asns + "' (set --asns=DIR or REDIRECTOR_BENCH_ASNS)";
            return r;
        }
        try {
            r.providers = rr::load_providers(o.asns);
            r.stats = rr::load_prefix_file(o.table, r.origins);
        } catch (const std::exception& e) {
            r.error = e.what();
        }
        return r;
    }();
    return in;
}

/// The decision rules, applied from scratch: an explicit cidr of P is P's;
/// else the first provider in file order that lists one of the prefix's
/// origin ASNs; else a hole (no provider: it hides any shorter prefix).
template <class Key, class Origin>
std::vector<resolved_prefix<Key>> resolve(const std::vector<Origin>& rows,
                                          const std::vector<rr::provider_config>& providers,
                                          const std::unordered_map<std::uint32_t, std::uint32_t>& owner,
                                          rr::ip_family family) {
    std::vector<resolved_prefix<Key>> out;
    out.reserve(rows.size());
    for (const Origin& row : rows) {
        const auto it = owner.find(row.asn);
        out.push_back({row.network, row.length, it == owner.end() ? hole : it->second});
    }
    // Several rows per prefix (multi-origin): keep the smallest provider index
    // (holes are larger than any index, so a provider beats a hole).
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        if (a.network != b.network) return a.network < b.network;
        if (a.length != b.length) return a.length < b.length;
        return a.provider < b.provider;
    });
    out.erase(std::unique(out.begin(), out.end(),
                          [](const auto& a, const auto& b) { return a.network == b.network && a.length == b.length; }),
              out.end());
    // Explicit cidrs: the first provider (file order) listing one owns it,
    // whatever the tables say.
    std::vector<resolved_prefix<Key>> cidrs;
    for (std::uint32_t p = 0; p < providers.size(); ++p)
        for (const rr::ip_prefix& c : providers[p].cidrs) {
            if (c.family != family) continue;
            if constexpr (sizeof(Key) == 4) cidrs.push_back({c.v4, c.length, p});
            else cidrs.push_back({c.v6, c.length, p});
        }
    std::stable_sort(cidrs.begin(), cidrs.end(), [](const auto& a, const auto& b) {
        return a.network != b.network ? a.network < b.network : a.length < b.length;
    });
    for (std::size_t k = 0; k < cidrs.size(); ++k) {
        const auto& c = cidrs[k];
        if (k > 0 && cidrs[k - 1].network == c.network && cidrs[k - 1].length == c.length) continue;
        auto it = std::lower_bound(out.begin(), out.end(), c, [](const auto& a, const auto& b) {
            return a.network != b.network ? a.network < b.network : a.length < b.length;
        });
        if (it != out.end() && it->network == c.network && it->length == c.length)
            it->provider = c.provider;
        else
            out.insert(it, c);
    }
    return out;
}

/// Address sets: one array of ip_address per kind, built before timing.
struct address_set {
    std::string name;
    std::vector<rr::ip_address> addresses;  // size: a power of two
};

struct lookup_data {
    std::string error;
    std::optional<rr::serving_snapshot> snapshot;  // owns the routing table
    std::vector<resolved_prefix<std::uint32_t>> v4;
    std::vector<resolved_prefix<rr::uint128>> v6;
    std::unique_ptr<one_bit_trie> trie;
    // A prototype for PROFILE.md: the same prefixes with the value the server
    // finally needs (the provider whose hosts answer, holes -> default), so
    // equal neighbours merge into far fewer ranges.
    rr::lpm_table_v4 merged_v4;
    rr::lpm_table_v6 merged_v6;
    std::vector<address_set> sets;
    std::size_t provider_prefixes_v4 = 0, provider_prefixes_v6 = 0;
};

template <class Key>
Key host_mask(unsigned length) {
    constexpr unsigned bits = sizeof(Key) * 8;
    return length >= bits ? Key{0} : static_cast<Key>(~Key{0} >> length);
}

rr::uint128 random128(std::mt19937_64& rng) { return (static_cast<rr::uint128>(rng()) << 64) | rng(); }

rr::ip_address inside(const resolved_prefix<std::uint32_t>& p, std::mt19937_64& rng) {
    return rr::ip_address::from_v4(p.network | (static_cast<std::uint32_t>(rng()) & host_mask<std::uint32_t>(p.length)));
}
rr::ip_address inside(const resolved_prefix<rr::uint128>& p, std::mt19937_64& rng) {
    return rr::ip_address::from_v6(p.network | (random128(rng) & host_mask<rr::uint128>(p.length)));
}
rr::ip_address random_v4(std::mt19937_64& rng) { return rr::ip_address::from_v4(static_cast<std::uint32_t>(rng())); }
rr::ip_address random_v6(std::mt19937_64& rng) {  // 2000::/3, global unicast
    return rr::ip_address::from_v6((random128(rng) >> 3) | (rr::uint128{1} << 125));
}

std::uint32_t trie_answer(std::uintptr_t v) {
    return v == one_bit_trie::no_value || v == hole ? rr::routing_table::no_provider : static_cast<std::uint32_t>(v);
}

lookup_data& get_lookup_data() {
    static lookup_data d = [] {
        lookup_data r;
        const inputs& in = get_inputs();
        if (!in.error.empty()) {
            r.error = in.error;
            return r;
        }
        std::unordered_map<std::uint32_t, std::uint32_t> owner;  // ASN -> first provider listing it
        for (std::uint32_t p = 0; p < in.providers.size(); ++p)
            for (auto asn : in.providers[p].asns) owner.emplace(asn, p);
        try {
            // Field by field: the snapshot grows members as the server does.
            r.snapshot.emplace();
            r.snapshot->routes = rr::build_routing_table(in.providers, "google", in.origins);
            r.snapshot->client_policy.trusted = rr::trusted_proxy_set({rr::parse_ip_prefix("127.0.0.0/8").prefix});
            r.snapshot->metric_slots.assign(in.providers.size(), 0);
            r.snapshot->generation = 1;
        } catch (const std::exception& e) {
            r.error = e.what();
            return r;
        }
        r.v4 = resolve<std::uint32_t>(in.origins.v4, in.providers, owner, rr::ip_family::v4);
        r.v6 = resolve<rr::uint128>(in.origins.v6, in.providers, owner, rr::ip_family::v6);

        r.trie = std::make_unique<one_bit_trie>();
        for (const auto& p : r.v4) r.trie->insert_v4(p.network, p.length, p.provider);
        for (const auto& p : r.v6) r.trie->insert_v6(p.network, p.length, p.provider);

        {
            const rr::routing_table& routes = r.snapshot->routes;
            auto answer = [&](std::uint32_t p) { return routes.redirect_index(p == hole ? rr::routing_table::no_provider : p); };
            std::vector<rr::lpm_table_v4::entry> e4;
            std::vector<rr::lpm_table_v6::entry> e6;
            // No match also means the default: a /0 of the default makes the
            // unannounced space merge with the default's prefixes around it.
            const bool has_v4_root = !r.v4.empty() && r.v4.front().network == 0 && r.v4.front().length == 0;
            const bool has_v6_root = !r.v6.empty() && r.v6.front().network == 0 && r.v6.front().length == 0;
            if (!has_v4_root) e4.push_back({0, 0, routes.default_index()});
            if (!has_v6_root) e6.push_back({0, 0, routes.default_index()});
            for (const auto& p : r.v4) e4.push_back({p.network, p.length, answer(p.provider)});
            for (const auto& p : r.v6) e6.push_back({p.network, p.length, answer(p.provider)});
            r.merged_v4 = rr::lpm_table_v4::build(std::move(e4));
            r.merged_v6 = rr::lpm_table_v6::build(std::move(e6));
        }

        std::vector<const resolved_prefix<std::uint32_t>*> prov4;
        std::vector<const resolved_prefix<rr::uint128>*> prov6;
        for (const auto& p : r.v4) if (p.provider != hole) prov4.push_back(&p);
        for (const auto& p : r.v6) if (p.provider != hole) prov6.push_back(&p);
        r.provider_prefixes_v4 = prov4.size();
        r.provider_prefixes_v6 = prov6.size();

        std::size_t n = 1;
        while (n < opts().addresses) n <<= 1;
        std::mt19937_64 rng(20260619);
        auto make = [&](std::string name, auto&& draw) {
            address_set s{std::move(name), {}};
            s.addresses.reserve(n);
            for (std::size_t i = 0; i < n; ++i) s.addresses.push_back(draw());
            r.sets.push_back(std::move(s));
        };
        auto pick = [&](const auto& v) -> const auto& { return v[rng() % v.size()]; };
        make("random_v4", [&] { return random_v4(rng); });
        make("random_v6", [&] { return random_v6(rng); });
        if (!prov4.empty()) make("provider_v4", [&] { return inside(*pick(prov4), rng); });
        if (!prov6.empty()) make("provider_v6", [&] { return inside(*pick(prov6), rng); });
        if (!r.v4.empty()) make("table_v4", [&] { return inside(pick(r.v4), rng); });
        if (!r.v6.empty()) make("table_v6", [&] { return inside(pick(r.v6), rng); });
        // What the load test sends (make_table.py addrs): 80% inside a table
        // prefix, 20% uniformly random, IPv6 in the table's proportion.
        const double v6_share = static_cast<double>(r.v6.size()) / static_cast<double>(r.v4.size() + r.v6.size());
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        if (!r.v4.empty() && !r.v6.empty())
            make("mixed", [&] {
                const bool v6 = unit(rng) < v6_share;
                if (unit(rng) < 0.8) return v6 ? inside(pick(r.v6), rng) : inside(pick(r.v4), rng);
                return v6 ? random_v6(rng) : random_v4(rng);
            });

        // Differential check: both structures must agree on every address.
        const rr::routing_table& routes = r.snapshot->routes;
        std::size_t mismatches = 0;
        for (const auto& s : r.sets) {
            for (const auto& a : s.addresses) {
                const std::uint32_t ours = routes.redirect_for(a);
                const std::uint32_t base = routes.redirect_index(trie_answer(r.trie->find(a)));
                if (ours != base && ++mismatches <= 10)
                    std::fprintf(stderr, "mismatch (%s): %s ours=%u trie=%u\n", s.name.c_str(), rr::to_string(a).c_str(),
                                 ours, base);
            }
        }
        for (const auto& s : r.sets) {
            for (const auto& a : s.addresses) {
                const std::uint32_t want = routes.redirect_for(a);
                const std::uint32_t got = a.family == rr::ip_family::v4 ? r.merged_v4.lookup_or(a.v4, routes.default_index())
                                                                       : r.merged_v6.lookup_or(a.v6, routes.default_index());
                if (want != got && ++mismatches <= 10)
                    std::fprintf(stderr, "mismatch (%s): %s redirect=%u merged=%u\n", s.name.c_str(),
                                 rr::to_string(a).c_str(), want, got);
            }
        }
        if (mismatches) r.error = std::to_string(mismatches) + " addresses get different providers from the table and the trie";
        return r;
    }();
    return d;
}

// ---------------------------------------------------------------------------
// Lookup benchmarks.

/// The address set called `name`, or null after marking the run skipped.
const address_set* prepare(benchmark::State& state, const std::string& name) {
    lookup_data& d = get_lookup_data();
    if (!d.error.empty()) {
        state.SkipWithError(d.error.c_str());
        return nullptr;
    }
    for (const auto& s : d.sets)
        if (s.name == name) return &s;
    state.SkipWithError(("no addresses for set " + name).c_str());
    return nullptr;
}

void set_lookup_counters(benchmark::State& state, std::size_t count) {
    state.SetItemsProcessed(state.iterations());
    state.counters["addresses"] = static_cast<double>(count);
}

/// One lookup per iteration over the whole set: throughput. `answer` (a
/// lambda, inlined) maps an address to a provider index.
template <class Answer>
void time_lookups(benchmark::State& state, const std::vector<rr::ip_address>& a, Answer answer) {
    const std::size_t mask = a.size() - 1;
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(answer(a[i]));
        i = (i + 1) & mask;
    }
    set_lookup_counters(state, a.size());
}

// The next address depends on the previous answer, so lookups cannot overlap
// in the CPU: this is the latency of one lookup, as one request sees it. The
// addresses come from the first chained_window of the set (512 KiB): over the
// whole 32 MiB array, each step would also wait for the array itself to come
// from DRAM (the prefetcher cannot run ahead of a dependent walk), which is
// the benchmark's cost, not the lookup's.
constexpr std::size_t chained_window = 16384;

template <class Answer>
void time_chained_lookups(benchmark::State& state, const std::vector<rr::ip_address>& a, Answer answer) {
    const std::size_t mask = std::min(a.size(), chained_window) - 1;
    std::size_t i = 0;
    for (auto _ : state) {
        const std::uint32_t v = answer(a[i]);
        i = (i + 1 + (v & 1u)) & mask;
    }
    benchmark::DoNotOptimize(i);
    set_lookup_counters(state, mask + 1);
}

void bm_lookup_ours(benchmark::State& state, const std::string& set, bool chained) {
    const address_set* chosen = prepare(state, set);
    if (!chosen) return;
    const rr::routing_table& routes = get_lookup_data().snapshot->routes;
    auto answer = [&routes](const rr::ip_address& a) { return routes.redirect_for(a); };
    if (chained) return time_chained_lookups(state, chosen->addresses, answer);
    time_lookups(state, chosen->addresses, answer);
    state.counters["table_KiB"] = static_cast<double>(routes.stats().memory_bytes) / 1024.0;
    state.counters["ranges"] = static_cast<double>(routes.stats().ranges_v4 + routes.stats().ranges_v6);
}

void bm_lookup_trie(benchmark::State& state, const std::string& set, bool chained) {
    const address_set* chosen = prepare(state, set);
    if (!chosen) return;
    const one_bit_trie& trie = *get_lookup_data().trie;
    auto answer = [&trie](const rr::ip_address& a) { return trie_answer(trie.find(a)); };
    if (chained) return time_chained_lookups(state, chosen->addresses, answer);
    time_lookups(state, chosen->addresses, answer);
    state.counters["table_KiB"] = static_cast<double>(trie.memory_bytes()) / 1024.0;
}

// ---------------------------------------------------------------------------
// The request handler without I/O: decision + response bytes.

void bm_handler(benchmark::State& state) {
    lookup_data& d = get_lookup_data();
    if (!d.error.empty()) return state.SkipWithError(d.error.c_str());
    const address_set* mixed = nullptr;
    for (const auto& s : d.sets) if (s.name == "mixed") mixed = &s;
    if (!mixed) return state.SkipWithError("no mixed address set");
    // X-Real-Ip texts, as a load balancer would send them.
    std::vector<std::string> texts;
    const std::size_t n = std::min<std::size_t>(mixed->addresses.size(), 1 << 16);
    for (std::size_t k = 0; k < n; ++k) texts.push_back(rr::to_string(mixed->addresses[k]));
    static constexpr std::string_view paths[] = {"/v2/pause/manifests/3.9", "/release/stable.txt",
                                                 "/v2/kube-apiserver/manifests/v1.30.0",
                                                 "/binaries/kubernetes/v1.30.0/bin/linux/amd64/kubectl"};
    const rr::ip_address peer = rr::ip_address::from_v4(0x7f000001u);
    const rr::serving_snapshot* snap = &*d.snapshot;
    std::string out;
    out.reserve(512);
    std::size_t i = 0;
    for (auto _ : state) {
        rr::request_view req;
        req.method = "GET";
        req.target = paths[i & 3];
        req.proxy.x_real_ip.add(texts[i]);
        const rr::response_plan plan = rr::handle_request(req, peer, snap);
        out.clear();
        rr::write_response(plan, req, "Tue, 24 Nov 2026 22:21:00 GMT", out);
        benchmark::DoNotOptimize(out.data());
        if (++i == n) i = 0;
    }
    state.SetItemsProcessed(state.iterations());
}

// ---------------------------------------------------------------------------
// Table build and parsing.

void bm_load_prefix_file(benchmark::State& state) {
    const inputs& in = get_inputs();
    if (!in.error.empty()) return state.SkipWithError(in.error.c_str());
    std::size_t rows = 0;
    for (auto _ : state) {
        rr::origin_table t;
        rr::load_prefix_file(opts().table, t);
        rows = t.v4.size() + t.v6.size();
        benchmark::DoNotOptimize(t.v4.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(rows));
    state.counters["rows"] = static_cast<double>(rows);
}

void bm_build_routing_table(benchmark::State& state) {
    const inputs& in = get_inputs();
    if (!in.error.empty()) return state.SkipWithError(in.error.c_str());
    const std::size_t rows = in.origins.v4.size() + in.origins.v6.size();
    for (auto _ : state) {
        state.PauseTiming();
        rr::origin_table copy = in.origins;
        state.ResumeTiming();
        rr::routing_table t = rr::build_routing_table(in.providers, "google", std::move(copy));
        benchmark::DoNotOptimize(&t);
        state.PauseTiming();
        { rr::routing_table gone = std::move(t); }  // free outside the timing
        state.ResumeTiming();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(rows));
}

// What serve does before /readyz turns 200 (minus the config file and the
// metric gauges): providers + prefix file + routing table.
void bm_load_and_build(benchmark::State& state) {
    const inputs& in = get_inputs();
    if (!in.error.empty()) return state.SkipWithError(in.error.c_str());
    std::size_t ranges = 0, bytes = 0;
    for (auto _ : state) {
        auto providers = rr::load_providers(opts().asns);
        rr::origin_table t;
        rr::load_prefix_file(opts().table, t);
        const rr::routing_table table = rr::build_routing_table(providers, "google", std::move(t));
        ranges = table.stats().ranges_v4 + table.stats().ranges_v6;
        bytes = table.stats().memory_bytes;
    }
    state.counters["ranges"] = static_cast<double>(ranges);
    state.counters["table_KiB"] = static_cast<double>(bytes) / 1024.0;
}

void bm_build_trie(benchmark::State& state) {
    lookup_data& d = get_lookup_data();
    if (!d.error.empty()) return state.SkipWithError(d.error.c_str());
    std::size_t nodes = 0, bytes = 0;
    for (auto _ : state) {
        auto trie = std::make_unique<one_bit_trie>();
        for (const auto& p : d.v4) trie->insert_v4(p.network, p.length, p.provider);
        for (const auto& p : d.v6) trie->insert_v6(p.network, p.length, p.provider);
        nodes = trie->node_count();
        bytes = trie->memory_bytes();
        state.PauseTiming();
        trie.reset();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(d.v4.size() + d.v6.size()));
    state.counters["nodes"] = static_cast<double>(nodes);
    state.counters["trie_MiB"] = static_cast<double>(bytes) / (1024.0 * 1024.0);
}

/// The prefix column of the table file, as text (gunzipped once).
const std::vector<std::string>& prefix_texts() {
    static const std::vector<std::string> texts = [] {
        std::vector<std::string> r;
        gzFile f = gzopen(opts().table.c_str(), "rb");
        if (!f) return r;
        char line[1024];
        while (gzgets(f, line, sizeof line)) {
            std::string_view s(line);
            if (s.empty() || s[0] == '#' || s[0] == ';') continue;
            const auto end = s.find_first_of(" \t\r\n");
            if (end == 0) continue;
            r.emplace_back(s.substr(0, end));
        }
        gzclose(f);
        return r;
    }();
    return texts;
}

void bm_parse_ip_prefix(benchmark::State& state) {
    if (!readable(opts().table)) return state.SkipWithError(("prefix table not found: " + opts().table).c_str());
    const auto& texts = prefix_texts();
    if (texts.empty()) return state.SkipWithError("no prefixes read");
    std::size_t i = 0, bytes = 0, bad = 0;
    for (auto _ : state) {
        const rr::prefix_parse_result r = rr::parse_ip_prefix(texts[i]);
        bad += !r.ok();
        bytes += texts[i].size();
        benchmark::DoNotOptimize(r);
        if (++i == texts.size()) i = 0;
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
    state.counters["rejected"] = static_cast<double>(bad);
}

void bm_parse_ip_address(benchmark::State& state) {
    lookup_data& d = get_lookup_data();
    if (!d.error.empty()) return state.SkipWithError(d.error.c_str());
    std::vector<std::string> texts;
    for (const auto& s : d.sets)
        if (s.name == "mixed")
            for (std::size_t k = 0; k < std::min<std::size_t>(s.addresses.size(), 1 << 16); ++k)
                texts.push_back(rr::to_string(s.addresses[k]));
    if (texts.empty()) return state.SkipWithError("no mixed address set");
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(rr::parse_ip_address(texts[i]));
        if (++i == texts.size()) i = 0;
    }
    state.SetItemsProcessed(state.iterations());
}

void bm_gunzip(benchmark::State& state) {  // the floor under load_prefix_file
    if (!readable(opts().table)) return state.SkipWithError(("prefix table not found: " + opts().table).c_str());
    std::vector<char> buffer(1 << 18);
    std::size_t total = 0;
    for (auto _ : state) {
        gzFile f = gzopen(opts().table.c_str(), "rb");
        gzbuffer(f, 1 << 18);
        total = 0;
        int n;
        while ((n = gzread(f, buffer.data(), static_cast<unsigned>(buffer.size()))) > 0) total += static_cast<std::size_t>(n);
        gzclose(f);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(total));
}

// serve fingerprints every input file (sha256) before it loads them.
void bm_sha256_table(benchmark::State& state) {
    std::FILE* f = std::fopen(opts().table.c_str(), "rb");
    if (!f) return state.SkipWithError(("prefix table not found: " + opts().table).c_str());
    std::string bytes;
    char chunk[1 << 16];
    std::size_t n;
    while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) bytes.append(chunk, n);
    std::fclose(f);
    for (auto _ : state) {
        rr::sha256 h;
        h.update(bytes);
        benchmark::DoNotOptimize(h.hex_digest());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(bytes.size()));
}

const char* const set_names[] = {"random_v4", "random_v6", "provider_v4", "provider_v6", "table_v4", "table_v6", "mixed"};

void register_benchmarks() {
    // Address sets are named up front (the data loads lazily, when the first
    // selected benchmark runs).
    for (const std::string set : set_names) {
        benchmark::RegisterBenchmark(("lookup/ours/" + set).c_str(), [set](benchmark::State& s) { bm_lookup_ours(s, set, false); });
        benchmark::RegisterBenchmark(("lookup/one_bit_trie/" + set).c_str(),
                                     [set](benchmark::State& s) { bm_lookup_trie(s, set, false); });
    }
    for (const std::string set : {"random_v4", "mixed"}) {
        benchmark::RegisterBenchmark(("lookup_chained/ours/" + set).c_str(),
                                     [set](benchmark::State& s) { bm_lookup_ours(s, set, true); });
        benchmark::RegisterBenchmark(("lookup_chained/one_bit_trie/" + set).c_str(),
                                     [set](benchmark::State& s) { bm_lookup_trie(s, set, true); });
    }
    benchmark::RegisterBenchmark("handler/handle_request+write_response/mixed", bm_handler);
    benchmark::RegisterBenchmark("build/load_prefix_file", bm_load_prefix_file)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
    benchmark::RegisterBenchmark("build/build_routing_table", bm_build_routing_table)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
    benchmark::RegisterBenchmark("build/load_and_build", bm_load_and_build)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
    benchmark::RegisterBenchmark("build/one_bit_trie", bm_build_trie)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
    benchmark::RegisterBenchmark("build/gunzip_only", bm_gunzip)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
    benchmark::RegisterBenchmark("build/sha256_of_table_file", bm_sha256_table)->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();
    benchmark::RegisterBenchmark("parse/parse_ip_prefix", bm_parse_ip_prefix);
    benchmark::RegisterBenchmark("parse/parse_ip_address/mixed", bm_parse_ip_address);
}

}  // namespace

int main(int argc, char** argv) {
    if (const char* e = std::getenv("REDIRECTOR_BENCH_TABLE"); e && *e) opts().table = e;
    if (const char* e = std::getenv("REDIRECTOR_BENCH_ASNS"); e && *e) opts().asns = e;
    // Our flags first; the rest goes to Google Benchmark.
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a.rfind("--table=", 0) == 0) {
            opts().table = std::string(a.substr(8));
        } else if (a.rfind("--asns=", 0) == 0) {
            opts().asns = std::string(a.substr(7));
        } else if (a.rfind("--addresses=", 0) == 0) {
            opts().addresses = std::max<std::size_t>(1, std::strtoull(argv[i] + 12, nullptr, 10));
        } else {
            argv[kept++] = argv[i];
        }
    }
    argc = kept;
    benchmark::AddCustomContext("table", opts().table);
    benchmark::AddCustomContext("asns", opts().asns);
    register_benchmarks();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
