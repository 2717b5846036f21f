#include "registry_redirector/app/commands.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "registry_redirector/config/config.hpp"
#include "registry_redirector/data/config_error.hpp"
#include "registry_redirector/data/mrt_resolve.hpp"
#include "registry_redirector/data/prefix_table.hpp"
#include "registry_redirector/routing/decision_explainer.hpp"
#include "registry_redirector/routing/routing_table.hpp"
#include "registry_redirector/routing/table_diff.hpp"
#include "registry_redirector/app/build_revision.hpp"
#include "registry_redirector/app/server_app.hpp"
#include "registry_redirector/http/tls_context.hpp"

namespace registry_redirector {

namespace {

constexpr const char* usage_text = R"(registry-redirector: answers every request with a 302 to the mirror of the
cloud provider the client's IP address belongs to.

Usage:
  registry-redirector serve  --config FILE [--listen ADDR:PORT|off] [--tls-listen ADDR:PORT]
                             [--admin-listen ADDR:PORT] [--threads N] [--log-level LEVEL]
  registry-redirector check  --config FILE
  registry-redirector lookup --config FILE [--path PATH] [--range] IP...
  registry-redirector reduce --config FILE --source TABLE --out FILE.gz [--source-date DATE]
  registry-redirector resolve --rib FILE... [--updates FILE...] --out TABLE.gz
                             [--min-peers N] [--keep-long] [--allow-truncated] [--config FILE]
  registry-redirector diff   --config FILE OLD_TABLE NEW_TABLE [--json]
  registry-redirector diff   --old-config FILE --new-config FILE [--json]
  registry-redirector --help | --version

Commands:
  serve   Run the redirect listener (default 0.0.0.0:8080), the HTTPS one when
          the config sets tls_listen, and the admin listener (/healthz,
          /readyz, /metrics; default 0.0.0.0:9090).
  check   Validate the config, provider files, prefix tables and TLS files;
          print each provider's ASNs and prefix counts, the certificate's
          subject, names and expiry, and every warning. Exit 1 on error.
  lookup  For each IP: the matched prefix, its origin ASNs, the provider, its
          region, the path class, every candidate mirror and why it was or was
          not chosen, and the answer (Location) for PATH (default /v2/),
          with a Range header if --range is given.
  reduce  Write the rows of TABLE that are, or lie inside, a provider prefix:
          the small table to ship instead of the whole Internet.
  resolve Read BGP RIB dumps (MRT: TABLE_DUMP_V2 or TABLE_DUMP, plain, gzip
          or bzip2) from several collectors, bring them forward with update
          files (BGP4MP), and write the prefix -> origin table: pairs seen by
          at least --min-peers sessions (default 2), no default route, no
          bogons, nothing longer than /24 or /48 unless --keep-long. With
          --config, only the rows that can matter for it (as reduce). The
          output is replaced atomically; a truncated dump is an error unless
          --allow-truncated.
  diff    What a new table (or config) changes: per provider and region
          (cloud_ranges), prefixes and addresses (/24 and /48 equivalents)
          gained and lost, the largest moves first, totals; text or --json.
          Exit 0 when every address is answered as before, 1 when some
          address changes provider or region, 2 on error.

LEVEL is trace, debug, info, warn, error, critical or off.
)";

struct arguments {
    std::string command;
    std::optional<std::string> config, listen, tls_listen, admin_listen, threads, log_level, source, source_date, out, min_peers,
        old_config, new_config, path;
    bool range = false;
    std::vector<std::string> positional;
    std::vector<std::string> ribs, updates;  ///< several after one flag, or the flag repeated
    bool keep_long = false;
    bool allow_truncated = false;
    bool json = false;
};

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

arguments parse_arguments(int argc, char** argv) {
    arguments a;
    if (argc < 2) throw usage_error("missing command");
    a.command = argv[1];
    const std::map<std::string, std::optional<std::string> arguments::*> options{
        {"--config", &arguments::config},         {"--listen", &arguments::listen},
        {"--tls-listen", &arguments::tls_listen},
        {"--admin-listen", &arguments::admin_listen}, {"--threads", &arguments::threads},
        {"--log-level", &arguments::log_level},   {"--source", &arguments::source},
        {"--source-date", &arguments::source_date}, {"--out", &arguments::out},
        {"--min-peers", &arguments::min_peers},   {"--old-config", &arguments::old_config},
        {"--new-config", &arguments::new_config}, {"--path", &arguments::path}};
    const std::map<std::string, std::vector<std::string> arguments::*> lists{{"--rib", &arguments::ribs},
                                                                             {"--updates", &arguments::updates}};
    const std::map<std::string, bool arguments::*> flags{{"--keep-long", &arguments::keep_long},
                                                         {"--allow-truncated", &arguments::allow_truncated},
                                                         {"--json", &arguments::json},
                                                         {"--range", &arguments::range}};
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg.rfind("--", 0) != 0) {
            a.positional.push_back(arg);
            continue;
        }
        std::optional<std::string> value;
        if (const auto eq = arg.find('='); eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        }
        if (const auto f = flags.find(arg); f != flags.end()) {
            if (value) throw usage_error(arg + " takes no value");
            a.*(f->second) = true;
            continue;
        }
        if (const auto l = lists.find(arg); l != lists.end()) {
            auto& list = a.*(l->second);
            const std::size_t before = list.size();
            if (value) list.push_back(*value);
            while (!value && i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) list.push_back(argv[++i]);
            if (list.size() == before) throw usage_error(arg + " needs at least one file");
            continue;
        }
        const auto it = options.find(arg);
        if (it == options.end()) throw usage_error("unknown option " + arg);
        if (!value) {
            if (i + 1 >= argc) throw usage_error(arg + " needs a value");
            value = argv[++i];
        }
        a.*(it->second) = *value;
    }
    if (a.command == "diff" && a.old_config && a.new_config) {
        if (a.config || !a.positional.empty())
            throw usage_error("diff takes either --config FILE OLD NEW or --old-config FILE --new-config FILE");
        return a;
    }
    if (a.command == "diff" && (a.positional.size() != 2 || a.old_config || a.new_config))
        throw usage_error("diff takes either --config FILE OLD NEW or --old-config FILE --new-config FILE");
    if (!a.config && a.command != "resolve") throw usage_error(a.command + " needs --config FILE");
    return a;
}

