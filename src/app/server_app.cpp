#include "registry_redirector/app/server_app.hpp"

#include <malloc.h>
#include <sys/resource.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>

#include <atomic>
#include <cstdlib>
#include <future>
#include <iterator>
#include <mutex>
#include <optional>
#include <filesystem>
#include <fstream>
#include <thread>

#include "registry_redirector/telemetry/access_log.hpp"
#include "registry_redirector/admin/admin_server.hpp"
#include "registry_redirector/admin/mirror_endpoints.hpp"
#include "registry_redirector/mirrors/mirror_prober.hpp"
#include "registry_redirector/app/build_revision.hpp"
#include "registry_redirector/data/config_error.hpp"
#include "registry_redirector/admin/debug_route.hpp"
#include "registry_redirector/app/config_watcher.hpp"
#include "registry_redirector/http/http_server.hpp"
#include "registry_redirector/data/mrt_resolve.hpp"
#include "registry_redirector/data/prefix_table.hpp"
#include "registry_redirector/telemetry/process_metrics.hpp"
#include "registry_redirector/telemetry/request_metrics.hpp"
#include "registry_redirector/routing/routing_table.hpp"
#include "registry_redirector/data/sha256.hpp"
#include "registry_redirector/http/tls_context.hpp"

namespace registry_redirector {

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

constexpr auto reload_debounce = std::chrono::milliseconds(500);
constexpr auto drain_poll = std::chrono::milliseconds(50);
/// At shutdown, queued spans get this long to reach the collector.
constexpr auto otel_flush_bound = std::chrono::milliseconds(3000);

void hash_file(sha256& h, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw config_error(path, 0, "cannot open");
    h.update(path);
    h.update(std::string_view("\0", 1));
    char chunk[1 << 16];
    while (in.read(chunk, sizeof chunk) || in.gcount() > 0) h.update(std::string_view(chunk, static_cast<std::size_t>(in.gcount())));
}

/// The TLS input files of a config (none without tls_listen).
std::vector<std::string> tls_files(const server_config& c) {
    if (!c.tls_listen) return {};
    std::vector<std::string> files{c.tls.certificate, c.tls.private_key};
    if (!c.tls.session_ticket_key_file.empty()) files.push_back(c.tls.session_ticket_key_file);
    return files;
}

/// One complete attempt to load the configuration, made on the loader
/// thread. Either `snapshot` or `error` is set.
struct load_result {
    server_config config;
    std::vector<provider_config> providers;
    std::shared_ptr<const serving_snapshot> snapshot;
    std::shared_ptr<const tls_context> tls;  ///< set when tls_listen is
    std::optional<std::string> admin_token;  ///< from admin_token_file
    std::string sha;
    std::string summary;
    std::string error;
    bool unchanged = false;
    std::vector<prefix_file_stats> prefix_stats;  ///< per prefixes: entry (data_time for freshness)
};

/// The admin token: the file's content without surrounding blanks and line
/// ends (as `kubectl create secret` or an editor leaves it).
std::string read_admin_token(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw config_error(path, 0, "admin_token_file: cannot open");
    std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto first = token.find_first_not_of(" \t\r\n");
    const auto last = token.find_last_not_of(" \t\r\n");
    token = first == std::string::npos ? std::string() : token.substr(first, last - first + 1);
    if (token.size() < 16)
        throw config_error(path, 0, "admin_token_file: the token must be at least 16 characters (e.g. openssl rand -hex 32)");
    if (token.find_first_of(" \t\r\n") != std::string::npos)
        throw config_error(path, 0, "admin_token_file: the token must be one word");
    return token;
}

/// Which mirrors to probe, numbered as the routing table numbers them.
std::vector<mirror_probe_target> probe_targets(const routing_table& routes, const std::vector<provider_config>& providers) {
    std::vector<mirror_probe_target> targets;
    for (const auto& m : routes.mirrors()) {
        mirror_probe_target t{m.name, std::nullopt, std::nullopt};
        for (const auto& p : providers)
            for (const auto& c : p.mirrors)
                if (c.name == m.name) {
                    t.probe = c.probe;
                    t.check_blobs = c.check_blobs;
                }
        targets.push_back(std::move(t));
    }
    return targets;
}

load_result load_everything(const std::string& config_path, const serve_overrides& overrides,
                            const std::string& current_sha, std::uint64_t generation, request_metrics& metrics,
                            mirror_prober& prober) {
    load_result r;
    const auto started = steady::now();
    try {
        r.config = load_server_config(config_path);
        overrides.apply(r.config);
        r.providers = load_providers(r.config.providers_dir);
        // The fingerprint covers every input byte, so config_info names
        // exactly what is serving. It runs beside the load (two cores), and
        // an unchanged fingerprint throws the load's work away.
        auto fingerprint = std::async(std::launch::async, [&] {
            sha256 h;
            hash_file(h, config_path);
            for (const auto& p : r.providers) hash_file(h, p.file);
            for (const auto& f : r.config.prefix_files) hash_file(h, f);
            for (const auto& f : tls_files(r.config)) hash_file(h, f);
            if (!r.config.admin_token_file.empty()) hash_file(h, r.config.admin_token_file);
            for (const auto& c : r.config.cloud_ranges) hash_file(h, c.file);
            return h.hex_digest();
        });
        origin_table origins;
        routing_options options;
        std::size_t rows_read = 0;
        try {
            // A certificate pair that does not validate rejects the whole
            // reload: the old pair (and the old table) keep serving.
            if (r.config.tls_listen) r.tls = tls_context::load(r.config.tls, config_path);
            if (!r.config.admin_token_file.empty()) r.admin_token = read_admin_token(r.config.admin_token_file);
            // Cloud range prefixes are the providers' like explicit cidrs: the
            // row filter must keep what is nested in them.
            options.clouds = load_cloud_sources(r.config);
            // Keep only the rows that can change a decision while parsing, so
            // a whole-Internet table never sits in memory (peak RSS is what a
            // container limit must allow). A table out of order cannot be
            // reduced on the fly: it is loaded whole, as before.
            bool sorted = false;
            {
                provider_row_filter filter(r.providers, options.clouds);
                // A text table, or an MRT dump resolved with the config's mrt: thresholds.
                for (const auto& f : r.config.prefix_files)
                    r.prefix_stats.push_back(load_prefix_source(f, filter, r.config.mrt));
                rows_read = filter.received;
                sorted = filter.sorted();
                if (sorted) origins = filter.finish();
            }
            if (!sorted) {
                spdlog::info("prefix tables are not sorted by prefix: loading them whole (more memory while loading)");
                r.prefix_stats.clear();
                for (const auto& f : r.config.prefix_files)
                    r.prefix_stats.push_back(load_prefix_source(f, origins, r.config.mrt));
            }
        } catch (...) {
            fingerprint.wait();  // it reads r's members
            throw;
        }
        r.sha = fingerprint.get();
        if (r.sha == current_sha) {
            r.unchanged = true;
            return r;
        }
        auto snapshot = std::make_shared<serving_snapshot>(serving_snapshot{
            build_routing_table(r.providers, r.config.default_provider, std::move(origins), [&] {
                options.routes = r.config.routes;
                options.explain_header = r.config.explain_header;
                return std::move(options);
            }()),
            client_ip_policy{trusted_proxy_set(r.config.trusted_proxies), r.config.client_ip_headers,
                             r.config.trusted_hops},
            {}, generation});
        for (const auto& p : snapshot->routes.providers()) snapshot->metric_slots.push_back(metrics.slot_for(p.name));
        for (const auto& m : snapshot->routes.mirrors()) snapshot->mirror_slots.push_back(metrics.mirror_slot_for(m.name));
        // Last, once nothing can fail: from here the probes write into the
        // new board (the old snapshot's stops changing; it serves for
        // milliseconds more). Mirrors whose name and probe are unchanged keep
        // their health.
        mirror_state state = prober.assign(probe_targets(snapshot->routes, r.providers));
        snapshot->health = std::move(state.health);
        snapshot->blob_checks = std::move(state.blob_checks);
        const auto& s = snapshot->routes.stats();
        r.summary = with_commas(snapshot->routes.providers().size()) + " providers, " + with_commas(s.table_prefixes_v4) +
                    " IPv4 + " + with_commas(s.table_prefixes_v6) + " IPv6 prefixes (of " +
                    with_commas(rows_read) + " table rows) -> " + with_commas(s.ranges_v4) + " + " +
                    with_commas(s.ranges_v6) + " ranges (" + with_commas(s.memory_bytes / 1024) + " KiB), " +
                    std::to_string(snapshot->routes.warnings().size()) + " warnings, loaded in " +
                    std::to_string(std::chrono::duration<double>(steady::now() - started).count()).substr(0, 5) + " s";
        r.snapshot = std::move(snapshot);
    } catch (const std::exception& e) {
        r.error = e.what();
        r.snapshot.reset();
    }
    return r;
}

/// The keys a running process cannot apply; a change is reported, not
/// silently ignored.
std::vector<std::string> restart_only_changes(const server_config& running, const server_config& next) {
    std::vector<std::string> changed;
    auto endpoint_differs = [](const endpoint_config& a, const endpoint_config& b) {
        return a.host != b.host || a.port != b.port;
    };
    if (endpoint_differs(running.listen, next.listen) || running.listen_enabled != next.listen_enabled)
        changed.push_back("listen");
    if (running.tls_listen.has_value() != next.tls_listen.has_value() ||
        (running.tls_listen && endpoint_differs(*running.tls_listen, *next.tls_listen)))
        changed.push_back("tls_listen");
    if (endpoint_differs(running.admin_listen, next.admin_listen)) changed.push_back("admin_listen");
    if (running.threads != next.threads) changed.push_back("threads");
    if (running.proxy_protocol != next.proxy_protocol) changed.push_back("proxy_protocol");
    const auto& a = running.limits;
    const auto& b = next.limits;
    if (a.max_connections != b.max_connections || a.header_timeout != b.header_timeout ||
        a.idle_timeout != b.idle_timeout || a.write_timeout != b.write_timeout ||
        a.max_requests_per_connection != b.max_requests_per_connection || a.max_header_bytes != b.max_header_bytes ||
        a.max_header_fields != b.max_header_fields)
        changed.push_back("limits");
    if (running.access_log != next.access_log || running.access_log_ipv4_prefix != next.access_log_ipv4_prefix ||
        running.access_log_ipv6_prefix != next.access_log_ipv6_prefix)
        changed.push_back("access_log");
    const auto& o = running.otel;
    const auto& n = next.otel;
    if (o.endpoint != n.endpoint || o.service_name != n.service_name || o.sampler != n.sampler ||
        o.sample_ratio != n.sample_ratio || o.resource_attributes != n.resource_attributes)
        changed.push_back("otel");
    if (running.location_request_id != next.location_request_id) changed.push_back("location_request_id");
    return changed;
}

class server_app {
public:
    server_app(server_config config, serve_overrides overrides)
        : config_(std::move(config)),
          overrides_(std::move(overrides)),
          threads_(config_.threads ? config_.threads : std::max(1u, std::thread::hardware_concurrency())),
          metrics_(threads_),
          registry_(std::make_shared<prometheus::Registry>()),
          prober_(*registry_),
          reloads_(prometheus::BuildCounter()
                       .Name("registry_redirector_config_reloads_total")
                       .Help("Reloads after start-up (SIGHUP or a file change), by result.")
                       .Register(*registry_)),
          reload_success_(reloads_.Add({{"result", "success"}})),
          reload_failure_(reloads_.Add({{"result", "failure"}})),
          last_success_(prometheus::BuildGauge()
                            .Name("registry_redirector_config_last_reload_success_timestamp_seconds")
                            .Help("Unix time at which the serving configuration was loaded.")
                            .Register(*registry_)
                            .Add({})),
          config_info_(prometheus::BuildGauge()
                           .Name("registry_redirector_config_info")
                           .Help("Always 1; generation and sha256 (of every input file) of the serving configuration.")
                           .Register(*registry_)),
          prefix_gauges_(prometheus::BuildGauge()
                             .Name("registry_redirector_prefixes")
                             .Help("Prefixes (table prefixes and explicit cidrs) decided for each provider.")
                             .Register(*registry_)),
          data_time_gauges_(prometheus::BuildGauge()
                                .Name("registry_redirector_prefix_data_timestamp_seconds")
                                .Help("Unix time the serving prefix data was taken, per prefixes: file (the MRT dump "
                                      "time, or a table's \"# data time:\" header); absent when the file does not say.")
                                .Register(*registry_)),
          signals_(control_, SIGINT, SIGTERM, SIGHUP),
          drain_timer_(control_),
          trim_timer_(control_),
          loader_guard_(asio::make_work_guard(loader_context_)) {
        prometheus::BuildGauge()
            .Name("registry_redirector_build_info")
            .Help("Always 1; version and revision (the git commit built) say which build is running.")
            .Register(*registry_)
            .Add({{"version", REDIRECTOR_VERSION}, {"revision", REDIRECTOR_REVISION}})
            .Set(1);
        if (config_.access_log != access_log_format::off) {
            access_log_ = std::make_unique<access_log>(
                config_.access_log, config_.access_log_ipv4_prefix, config_.access_log_ipv6_prefix, threads_,
                [this](std::uint16_t slot) { return metrics_.name_of(slot); }, metrics_.access_log_dropped);
        }
        std::vector<std::string> otel_warnings;
        otel_ = resolve_otel(config_.otel, [](const char* name) { return std::getenv(name); }, otel_warnings);
        for (const auto& w : otel_warnings) spdlog::warn("otel: {}", w);
        if (otel_.enabled) {
            exporter_ = std::make_unique<otlp_exporter>(
                otel_, threads_,
                span_names{[this](std::uint16_t slot) { return metrics_.name_of(slot); },
                           [this](std::uint16_t slot) { return metrics_.mirror_name_of(slot); }},
                config_.access_log_ipv4_prefix, config_.access_log_ipv6_prefix, metrics_.otel, otlp_exporter::options{});
        }
    }

