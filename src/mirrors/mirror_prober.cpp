#include "registry_redirector/mirrors/mirror_prober.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <optional>
#include <mutex>
#include <thread>

#include "registry_redirector/mirrors/http_probe.hpp"

namespace registry_redirector {

namespace asio = boost::asio;

namespace {

/// Probe latencies span a LAN mirror (ms) to a slow CDN edge (s).
const prometheus::Histogram::BucketBoundaries probe_buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                            0.5,   1.0,  2.5,   5.0,  10.0};

}  // namespace

struct mirror_prober::impl {
    /// One mirror's probing and metric children. Owned by the mirror list;
    /// completions hold a weak_ptr and the impl by address (they run only on
    /// the probe thread, which stop() joins before the impl goes away).
    struct mirror {
        std::size_t index = 0;
        mirror_probe_target target;
        std::optional<health_tracker> tracker;  // set when probed
        std::shared_ptr<asio::ssl::context> tls;
        std::unique_ptr<asio::steady_timer> timer;
        bool drained = false;
        bool retired = false;
        prometheus::Gauge* up_gauge = nullptr;
        prometheus::Gauge* drained_gauge = nullptr;
        prometheus::Histogram* duration = nullptr;
        std::array<prometheus::Counter*, probe_outcome_count> results{};
        prometheus::Counter* went_down = nullptr;
        prometheus::Counter* went_up = nullptr;
    };

    explicit impl(prometheus::Registry& registry)
        : work(asio::make_work_guard(context)),
          up_family(prometheus::BuildGauge()
                        .Name("registry_redirector_mirror_up")
                        .Help("1 while the mirror passes its probes (or has none), 0 while it is down")
                        .Register(registry)),
          drained_family(prometheus::BuildGauge()
                             .Name("registry_redirector_mirror_drained")
                             .Help("1 while an operator has drained the mirror (POST /mirrors/NAME/drain)")
                             .Register(registry)),
          duration_family(prometheus::BuildHistogram()
                              .Name("registry_redirector_mirror_probe_duration_seconds")
                              .Help("Duration of each health probe, start to verdict")
                              .Register(registry)),
          probes_family(prometheus::BuildCounter()
                            .Name("registry_redirector_mirror_probes_total")
                            .Help("Health probes by result (pass, bad_status, token_required, timeout, refused, "
                                  "tls, dns, too_large, error)")
                            .Register(registry)),
          changes_family(prometheus::BuildCounter()
                             .Name("registry_redirector_mirror_state_changes_total")
                             .Help("Health state changes of each mirror, by the state entered")
                             .Register(registry)) {}

    void add_children(mirror& m) {
        const prometheus::Labels labels{{"mirror", m.target.name}};
        m.up_gauge = &up_family.Add(labels);
        m.drained_gauge = &drained_family.Add(labels);
        m.up_gauge->Set(1);
        if (m.target.probe) {
            m.duration = &duration_family.Add(labels, probe_buckets);
            for (std::size_t r = 0; r < probe_outcome_count; ++r)
                m.results[r] = &probes_family.Add({{"mirror", m.target.name},
                                                   {"result", to_label(static_cast<probe_outcome>(r))}});
            m.went_down = &changes_family.Add({{"mirror", m.target.name}, {"state", "down"}});
            m.went_up = &changes_family.Add({{"mirror", m.target.name}, {"state", "up"}});
        }
    }

    void remove_children(mirror& m) {
        up_family.Remove(m.up_gauge);
        drained_family.Remove(m.drained_gauge);
        if (m.duration) duration_family.Remove(m.duration);
        for (auto* c : m.results)
            if (c) probes_family.Remove(c);
        if (m.went_down) changes_family.Remove(m.went_down);
        if (m.went_up) changes_family.Remove(m.went_up);
    }

    /// Arms the next probe of `m` after `delay` (prober thread only).
    void schedule(const std::shared_ptr<mirror>& m, std::chrono::milliseconds delay) {
        m->timer->expires_after(delay);
        m->timer->async_wait([this, weak = std::weak_ptr<mirror>(m)](boost::system::error_code ec) {
            auto locked = weak.lock();
            if (ec || !locked || locked->retired) return;
            probe(locked);
        });
    }