struct loaded_inputs {
    std::vector<provider_config> providers;
    origin_table origins;
    std::vector<prefix_file_stats> files;
    routing_options options;
};

loaded_inputs load_inputs(const server_config& config) {
    loaded_inputs in;
    in.providers = load_providers(config.providers_dir);
    for (const auto& file : config.prefix_files) in.files.push_back(load_prefix_source(file, in.origins, config.mrt));
    in.options.clouds = load_cloud_sources(config);
    in.options.routes = config.routes;
    in.options.explain_header = config.explain_header;
    return in;
}

std::string joined(const std::vector<std::string>& items, const char* separator = ", ") {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : separator) + i;
    return out;
}

/// One line per mirror, for check.
void print_mirrors(const routing_table& table, const routing_provider& p) {
    for (std::uint32_t index : p.mirrors) {
        const routing_mirror& m = table.mirrors()[index];
        if (m.from_redirects_to) continue;  // shown as redirectsTo
        std::vector<std::string> regions;
        for (auto r : m.regions) regions.push_back(table.regions()[r]);
        for (const auto& r : m.unknown_regions) regions.push_back(r + " (unknown)");
        std::printf("  %-14s mirror %s: regions %s, weight %u%s%s%s\n", "", m.name.c_str(),
                    m.any_region ? "any" : joined(regions).c_str(), m.weight, m.weight ? "" : " (standby)",
                    m.ipv6 ? "" : ", no IPv6", m.ranges ? "" : ", no Range");
        std::printf("  %-14s   registry %s | artifacts %s | blobs %s\n", "", m.registry.text.c_str(),
                    m.artifacts.text.c_str(), m.blobs.text.c_str());
    }
}


const char* format_name(prefix_format f) {
    switch (f) {
        case prefix_format::pfx2asn: return "pfx2asn";
        case prefix_format::caida: return "CAIDA pfx2as";
        case prefix_format::mrt: return "MRT dump (resolved)";
    }
    return "?";
}

