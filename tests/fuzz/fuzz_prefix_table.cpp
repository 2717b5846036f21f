// libFuzzer target: prefix -> origin-ASN table text (pfx2asn and CAIDA
// pfx2as), as an operator's or an attacker's file would hold it.
//
// load_prefix_text may only throw config_error. When it accepts the text:
//  - the same bytes through load_prefix_file (gzread path, via a memfd) give
//    the same rows, or the same rejection;
//  - a routing table built from them (3 providers, one without redirectsTo,
//    explicit cidrs, a shared ASN) answers every probed address exactly as a
//    brute-force reading of the README's rules does, and as route_explainer
//    does;
//  - reduce_to_providers changes no answer.

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "registry_redirector/data/config_error.hpp"
#include "registry_redirector/data/prefix_table.hpp"
#include "registry_redirector/routing/routing_table.hpp"
#include "fuzz_check.hpp"

using namespace registry_redirector;


namespace {

const prefix_file_limits limits{256, 512};

ip_prefix prefix(const char* text) {
    const auto r = parse_ip_prefix(text);
    CHECK(r.ok());
    return r.prefix;
}

std::vector<provider_config> make_providers(const origin_table& t) {
    provider_config a;
    a.name = "aaa";
    a.file = "fuzz/aaa.yaml";
    a.redirects_to = redirect_target{"registry.aaa.example", "artifacts.aaa.example"};
    a.asns = {16509, 64500, 64510};
    a.cidrs = {prefix("192.0.2.0/24"), prefix("203.0.113.0/24"), prefix("2001:db8::/32")};
    provider_config g;
    g.name = "google";
    g.file = "fuzz/google.yaml";
    g.redirects_to = redirect_target{"registry.google.example", "artifacts.google.example"};
    g.asns = {15169, 64510, 64511};
    g.cidrs = {prefix("203.0.113.0/24"), prefix("198.51.100.0/25")};  // the first is aaa's: aaa wins
    provider_config m;  // no redirectsTo: its clients go to the default
    m.name = "mmm";
    m.file = "fuzz/mmm.yaml";
    m.asns = {64512};
    m.cidrs = {prefix("192.0.2.64/26"), prefix("2001:db8:1::/48")};
    // Make the fuzzer's own ASNs matter: the first row's origin is aaa's, the
    // second row's google's (possibly both: a tie), the third mmm's.
    if (!t.v4.empty()) a.asns.push_back(t.v4[0].asn);
    if (t.v4.size() > 1) g.asns.push_back(t.v4[1].asn);
    if (t.v4.size() > 2) m.asns.push_back(t.v4[2].asn);
    if (!t.v6.empty()) g.asns.push_back(t.v6[0].asn);
    if (t.v6.size() > 1) m.asns.push_back(t.v6[1].asn);
    for (auto* p : {&a, &m, &g}) {
        std::sort(p->asns.begin(), p->asns.end());
        p->asns.erase(std::unique(p->asns.begin(), p->asns.end()), p->asns.end());
    }
    return {a, m, g};  // file-name order
}

/// The README's rule, read literally: the most specific prefix (table rows
/// and explicit cidrs together) decides; an explicit cidr is its provider's
/// (the first in file order); else the first provider listing one of its
/// origins; else nobody.
std::uint32_t reference_match(const std::vector<provider_config>& providers, const origin_table& t,
                              const ip_address& a) {
    int best = -1;
    for (const auto& o : t.v4)
        if (a.family == ip_family::v4 && (a.v4 & v4_mask(o.length)) == o.network) best = std::max(best, int{o.length});
    for (const auto& o : t.v6)
        if (a.family == ip_family::v6 && (a.v6 & v6_mask(o.length)) == o.network) best = std::max(best, int{o.length});
    int best_cidr = -1;
    std::uint32_t cidr_owner = routing_table::no_provider;
    for (std::uint32_t i = 0; i < providers.size(); ++i)
        for (const auto& c : providers[i].cidrs)
            if (c.contains(a) && c.length > best_cidr) {
                best_cidr = c.length;
                cidr_owner = i;
            }
    if (best_cidr >= 0 && best_cidr >= best) return cidr_owner;
    if (best < 0) return routing_table::no_provider;
    std::uint32_t winner = routing_table::no_provider;
    auto consider = [&](std::uint32_t asn) {
        for (std::uint32_t i = 0; i < providers.size(); ++i)
            if (std::binary_search(providers[i].asns.begin(), providers[i].asns.end(), asn))
                winner = std::min(winner, i);
    };
    if (a.family == ip_family::v4) {
        for (const auto& o : t.v4)
            if (o.length == best && (a.v4 & v4_mask(o.length)) == o.network) consider(o.asn);
    } else {
        for (const auto& o : t.v6)
            if (o.length == best && (a.v6 & v6_mask(o.length)) == o.network) consider(o.asn);
    }
    return winner;
}

std::vector<ip_address> probes(const origin_table& t) {
    std::vector<ip_address> v;
    for (const char* s : {"0.0.0.0", "255.255.255.255", "192.0.2.1", "203.0.113.9", "198.51.100.200", "8.8.8.8",
                          "3.5.140.1", "::", "2001:db8::1", "2001:db8:ffff::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                          "2600:1f18::1"})
        v.push_back(*parse_ip_address(s));
    for (std::size_t i = 0; i < t.v4.size() && i < 12; ++i) {
        const std::uint32_t first = t.v4[i].network, last = first | ~v4_mask(t.v4[i].length);
        for (std::uint32_t x : {first, first - 1, first + 1, last, last + 1}) v.push_back(ip_address::from_v4(x));
    }
    for (std::size_t i = 0; i < t.v6.size() && i < 12; ++i) {
        const uint128 first = t.v6[i].network, last = first | ~v6_mask(t.v6[i].length);
        for (uint128 x : {first, first - 1, first + 1, last, last + 1}) v.push_back(ip_address::from_v6(x));
    }
    return v;
}

bool same_rows(const origin_table& a, const origin_table& b) {
    auto key4 = [](const origin_v4& o) { return std::tuple(o.network, o.length, o.asn); };
    auto key6 = [](const origin_v6& o) { return std::tuple(o.network, o.length, o.asn); };
    if (a.v4.size() != b.v4.size() || a.v6.size() != b.v6.size()) return false;
    for (std::size_t i = 0; i < a.v4.size(); ++i)
        if (key4(a.v4[i]) != key4(b.v4[i])) return false;
    for (std::size_t i = 0; i < a.v6.size(); ++i)
        if (key6(a.v6[i]) != key6(b.v6[i])) return false;
    return true;
}

/// The file loader on the same bytes (memfd: no disk, no clean-up).
bool load_as_file(std::string_view text, origin_table& into) {
    static const int fd = memfd_create("fuzz_prefix_table", 0);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()));
    try {
        load_prefix_file("/proc/self/fd/" + std::to_string(fd), into, limits);
        return true;
    } catch (const config_error&) {
        return false;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    origin_table table;
    bool ok = true;
    try {
        const prefix_file_stats stats = load_prefix_text("fuzz", text, table, limits);
        CHECK(stats.entries_v4 == table.v4.size() && stats.entries_v6 == table.v6.size());
        CHECK(table.v4.size() + table.v6.size() <= limits.max_entries);
    } catch (const config_error& e) {
        ok = false;
        CHECK(e.file() == "fuzz");
    }
    for (const auto& o : table.v4) CHECK(o.length <= 32 && (o.network & ~v4_mask(o.length)) == 0);
    for (const auto& o : table.v6) CHECK(o.length <= 128 && (o.network & ~v6_mask(o.length)) == 0);

    // gzip magic: the file loader would inflate what the text loader reads raw.
    if (size < 2 || data[0] != 0x1f || data[1] != 0x8b) {
        origin_table from_file;
        const bool file_ok = load_as_file(text, from_file);
        CHECK(file_ok == ok);
        if (ok) CHECK(same_rows(table, from_file));
    }
    if (!ok) return 0;

    const std::vector<provider_config> providers = make_providers(table);
    // Every table build fills two 256 KiB first-level indexes (several times
    // over): the explainer, the costliest oracle, runs on one input in eight.
    const routing_table routes = build_routing_table(providers, "google", table);
    const routing_table reduced = build_routing_table(providers, "google", reduce_to_providers(providers, table));
    std::unique_ptr<route_explainer> explainer;
    if (std::hash<std::string_view>{}(text) % 8 == 0)
        explainer = std::make_unique<route_explainer>(providers, "google", table);
    for (const ip_address& a : probes(table)) {
        const std::uint32_t owner = reference_match(providers, table, a);
        // The owner's mirror if it has one, else the default's.
        const std::uint32_t expected =
            owner != routing_table::no_provider && providers[owner].redirects_to ? owner : routes.default_index();
        const std::uint32_t got = routes.redirect_for(a);
        CHECK(got == expected);
        CHECK(routes.redirect_index(owner) == expected);
        if (explainer) {
            const route_explanation e = explainer->explain(a);
            CHECK(e.matched == owner && e.redirect == expected);
        }
        CHECK(reduced.redirect_for(a) == got);
        CHECK(got < routes.providers().size() && routes.providers()[got].redirects_to);
    }
    return 0;
}