    int run() {
        std::optional<endpoint_config> plain;
        if (config_.listen_enabled) plain = config_.listen;
        std::optional<https_listener> https;
        if (config_.tls_listen) {
            // Validated before the listener opens, so the first handshake
            // has a context and a broken pair stops the start at once.
            publish_tls(tls_context::load(config_.tls, config_.path));
            https.emplace(https_listener{*config_.tls_listen, tls_store_});
        }
        http_server server(plain, https, threads_, config_.limits, store_, metrics_, access_log_.get(),
                           config_.proxy_protocol);
        admin_server admin(config_.admin_listen, {[this] { return store_.generation() > 0 && !draining_.load(); },
                                                  [this] { return metrics_text(); },
                                                  {mirror_routes({&prober_, [this] { return describe_mirrors(); },
                                                                  [this] { return admin_token(); }})},
                                                  [this](std::string_view query) {
                                                      const auto snapshot = store_.load();
                                                      auto a = debug_route(snapshot.get(), query);
                                                      return std::pair{a.status, std::move(a.json)};
                                                  }});
        prober_.start();
        server.set_blob_checker(&prober_.blob_checks());
        server_ = &server;
        if (access_log_) access_log_->start();
        if (exporter_ || config_.location_request_id) {
            server.set_tracing({exporter_.get(),
                                exporter_ ? trace_sampler(otel_.sampler, otel_.sample_ratio)
                                          : trace_sampler(sampler_kind::always_off, 0),
                                config_.location_request_id});
        }
        if (exporter_) {
            exporter_->start();
            spdlog::info("tracing: spans to {} (service.name {}, sampler {} ratio {})", otel_.traces_url_text,
                         otel_.service_name, to_label(otel_.sampler), otel_.sample_ratio);
        }
        server.start();
        admin.start();
        std::string where;
        if (plain) where = config_.listen.host + ":" + std::to_string(server.port()) + " (redirects)";
        if (https)
            where += (where.empty() ? "" : ", ") + https->endpoint.host + ":" + std::to_string(server.tls_port()) +
                     " (redirects over TLS)";
        spdlog::info("registry-redirector {} listening on {}, {} threads, and {}:{} (admin)", REDIRECTOR_VERSION, where,
                     threads_, config_.admin_listen.host, admin.port());
        std::thread loader([this] { loader_context_.run(); });
        watcher_ = std::make_unique<config_watcher>(control_, reload_debounce,
                                                    [this](const std::string& what) { request_reload(what + " changed"); });
        wait_for_signal();
        request_reload("start-up");
        control_.run();

        loader_guard_.reset();
        loader_context_.stop();
        loader.join();
        server.stop();
        admin.stop();
        prober_.stop();
        server_ = nullptr;
        if (access_log_) access_log_->stop();
        if (exporter_) exporter_->stop(otel_flush_bound);
        spdlog::info("stopped");
        return exit_code_;
    }

private:
    /// For GET /mirrors (admin thread): the serving snapshot's mirrors.
    std::vector<mirror_description> describe_mirrors() const {
        std::vector<mirror_description> out;
        const auto snapshot = store_.load();
        if (!snapshot) return out;
        const auto& routes = snapshot->routes;
        for (std::size_t i = 0; i < routes.mirrors().size(); ++i) {
            const auto& m = routes.mirrors()[i];
            mirror_description d{m.name, routes.providers()[m.provider].name, {}, m.weight, 0};
            for (auto region : m.regions) d.regions.emplace_back(routes.region_name(region));
            d.regions.insert(d.regions.end(), m.unknown_regions.begin(), m.unknown_regions.end());
            if (i < snapshot->mirror_slots.size()) d.requests = metrics_.mirror_requests(snapshot->mirror_slots[i]);
            out.push_back(std::move(d));
        }
        return out;
    }