std::string utc_date(std::int64_t unix_seconds) {
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

/// Validates the pair exactly as `serve` would (throws config_error) and
/// prints what an operator checks before a rollout.
void print_tls(const server_config& config) {
    const auto context = tls_context::load(config.tls, config.path);
    const certificate_info& leaf = context->leaf();
    std::string names;
    for (const auto& n : leaf.names) names += (names.empty() ? "" : ", ") + n;
    const double days = static_cast<double>(leaf.not_after - std::time(nullptr)) / 86400.0;
    std::printf("tls: listen %s:%u\n", config.tls_listen->host.c_str(), config.tls_listen->port);
    std::printf("  certificate %s (+%zu chain certificates), key %s: the key matches\n", config.tls.certificate.c_str(),
                leaf.chain_length, config.tls.private_key.c_str());
    std::printf("  subject %s\n  issuer  %s\n  serial  %s\n", leaf.subject.c_str(), leaf.issuer.c_str(),
                leaf.serial.c_str());
    std::printf("  names   %s\n", names.empty() ? "(no subjectAltName: clients will reject it)" : names.c_str());
    std::printf("  valid   %s to %s (%.1f days left)\n", utc_date(leaf.not_before).c_str(), utc_date(leaf.not_after).c_str(),
                days);
    if (days < 14) std::printf("  warning: the certificate expires in less than 14 days\n");
    std::printf("  session tickets: %s\n", config.tls.session_ticket_key_file.empty()
                                                ? "on, key random per process (set tls.session_ticket_key_file to share it)"
                                                : ("on, shared key " + config.tls.session_ticket_key_file).c_str());
}

int run_check(const arguments& args) {
    const server_config config = load_server_config(*args.config);
    const auto started = std::chrono::steady_clock::now();
    loaded_inputs in = load_inputs(config);
    const routing_table table =
        build_routing_table(in.providers, config.default_provider, std::move(in.origins), std::move(in.options));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    std::printf("config %s\n", config.path.c_str());
    std::printf("providers (%zu, in file-name order; ties go to the first):\n", table.providers().size());
    for (std::size_t i = 0; i < table.providers().size(); ++i) {
        const auto& p = table.providers()[i];
        std::string asns;
        for (auto asn : p.asns) {
            if (!asns.empty()) asns += ' ';
            asns += std::to_string(asn);
        }
        std::printf("  %-14s IPv4 prefixes %7s  IPv6 prefixes %7s  ", p.name.c_str(), with_commas(p.prefixes_v4).c_str(),
                    with_commas(p.prefixes_v6).c_str());
        const bool has_mirrors = !p.mirrors.empty() && !table.mirrors()[p.mirrors[0]].from_redirects_to;
        if (!p.active)
            std::printf("-> active: false: served by the default, %s\n", table.providers()[table.default_index()].name.c_str());
        else if (has_mirrors)
            std::printf("-> %zu mirrors%s\n", p.mirrors.size(), i == table.default_index() ? " (default)" : "");
        else if (p.redirects_to)
            std::printf("-> registry %s, artifacts %s%s\n", p.redirects_to->registry.c_str(),
                        p.redirects_to->artifacts.c_str(), i == table.default_index() ? " (default)" : "");
        else
            std::printf("-> no redirectsTo: served by the default, %s\n",
                        table.providers()[table.default_index()].name.c_str());
        std::printf("  %-14s ASNs: %s\n", "", asns.empty() ? "(none)" : asns.c_str());
        if (!p.oncall.empty()) std::printf("  %-14s oncall: %s\n", "", joined(p.oncall).c_str());
        print_mirrors(table, p);
    }
    std::printf("prefix tables:\n");
    for (const auto& f : in.files)
        std::printf("  %s: %s, %s lines, %s IPv4 + %s IPv6 rows\n", f.path.c_str(), format_name(f.format),
                    with_commas(f.lines).c_str(), with_commas(f.entries_v4).c_str(), with_commas(f.entries_v6).c_str());
    if (!config.cloud_ranges.empty()) {
        std::printf("cloud range files (%zu region labels in all, %s prefixes given to providers):\n",
                    table.regions().size(), with_commas(table.stats().labelled_prefixes).c_str());
        for (const auto& c : config.cloud_ranges)
            std::printf("  %s: %s, provider %s\n", c.file.c_str(), to_string(c.format), c.provider.c_str());
    }
    if (const auto& r = table.routes()) {
        std::printf("routes: status %u, upstream %s\n", r->status, r->upstream ? r->upstream->text.c_str() : "(none)");
        for (std::size_t c = 0; c < path_class_count; ++c) {
            const auto& a = r->classes[c];
            std::printf("  %-9s %s%s%s\n", to_label(static_cast<path_class>(c)),
                        a.kind == class_action_kind::fixed ? a.fixed.text.c_str() : to_label(a.kind),
                        r->cache_control[c].empty() ? "" : ", Cache-Control: ", r->cache_control[c].c_str());
        }
        for (const auto& f : r->fixed)
            std::printf("  fixed %s* -> %s\n", f.prefix.c_str(), f.not_found ? "404" : f.url.text.c_str());
    } else {
        std::printf("routes: none (registry host for /v2 paths, artifacts host for the rest; 302)\n");
    }
    if (config.explain_header) std::printf("explain_header: on (X-Redirect-Reason on every redirect)\n");
    const auto& s = table.stats();
    std::printf("routing table: %s IPv4 + %s IPv6 unique table prefixes -> %s IPv4 + %s IPv6 ranges, %.1f KiB (%s trie nodes, %s search spans), built in %.2f s\n",
                with_commas(s.table_prefixes_v4).c_str(), with_commas(s.table_prefixes_v6).c_str(),
                with_commas(s.ranges_v4).c_str(), with_commas(s.ranges_v6).c_str(),
                static_cast<double>(s.memory_bytes) / 1024.0, with_commas(s.trie_nodes).c_str(),
                with_commas(s.search_spans).c_str(), seconds);
    std::printf("trusted proxies: %zu\n", config.trusted_proxies.size());
    if (config.tls_listen) print_tls(config);
    std::printf("warnings (%zu):\n", table.warnings().size());
    for (const auto& w : table.warnings()) std::printf("  warning: %s\n", w.c_str());
    std::printf("OK\n");
    return 0;
}

int run_lookup(const arguments& args) {
    if (args.positional.empty()) throw usage_error("lookup needs at least one IP address");
    const std::string path = args.path.value_or("/v2/");
    if (path.empty() || path[0] != '/' ||
        std::any_of(path.begin(), path.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }))
        throw usage_error("--path must start with '/' and hold no blank or control character");
    const server_config config = load_server_config(*args.config);
    loaded_inputs in = load_inputs(config);
    const route_explainer explainer(in.providers, config.default_provider, std::move(in.origins), std::move(in.options));
    const routing_table& table = explainer.table();
    const auto& providers = table.providers();
    int status = 0;
    for (const auto& text : args.positional) {
        const auto address = parse_ip_address(text);
        if (!address) {
            std::printf("%s\terror: not an IPv4 or IPv6 address\n", text.c_str());
            status = 1;
            continue;
        }
        const route_explanation e = explainer.explain(*address);
        std::string origins;
        for (auto asn : e.origins) origins += (origins.empty() ? "AS" : ",AS") + std::to_string(asn);
        std::string prefix = e.prefix ? to_string(*e.prefix) : "none";
        if (e.explicit_cidr) prefix += " (explicit cidr or range file)";
        const std::string matched = e.matched == routing_table::no_provider ? "none" : providers[e.matched].name;
        const auto& target = providers[e.redirect];
        if (target.redirects_to && (target.mirrors.empty() || table.mirrors()[target.mirrors[0]].from_redirects_to))
            std::printf("%s\tprefix=%s origins=%s provider=%s redirect=%s registry=%s artifacts=%s\n", text.c_str(),
                        prefix.c_str(), origins.empty() ? "-" : origins.c_str(), matched.c_str(), target.name.c_str(),
                        target.redirects_to->registry.c_str(), target.redirects_to->artifacts.c_str());
        else
            std::printf("%s\tprefix=%s origins=%s provider=%s redirect=%s mirrors=%zu\n", text.c_str(), prefix.c_str(),
                        origins.empty() ? "-" : origins.c_str(), matched.c_str(), target.name.c_str(),
                        target.mirrors.size());
        const decision_explanation d = explain_decision(table, path, *address, args.range);
        const std::string region = table.region_name(e.region).empty() ? "none" : std::string(table.region_name(e.region));
        std::printf("  region=%s path=%s class=%s action=%s needs=%s\n", region.c_str(), path.c_str(),
                    to_label(d.decision.klass), to_label(d.decision.action), describe_needs(*address, args.range).c_str());
        for (const auto& c : d.candidates)
            std::printf("  mirror %s (%s): %s\n", table.mirrors()[c.mirror].name.c_str(),
                        providers[table.mirrors()[c.mirror].provider].name.c_str(), c.verdict.c_str());
        std::printf("  answer: %s\n", d.outcome.c_str());
    }
    return status;
}