    void probe(const std::shared_ptr<mirror>& m) {
        std::shared_ptr<asio::ssl::context> tls;
        probe_config config;
        {
            std::lock_guard lock(mutex);
            if (m->retired) return;
            config = *m->target.probe;
            tls = m->tls;
        }
        start_probe(context, config, tls, [this, weak = std::weak_ptr<mirror>(m)](probe_result result) {
            if (auto locked = weak.lock()) on_result(locked, std::move(result));
        });
    }

    void on_result(const std::shared_ptr<mirror>& m, probe_result result) {
        std::chrono::milliseconds next{};
        {
            std::lock_guard lock(mutex);
            if (m->retired) return;
            m->duration->Observe(std::chrono::duration<double>(result.latency).count());
            m->results[static_cast<std::size_t>(result.outcome)]->Increment();
            if (m->tracker->record(result, std::chrono::system_clock::now())) {
                const bool up = m->tracker->up();
                board->set_up(m->index, up);
                m->up_gauge->Set(up ? 1 : 0);
                (up ? m->went_up : m->went_down)->Increment();
                if (up)
                    spdlog::info("mirror {} is up: {}", m->target.name, m->tracker->reason());
                else
                    spdlog::warn("mirror {} is down: {} ({} consecutive failed probes of {})", m->target.name,
                                 m->tracker->reason(), m->target.probe->fall, m->target.probe->url);
            }
            next = m->target.probe->interval;
        }
        schedule(m, next);
    }

    /// The blob existence checks' counters, per mirror, read at scrape time
    /// from the caches themselves (the I/O threads count there).
    struct blob_metrics final : prometheus::Collectable {
        explicit blob_metrics(const impl& o) : owner(o) {}
        std::vector<prometheus::MetricFamily> Collect() const override;
        const impl& owner;
    };

    asio::io_context context;
    asio::executor_work_guard<asio::io_context::executor_type> work;
    std::thread thread;
    blob_checker checker{context};
    blob_metrics checker_metrics{*this};

    mutable std::mutex mutex;  // guards mirrors, board, blob_checks and every mirror's state
    std::vector<std::shared_ptr<mirror>> mirrors;
    std::shared_ptr<health_board> board;
    /// The mirrors with check_blobs, by name: a reload keeps a cache while
    /// name and settings are unchanged.
    std::map<std::string, std::shared_ptr<const blob_check>, std::less<>> blob_checks;
    std::map<std::string, std::shared_ptr<asio::ssl::context>, std::less<>> tls_by_ca_file;

    prometheus::Family<prometheus::Gauge>& up_family;
    prometheus::Family<prometheus::Gauge>& drained_family;
    prometheus::Family<prometheus::Histogram>& duration_family;
    prometheus::Family<prometheus::Counter>& probes_family;
    prometheus::Family<prometheus::Counter>& changes_family;
};