    std::optional<std::string> admin_token() const {
        std::lock_guard lock(admin_token_mutex_);
        return admin_token_;
    }

    std::string metrics_text() {
        auto families = registry_->Collect();
        for (const prometheus::Collectable* c : {static_cast<const prometheus::Collectable*>(&metrics_),
                                                 static_cast<const prometheus::Collectable*>(&process_metrics_),
                                                 &prober_.blob_check_metrics()}) {
            auto more = c->Collect();
            families.insert(families.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
        }
        return prometheus::TextSerializer().Serialize(families);
    }

    /// On the control thread. Loads run one at a time on the loader thread;
    /// requests arriving meanwhile fold into one more load afterwards.
    void request_reload(const std::string& reason) {
        if (draining_) return;
        if (loading_) {
            reload_again_ = true;
            return;
        }
        loading_ = true;
        reload_reason_ = reason;
        asio::post(loader_context_, [this, path = config_.path, sha = current_sha_, generation = generation_ + 1] {
            auto result =
                std::make_shared<load_result>(load_everything(path, overrides_, sha, generation, metrics_, prober_));
            asio::post(control_, [this, result] { on_loaded(std::move(*result)); });
        });
    }

    void on_loaded(load_result r) {
        loading_ = false;
        const bool initial = generation_ == 0;
        if (!r.error.empty()) {
            if (initial) {
                spdlog::critical("cannot load the configuration: {}", r.error);
                exit_code_ = 1;
                control_.stop();
                return;
            }
            reload_failure_.Increment();
            spdlog::error("reload ({}) rejected, still serving generation {}: {}", reload_reason_, generation_, r.error);
        } else if (r.unchanged) {
            spdlog::info("reload ({}): inputs unchanged (sha256 {}), nothing to do", reload_reason_, r.sha.substr(0, 12));
        } else {
            publish(std::move(r), initial);
        }
        update_watches();
        if (reload_again_ && !draining_) {
            reload_again_ = false;
            request_reload("changes during the last load");
        }
    }

    void publish(load_result r, bool initial) {
        for (const auto& key : restart_only_changes(config_, r.config))
            spdlog::warn("config key \"{}\" changed; it takes effect only after a restart (still using the old value)", key);
        const auto level = spdlog::level::from_str(r.config.log_level);
        spdlog::set_level(level);
        // Reloadable keys take the new values; restart-only keys keep theirs.
        config_.providers_dir = r.config.providers_dir;
        config_.prefix_files = r.config.prefix_files;
        config_.cloud_ranges = r.config.cloud_ranges;
        config_.routes = r.config.routes;
        config_.explain_header = r.config.explain_header;
        config_.mrt = r.config.mrt;
        config_.admin_token_file = r.config.admin_token_file;
        {
            std::lock_guard lock(admin_token_mutex_);
            admin_token_ = r.admin_token;
        }
        config_.default_provider = r.config.default_provider;
        config_.trusted_proxies = r.config.trusted_proxies;
        config_.client_ip_headers = r.config.client_ip_headers;
        config_.trusted_hops = r.config.trusted_hops;
        config_.log_level = r.config.log_level;
        config_.shutdown_delay = r.config.shutdown_delay;
        config_.shutdown_timeout = r.config.shutdown_timeout;
        // TLS files reload for the listener this process runs; adding or
        // removing tls_listen needs a restart (reported above).
        if (config_.tls_listen && r.tls) {
            config_.tls = r.config.tls;
            publish_tls(std::move(r.tls));
        }

        const auto& providers = r.snapshot->routes.providers();
        for (auto* child : prefix_children_) prefix_gauges_.Remove(child);
        prefix_children_.clear();
        for (const auto& p : providers) {
            auto& v4 = prefix_gauges_.Add({{"provider", p.name}, {"family", "ipv4"}});
            auto& v6 = prefix_gauges_.Add({{"provider", p.name}, {"family", "ipv6"}});
            v4.Set(static_cast<double>(p.prefixes_v4));
            v6.Set(static_cast<double>(p.prefixes_v6));
            prefix_children_.push_back(&v4);
            prefix_children_.push_back(&v6);
        }
        // Freshness: one child per prefixes: file (a bounded, configured set),
        // labelled with the file name only.
        for (auto* child : data_time_children_) data_time_gauges_.Remove(child);
        data_time_children_.clear();
        for (const auto& f : r.prefix_stats) {
            if (f.data_time == 0) continue;
            auto& g = data_time_gauges_.Add({{"source", fs::path(f.path).filename().string()}});
            g.Set(static_cast<double>(f.data_time));
            data_time_children_.push_back(&g);
        }
        const std::vector<std::string> warnings = r.snapshot->routes.warnings();
        const std::uint64_t published = r.snapshot->generation;
        // Watch the (possibly new) folders before the table goes live, so a
        // change written the moment /readyz turns 200 is not missed.
        update_watches();
        // The table goes live before config_info names it: whoever sees the
        // new generation on /metrics must get the new answers.
        store_.publish(std::move(r.snapshot));
        generation_ = published;
        current_sha_ = r.sha;
        if (info_child_) config_info_.Remove(info_child_);
        info_child_ = &config_info_.Add({{"generation", std::to_string(generation_)}, {"sha256", current_sha_}});
        info_child_->Set(1);
        last_success_.SetToCurrentTime();
        if (!initial) reload_success_.Increment();
        malloc_trim(0);  // return the parse buffers: steady-state RSS is the table
        // The I/O threads drop the old table at their next deadline sweep
        // (250 ms) even when idle; then its memory can go back too.
        trim_timer_.expires_after(std::chrono::seconds(1));
        trim_timer_.async_wait([](const boost::system::error_code& ec) {
            if (!ec) malloc_trim(0);
        });
        spdlog::info("{} generation {} (sha256 {}): {}", initial ? "routing table ready," : "reloaded (" + reload_reason_ + "),",
                     generation_, current_sha_.substr(0, 12), r.summary);
        log_warnings(warnings);
    }

    /// The first few warnings themselves, not just their count: an operator
    /// reads the start-up log, not always `check`.
    void log_warnings(const std::vector<std::string>& warnings) const {
        constexpr std::size_t listed = 20;
        for (std::size_t i = 0; i < warnings.size() && i < listed; ++i) spdlog::warn("config: {}", warnings[i]);
        if (warnings.size() > listed)
            spdlog::warn("config: and {} more: run `registry-redirector check --config {}`", warnings.size() - listed,
                         config_.path);
    }

    /// New handshakes use `context` from now on; established connections
    /// keep the SSL_CTX they started with.
    void publish_tls(std::shared_ptr<const tls_context> context) {
        const certificate_info& leaf = context->leaf();
        if (const auto* current = tls_store_.load().get(); current && current->leaf().serial == leaf.serial &&
                                                            current->leaf().not_after == leaf.not_after) {
            tls_store_.publish(std::move(context));  // same certificate (key or settings may differ)
            return;
        }
        metrics_.tls_certificate_expiry.store(leaf.not_after, std::memory_order_relaxed);
        const double days = static_cast<double>(leaf.not_after - std::time(nullptr)) / 86400.0;
        spdlog::info("TLS certificate {} (serial {}, {} SANs) from {}: valid for {:.1f} more days", leaf.subject,
                     leaf.serial, leaf.names.size(), context->config().certificate, days);
        if (days < 14) spdlog::warn("TLS certificate {} expires in {:.1f} days", context->config().certificate, days);
        tls_store_.publish(std::move(context));
    }

    void update_watches() {
        std::vector<std::string> folders{fs::path(config_.path).parent_path().string(), config_.providers_dir};
        for (const auto& f : config_.prefix_files) folders.push_back(fs::path(f).parent_path().string());
        for (const auto& f : tls_files(config_)) folders.push_back(fs::path(f).parent_path().string());
        for (const auto& c : config_.cloud_ranges) folders.push_back(fs::path(c.file).parent_path().string());
        if (!config_.admin_token_file.empty())
            folders.push_back(fs::path(config_.admin_token_file).parent_path().string());
        for (auto& f : folders)
            if (f.empty()) f = ".";
        // A folder reached through a symlink (git-sync's <root>/<link> ->
        // .worktrees/<commit>) is watched where the link points now; the swap
        // itself renames a new link over the old one in the link's folder, so
        // that folder is watched too, and after each swap the watches move to
        // the new target (the key below holds the resolved paths).
        std::vector<std::string> key;
        for (std::size_t i = 0, n = folders.size(); i < n; ++i) {
            std::error_code ec;
            fs::path partial;
            for (const auto& part : fs::path(folders[i])) {
                partial /= part;
                if (fs::is_symlink(partial, ec)) folders.push_back(partial.parent_path().empty() ? "." : partial.parent_path().string());
            }
            key.push_back(fs::weakly_canonical(folders[i], ec).string());
        }
        std::sort(folders.begin(), folders.end());
        folders.erase(std::unique(folders.begin(), folders.end()), folders.end());
        key.insert(key.end(), folders.begin(), folders.end());
        if (key == watched_) return;
        watched_ = key;
        for (const auto& missing : watcher_->watch(folders))
            spdlog::warn("cannot watch {} for changes; SIGHUP still reloads", missing);
    }

    void wait_for_signal() {
        signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
            if (ec) return;
            if (signal == SIGHUP) {
                request_reload("SIGHUP");
            } else if (!draining_) {
                begin_shutdown(signal);
            } else {
                spdlog::warn("signal {} during shutdown: exiting now", signal);
                exit_code_ = 1;
                control_.stop();
                return;
            }
            wait_for_signal();
        });
    }