int run_reduce(const arguments& args) {
    if (!args.source || !args.out) throw usage_error("reduce needs --source TABLE and --out FILE.gz");
    const server_config config = load_server_config(*args.config);
    const auto providers = load_providers(config.providers_dir);
    origin_table source;
    const prefix_file_stats stats = load_prefix_file(*args.source, source);
    // Rows inside cloud range prefixes can change a decision too (holes).
    const origin_table reduced = reduce_to_providers(providers, std::move(source), load_cloud_sources(config));
    std::string names;
    for (const auto& p : providers) names += (names.empty() ? "" : " ") + p.name;
    const std::string source_name = std::filesystem::path(*args.source).filename().string();
    const std::string header =
        "# Reduced prefix -> origin-ASN table (pfx2asn format: PREFIX/LEN<TAB>ASN).\n"
        "# source: " + source_name + " (" + with_commas(stats.lines) + " lines)\n"
        "# source date: " + args.source_date.value_or("unknown") + "\n"
        "# kept: every prefix that is, or lies inside, a prefix originated by an ASN of\n"
        "#       these providers (or one of their explicit cidrs): " + names + "\n"
        "# rows: " + with_commas(reduced.v4.size()) + " IPv4, " + with_commas(reduced.v6.size()) + " IPv6\n"
        "# made by: registry-redirector reduce --source " + source_name + " (version " REDIRECTOR_VERSION ")\n";
    write_prefix_table(*args.out, header, reduced);
    std::printf("%s: kept %s IPv4 + %s IPv6 rows of %s\n", args.out->c_str(), with_commas(reduced.v4.size()).c_str(),
                with_commas(reduced.v6.size()).c_str(), with_commas(stats.lines).c_str());
    return 0;
}