std::vector<prometheus::MetricFamily> mirror_prober::impl::blob_metrics::Collect() const {
    auto family = [](const char* name, const char* help, prometheus::MetricType type) {
        prometheus::MetricFamily f;
        f.name = name;
        f.help = help;
        f.type = type;
        return f;
    };
    auto lookups = family("registry_redirector_blob_cache_lookups_total",
                          "Blob existence cache lookups by the I/O threads, by result (hit: a live entry)",
                          prometheus::MetricType::Counter);
    auto evictions = family("registry_redirector_blob_cache_evictions_total",
                            "Blob existence cache entries evicted to stay within max_entries",
                            prometheus::MetricType::Counter);
    auto entries = family("registry_redirector_blob_cache_entries", "Blob existence cache entries held",
                          prometheus::MetricType::Gauge);
    auto checks = family("registry_redirector_blob_checks_total",
                         "HEAD requests sent to check a blob, by result (exists: 200, missing: another status, "
                         "error: timeout or connection/TLS failure)",
                         prometheus::MetricType::Counter);
    auto counter = [](prometheus::MetricFamily& f, prometheus::ClientMetric::Label mirror,
                      std::optional<prometheus::ClientMetric::Label> extra, double value) {
        prometheus::ClientMetric m;
        m.label.push_back(std::move(mirror));
        if (extra) m.label.push_back(std::move(*extra));
        if (f.type == prometheus::MetricType::Gauge)
            m.gauge.value = value;
        else
            m.counter.value = value;
        f.metric.push_back(std::move(m));
    };
    std::lock_guard lock(owner.mutex);
    for (const auto& [name, check] : owner.blob_checks) {
        const blob_existence_cache& c = *check->cache;
        const prometheus::ClientMetric::Label mirror{"mirror", name};
        counter(lookups, mirror, prometheus::ClientMetric::Label{"result", "hit"}, static_cast<double>(c.hits()));
        counter(lookups, mirror, prometheus::ClientMetric::Label{"result", "miss"}, static_cast<double>(c.misses()));
        counter(evictions, mirror, std::nullopt, static_cast<double>(c.evictions()));
        counter(entries, mirror, std::nullopt, static_cast<double>(c.size()));
        counter(checks, mirror, prometheus::ClientMetric::Label{"result", "exists"},
                static_cast<double>(c.checks(blob_verdict::exists)));
        counter(checks, mirror, prometheus::ClientMetric::Label{"result", "missing"},
                static_cast<double>(c.checks(blob_verdict::missing)));
        counter(checks, mirror, prometheus::ClientMetric::Label{"result", "error"},
                static_cast<double>(c.checks(blob_verdict::unknown)));
    }
    return {std::move(lookups), std::move(evictions), std::move(entries), std::move(checks)};
}

mirror_prober::mirror_prober(prometheus::Registry& registry) : impl_(std::make_unique<impl>(registry)) {}

blob_checker& mirror_prober::blob_checks() noexcept { return impl_->checker; }

const prometheus::Collectable& mirror_prober::blob_check_metrics() const noexcept { return impl_->checker_metrics; }

mirror_prober::~mirror_prober() { stop(); }

void mirror_prober::start() {
    if (impl_->thread.joinable()) return;
    impl_->thread = std::thread([i = impl_.get()] { i->context.run(); });
}

void mirror_prober::stop() {
    {
        std::lock_guard lock(impl_->mutex);
        for (auto& m : impl_->mirrors) m->retired = true;
    }
    impl_->work.reset();
    impl_->context.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
    // Run what is already queued (timer cancellations of retired mirrors),
    // so no timer outlives its mirror inside the queue.
    impl_->context.restart();
    impl_->context.poll();
    impl_->context.stop();
}