    /// Not ready at once; keep serving for shutdown_delay so the load
    /// balancer stops sending; then stop accepting and drain.
    void begin_shutdown(int signal) {
        draining_ = true;
        spdlog::info("signal {}: /readyz now 503; serving {} ms more, then draining for at most {} ms", signal,
                     config_.shutdown_delay.count(), config_.shutdown_timeout.count());
        drain_timer_.expires_after(config_.shutdown_delay);
        drain_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (ec) return;
            server_->stop_accepting();
            drain_deadline_ = steady::now() + config_.shutdown_timeout;
            poll_drain();
        });
    }

    void poll_drain() {
        const std::size_t open = server_->open_connections();
        if (open == 0) {
            spdlog::info("drained: all connections closed");
            control_.stop();
            return;
        }
        if (steady::now() >= drain_deadline_) {
            spdlog::warn("shutdown_timeout reached with {} connections open; closing them", open);
            control_.stop();
            return;
        }
        drain_timer_.expires_after(drain_poll);
        drain_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) poll_drain();
        });
    }

    server_config config_;
    const serve_overrides overrides_;
    const unsigned threads_;
    request_metrics metrics_;
    process_metrics process_metrics_;
    std::shared_ptr<prometheus::Registry> registry_;
    mirror_prober prober_;  // after the registry it registers into
    mutable std::mutex admin_token_mutex_;
    std::optional<std::string> admin_token_;  // guarded by admin_token_mutex_
    prometheus::Family<prometheus::Counter>& reloads_;
    prometheus::Counter& reload_success_;
    prometheus::Counter& reload_failure_;
    prometheus::Gauge& last_success_;
    prometheus::Family<prometheus::Gauge>& config_info_;
    prometheus::Gauge* info_child_ = nullptr;
    prometheus::Family<prometheus::Gauge>& prefix_gauges_;
    std::vector<prometheus::Gauge*> prefix_children_;
    prometheus::Family<prometheus::Gauge>& data_time_gauges_;
    std::vector<prometheus::Gauge*> data_time_children_;
    std::unique_ptr<access_log> access_log_;
    otel_settings otel_;
    std::unique_ptr<otlp_exporter> exporter_;
    serving_store store_;
    tls_context_store tls_store_;

    asio::io_context control_;
    asio::signal_set signals_;
    asio::steady_timer drain_timer_;
    asio::steady_timer trim_timer_;
    asio::io_context loader_context_;
    asio::executor_work_guard<asio::io_context::executor_type> loader_guard_;
    std::unique_ptr<config_watcher> watcher_;
    std::vector<std::string> watched_;
    http_server* server_ = nullptr;

    std::atomic<bool> draining_{false};
    bool loading_ = false;
    bool reload_again_ = false;
    std::string reload_reason_;
    std::string current_sha_;
    std::uint64_t generation_ = 0;
    steady::time_point drain_deadline_{};
    int exit_code_ = 0;
};

}  // namespace