template <class Row>
void sort_rows(std::vector<Row>& rows) {
    const auto key = [](const Row& r) { return std::tuple(r.network, r.length, r.asn); };
    std::sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) { return key(a) < key(b); });
    rows.erase(std::unique(rows.begin(), rows.end(), [&](const Row& a, const Row& b) { return key(a) == key(b); }),
               rows.end());
}

int run_resolve(const arguments& args) {
    if (args.ribs.empty() || !args.out) throw usage_error("resolve needs --rib FILE... and --out TABLE.gz");
    mrt_resolve_options options;
    if (args.min_peers) {
        try {
            std::size_t used = 0;
            const unsigned long v = std::stoul(*args.min_peers, &used);
            if (used != args.min_peers->size() || v < 1 || v > 10'000) throw std::out_of_range("");
            options.min_peers = static_cast<unsigned>(v);
        } catch (const std::exception&) {
            throw usage_error("--min-peers needs a number from 1 to 10000");
        }
    }
    options.keep_long = args.keep_long;
    options.allow_truncated = args.allow_truncated;
    std::optional<server_config> config;
    std::vector<provider_config> providers;
    if (args.config) {  // read first: a bad config fails before minutes of parsing
        config = load_server_config(*args.config);
        providers = load_providers(config->providers_dir);
    }
    const auto started = std::chrono::steady_clock::now();
    mrt_resolve_result result = resolve_mrt(args.ribs, args.updates, options);
    for (const auto& in : result.inputs)
        if (in.truncated) std::fprintf(stderr, "warning: %s (kept, --allow-truncated)\n", in.truncated->c_str());
    std::string extra;
    if (config) {
        const std::size_t before_v4 = result.table.v4.size(), before_v6 = result.table.v6.size();
        result.table = reduce_to_providers(providers, std::move(result.table));
        sort_rows(result.table.v4);
        sort_rows(result.table.v6);
        std::string names;
        for (const auto& p : providers) names += (names.empty() ? "" : " ") + p.name;
        extra = "# reduced for " + std::filesystem::path(*args.config).filename().string() +
                ": kept the rows that are, or lie inside, a prefix originated by an ASN of these providers\n"
                "#   (or one of their explicit cidrs): " + names + "; " + std::to_string(result.table.v4.size()) + " of " +
                std::to_string(before_v4) + " IPv4 and " + std::to_string(result.table.v6.size()) + " of " +
                std::to_string(before_v6) + " IPv6 rows\n";
    }
    write_prefix_table(*args.out, resolve_table_header(result, options, extra), result.table);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto& c = result.counts;
    std::printf("%s: %s IPv4 + %s IPv6 rows from %zu files in %.1f s (pairs seen %s; dropped: under %u peers %s, "
                "long %s, bogons %s, default %s)\n",
                args.out->c_str(), with_commas(result.table.v4.size()).c_str(), with_commas(result.table.v6.size()).c_str(),
                result.inputs.size(), seconds, with_commas(c.pairs_seen).c_str(), options.min_peers,
                with_commas(c.dropped_min_peers).c_str(), with_commas(c.dropped_long).c_str(),
                with_commas(c.dropped_bogon).c_str(), with_commas(c.dropped_default).c_str());
    return 0;
}

diff_side load_side(const server_config& config, const std::vector<std::string>& tables) {
    diff_side side;
    side.providers = load_providers(config.providers_dir);
    side.default_provider = config.default_provider;
    for (const auto& t : tables) load_prefix_source(t, side.origins, config.mrt);
    side.clouds = load_cloud_sources(config);
    return side;
}

int run_diff(const arguments& args) {
    diff_side before, after;
    if (args.old_config) {
        const server_config old_config = load_server_config(*args.old_config);
        const server_config new_config = load_server_config(*args.new_config);
        before = load_side(old_config, old_config.prefix_files);
        after = load_side(new_config, new_config.prefix_files);
    } else {
        const server_config config = load_server_config(*args.config);
        before = load_side(config, {args.positional[0]});
        after = load_side(config, {args.positional[1]});
    }
    const table_diff d = diff_tables(before, after);
    const std::string text = args.json ? diff_json(d) : diff_text(d);
    std::fputs(text.c_str(), stdout);
    return d.answers_changed ? 1 : 0;
}

int run_serve(const arguments& args) {
    serve_overrides overrides;
    try {
        if (args.listen && *args.listen == "off")
            overrides.listen_off = true;
        else if (args.listen)
            overrides.listen = parse_endpoint(*args.listen);
        if (args.tls_listen) overrides.tls_listen = parse_endpoint(*args.tls_listen);
        if (args.admin_listen) overrides.admin_listen = parse_endpoint(*args.admin_listen);
    } catch (const std::invalid_argument& e) {
        throw usage_error(std::string("--listen/--tls-listen/--admin-listen: ") + e.what());
    }
    if (args.threads) {
        try {
            overrides.threads = static_cast<unsigned>(std::stoul(*args.threads));
        } catch (const std::exception&) {
            throw usage_error("--threads needs a number");
        }
        if (*overrides.threads > 256) throw usage_error("--threads must be at most 256");
    }
    if (args.log_level) {
        if (spdlog::level::from_str(*args.log_level) == spdlog::level::off && *args.log_level != "off")
            throw usage_error("unknown log level " + *args.log_level);
        overrides.log_level = *args.log_level;
    }
    return run_server(*args.config, overrides);
}

}  // namespace

int run_cli(int argc, char** argv) {
    if (argc >= 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" || std::string(argv[1]) == "help")) {
        std::fputs(usage_text, stdout);
        return 0;
    }
    if (argc >= 2 && std::string(argv[1]) == "--version") {
        std::printf("registry-redirector %s (revision %s)\n", REDIRECTOR_VERSION, REDIRECTOR_REVISION);
        return 0;
    }
    // diff's exit status is for CI: 0 same answers, 1 changed, 2 any error.
    const bool diff = argc >= 2 && std::string(argv[1]) == "diff";
    try {
        const arguments args = parse_arguments(argc, argv);
        if (args.command == "diff") return run_diff(args);
        if (args.command == "serve") return run_serve(args);
        if (args.command == "check") return run_check(args);
        if (args.command == "lookup") return run_lookup(args);
        if (args.command == "reduce") return run_reduce(args);
        if (args.command == "resolve") return run_resolve(args);
        throw usage_error("unknown command \"" + args.command + "\"");
    } catch (const usage_error& e) {
        std::fprintf(stderr, "error: %s\n\n%s", e.what(), usage_text);
        return 2;
    } catch (const config_error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return diff ? 2 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return diff ? 2 : 1;
    }
}

}  // namespace registry_redirector