mirror_state mirror_prober::assign(const std::vector<mirror_probe_target>& targets) {
    // TLS contexts first, outside the lock: a bad ca_file rejects the reload
    // before anything changes. One context per CA file, shared by its
    // mirrors' probes and blob checks.
    std::map<std::string, std::shared_ptr<asio::ssl::context>, std::less<>> contexts;
    auto context_for = [&](const std::string& ca_file) {
        auto found = contexts.find(ca_file);
        if (found == contexts.end()) found = contexts.emplace(ca_file, make_probe_tls_context(ca_file)).first;
        return found->second;
    };
    for (const auto& t : targets) {
        if (t.probe && t.probe->url.starts_with("https://")) context_for(t.probe->ca_file);
        if (t.check_blobs) context_for(t.probe ? t.probe->ca_file : std::string());
    }
    std::vector<std::shared_ptr<const blob_check>> blob_checks;
    std::map<std::string, std::shared_ptr<const blob_check>, std::less<>> blob_checks_by_name;
    {
        std::lock_guard lock(impl_->mutex);
        for (std::size_t i = 0; i < targets.size(); ++i) {
            const auto& t = targets[i];
            if (!t.check_blobs) continue;
            if (blob_checks.empty()) blob_checks.resize(targets.size());
            // What a mirror's blobs were found to be stays true while the
            // settings that decided it are unchanged.
            std::shared_ptr<blob_existence_cache> cache;
            if (auto old = impl_->blob_checks.find(t.name);
                old != impl_->blob_checks.end() && old->second->config == *t.check_blobs)
                cache = old->second->cache;
            else
                cache = std::make_shared<blob_existence_cache>(t.check_blobs->max_entries);
            blob_checks[i] = std::make_shared<const blob_check>(
                blob_check{*t.check_blobs, std::move(cache), contexts.at(t.probe ? t.probe->ca_file : std::string())});
            blob_checks_by_name.emplace(t.name, blob_checks[i]);
        }
    }
    std::lock_guard lock(impl_->mutex);
    auto board = std::make_shared<health_board>(targets.size());
    std::vector<std::shared_ptr<impl::mirror>> next;
    std::vector<std::shared_ptr<impl::mirror>> to_start;
    std::map<std::string_view, std::shared_ptr<impl::mirror>> old;
    for (auto& m : impl_->mirrors) old.emplace(m->target.name, m);
    // Kept: same name and same probe (state, timer and metric children stay).
    std::vector<std::shared_ptr<impl::mirror>> kept(targets.size());
    for (std::size_t i = 0; i < targets.size(); ++i)
        if (auto found = old.find(targets[i].name); found != old.end() && found->second->target.probe == targets[i].probe) {
            kept[i] = found->second;
            old.erase(found);
        }
    // The rest of the old list goes first: a replaced mirror's metric
    // children carry the same labels as its successor's.
    std::map<std::string, bool, std::less<>> drained_by_name;
    for (auto& [name, gone] : old) {
        drained_by_name.emplace(gone->target.name, gone->drained);
        gone->retired = true;
        if (gone->timer) asio::post(impl_->context, [gone = gone] { gone->timer->cancel(); });
        impl_->remove_children(*gone);
    }
    for (std::size_t i = 0; i < targets.size(); ++i) {
        const auto& t = targets[i];
        std::shared_ptr<impl::mirror> m = kept[i];
        if (!m) {
            m = std::make_shared<impl::mirror>();
            m->target = t;
            if (auto d = drained_by_name.find(t.name); d != drained_by_name.end()) m->drained = d->second;  // by name
            impl_->add_children(*m);
            if (t.probe) {
                m->tracker.emplace(t.probe->fall, t.probe->rise, t.probe->initial_up, std::chrono::system_clock::now());
                m->timer = std::make_unique<asio::steady_timer>(impl_->context);
                to_start.push_back(m);
            }
        }
        m->index = i;
        if (t.probe && t.probe->url.starts_with("https://")) m->tls = contexts.at(t.probe->ca_file);
        const bool up = !m->tracker || m->tracker->up();
        board->set_up(i, up);
        board->set_drained(i, m->drained);
        m->up_gauge->Set(up ? 1 : 0);
        m->drained_gauge->Set(m->drained ? 1 : 0);
        next.push_back(std::move(m));
    }
    impl_->mirrors = std::move(next);
    impl_->board = board;
    impl_->blob_checks = std::move(blob_checks_by_name);
    // The first probe goes out at once: a mirror that is down at start-up
    // should not keep clients for a whole interval.
    for (auto& m : to_start)
        asio::post(impl_->context, [i = impl_.get(), m] { i->schedule(m, std::chrono::milliseconds(0)); });
    return {std::move(board), std::move(blob_checks)};
}

bool mirror_prober::set_drained(std::string_view name, bool drained) {
    std::lock_guard lock(impl_->mutex);
    for (auto& m : impl_->mirrors) {
        if (m->target.name != name) continue;
        m->drained = drained;
        impl_->board->set_drained(m->index, drained);
        m->drained_gauge->Set(drained ? 1 : 0);
        return true;
    }
    return false;
}

std::vector<mirror_health_status> mirror_prober::statuses() const {
    std::lock_guard lock(impl_->mutex);
    std::vector<mirror_health_status> out;
    out.reserve(impl_->mirrors.size());
    for (const auto& m : impl_->mirrors) {
        mirror_health_status s;
        s.name = m->target.name;
        s.drained = m->drained;
        if (m->tracker) {
            const auto& t = *m->tracker;
            s.probed = true;
            s.up = t.up();
            s.reason = t.reason();
            s.since = t.since();
            s.last_status = t.last().status;
            s.last_latency_seconds = std::chrono::duration<double>(t.last().latency).count();
            if (t.probes() > 0) s.last_result = to_label(t.last().outcome);
            s.consecutive_passes = t.consecutive_passes();
            s.consecutive_failures = t.consecutive_failures();
            s.probes = t.probes();
        } else {
            s.reason = "not probed";
        }
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace registry_redirector