std::string with_commas(std::size_t n) {
    std::string digits = std::to_string(n);
    for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<std::size_t>(i), 1, ',');
    return digits;
}

void serve_overrides::apply(server_config& config) const {
    if (listen) {
        config.listen = *listen;
        config.listen_enabled = true;
    }
    if (listen_off) config.listen_enabled = false;
    if (tls_listen) {
        if (!config.tls_listen) throw std::invalid_argument("--tls-listen needs a \"tls\" section in " + config.path);
        config.tls_listen = *tls_listen;
    }
    if (!config.listen_enabled && !config.tls_listen)
        throw std::invalid_argument("--listen off needs tls_listen: there would be no redirect listener");
    if (admin_listen) config.admin_listen = *admin_listen;
    if (threads) config.threads = *threads;
    if (log_level) config.log_level = *log_level;
}

/// Containers often start with a soft limit of 1024 descriptors, far below
/// max_connections: take the hard limit, which needs no privilege.
void raise_open_file_limit(std::size_t wanted) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted + 64)
        spdlog::warn("open-file limit {} is below max_connections {} (+64 for the rest): raise it (ulimit -n)",
                     limit.rlim_cur, wanted);
}

int run_server(const std::string& config_path, const serve_overrides& overrides) {
    // One malloc arena: the hot path never allocates, so threads do not
    // contend for it, while every table load (on loader and inflate threads)
    // frees back into the arena that malloc_trim returns to the kernel. With
    // glibc's per-thread arenas, a full-table load kept ~30 MiB resident.
    mallopt(M_ARENA_MAX, 1);
    server_config config = load_server_config(config_path);
    overrides.apply(config);
    const auto level = spdlog::level::from_str(config.log_level);
    if (level == spdlog::level::off && config.log_level != "off")
        throw std::invalid_argument("unknown log level " + config.log_level);
    spdlog::set_level(level);
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
    raise_open_file_limit(config.limits.max_connections);
    server_app app(std::move(config), overrides);
    return app.run();
}

}  // namespace registry_redirector
