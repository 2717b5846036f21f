#include "registry_redirector/telemetry/request_metrics.hpp"

#include <limits>
#include <stdexcept>
#include <utility>

namespace registry_redirector {

void thread_request_counters::observe_duration(std::chrono::nanoseconds d, std::uint64_t requests) noexcept {
    const double seconds = std::chrono::duration<double>(d).count();
    std::size_t i = 0;
    while (i < duration_buckets_seconds.size() && seconds > duration_buckets_seconds[i]) ++i;
    bump(buckets_[i], requests);
    bump(duration_sum_ns_, static_cast<std::uint64_t>(d.count()) * requests);
}

const char* to_label(tls_handshake_result r) noexcept {
    switch (r) {
        case tls_handshake_result::ok: return "ok";
        case tls_handshake_result::resumed: return "resumed";
        case tls_handshake_result::protocol_error: return "protocol_error";
        case tls_handshake_result::no_shared_cipher: return "no_shared_cipher";
        case tls_handshake_result::alpn: return "alpn";
        case tls_handshake_result::timeout: return "timeout";
        case tls_handshake_result::other: return "other";
    }
    return "other";
}

const char* to_label(tls_version_label v) noexcept {
    switch (v) {
        case tls_version_label::none: return "none";
        case tls_version_label::tls1_2: return "TLSv1.2";
        case tls_version_label::tls1_3: return "TLSv1.3";
    }
    return "none";
}

request_metrics::request_metrics(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i) threads_.push_back(std::make_unique<thread_request_counters>());
}

std::uint16_t request_metrics::slot_for(const std::string& provider) {
    std::lock_guard lock(names_mutex_);
    for (std::size_t i = 0; i < names_.size(); ++i)
        if (names_[i] == provider) return static_cast<std::uint16_t>(i);
    if (names_.size() >= thread_request_counters::max_providers)
        throw std::length_error("more than 256 distinct provider names since start-up");
    names_.push_back(provider);
    return static_cast<std::uint16_t>(names_.size() - 1);
}

std::uint16_t request_metrics::mirror_slot_for(const std::string& mirror) {
    std::lock_guard lock(names_mutex_);
    for (std::size_t i = 0; i < mirror_names_.size(); ++i)
        if (mirror_names_[i] == mirror) return static_cast<std::uint16_t>(i);
    if (mirror_names_.size() >= thread_request_counters::max_mirrors)
        throw std::length_error("more than 1024 distinct mirror names since start-up");
    mirror_names_.push_back(mirror);
    return static_cast<std::uint16_t>(mirror_names_.size() - 1);
}

std::string request_metrics::name_of(std::uint16_t slot) const {
    std::lock_guard lock(names_mutex_);
    return slot < names_.size() ? names_[slot] : std::string("none");
}

namespace {

prometheus::ClientMetric with_labels(std::vector<prometheus::ClientMetric::Label> labels) {
    prometheus::ClientMetric m;
    m.label = std::move(labels);
    return m;
}

prometheus::MetricFamily family(const char* name, const char* help, prometheus::MetricType type) {
    prometheus::MetricFamily f;
    f.name = name;
    f.help = help;
    f.type = type;
    return f;
}

}  // namespace

std::vector<prometheus::MetricFamily> request_metrics::Collect() const {
    std::vector<std::string> names, mirror_names;
    {
        std::lock_guard lock(names_mutex_);
        names = names_;
        mirror_names = mirror_names_;
    }
    auto sum = [&](auto&& pick) {
        std::uint64_t total = 0;
        for (const auto& t : threads_) total += pick(*t).load(std::memory_order_relaxed);
        return static_cast<double>(total);
    };

    auto requests = family("registry_redirector_requests_total",
                           "Requests answered, by the provider whose host was chosen, route and status code.",
                           prometheus::MetricType::Counter);
    for (std::size_t slot = 0; slot < names.size(); ++slot) {
        for (int r = 0; r < 2; ++r) {
            for (std::size_t c = 0; c < redirect_status_count; ++c) {
                const double value =
                    sum([&](const thread_request_counters& t) -> const auto& { return t.redirects_[slot][r][c]; });
                const status_code code = redirect_status_at(c);
                // 302 always (as before routes existed); other codes once used.
                if (code != status_code::found_302 && value == 0) continue;
                auto m = with_labels({{"code", std::to_string(to_number(code))},
                                      {"provider", names[slot]},
                                      {"route", r == 0 ? "registry" : "artifacts"}});
                m.counter.value = value;
                requests.metric.push_back(std::move(m));
            }
        }
    }
    for (std::size_t s = 0; s < status_code_count; ++s) {
        const auto status = static_cast<status_code>(s);
        if (is_redirect(status)) continue;
        const char* route_label = status == status_code::ok_200         ? "ping"
                                  : status == status_code::not_found_404 ? "not_found"
                                                                         : "rejected";
        auto m = with_labels({{"code", std::to_string(to_number(status))}, {"provider", "none"}, {"route", route_label}});
        m.counter.value = sum([&](const thread_request_counters& t) -> const auto& { return t.rejected_[s]; });
        requests.metric.push_back(std::move(m));
    }

    static constexpr const char* class_labels[] = {"ping", "blob", "manifest", "other_v2", "root", "artifact"};
    static constexpr const char* action_labels[] = {"mirror", "upstream", "ok", "not_found", "fixed"};
    auto classes = family("registry_redirector_path_class_total",
                          "Requests in OCI mode (routes), by path class and the action taken.",
                          prometheus::MetricType::Counter);
    for (std::size_t c = 0; c < thread_request_counters::path_classes; ++c)
        for (std::size_t a = 0; a < thread_request_counters::class_actions; ++a) {
            auto m = with_labels({{"action", action_labels[a]}, {"class", class_labels[c]}});
            m.counter.value = sum([&](const thread_request_counters& t) -> const auto& { return t.classes_[c][a]; });
            classes.metric.push_back(std::move(m));
        }
    auto per_mirror = family("registry_redirector_mirror_redirects_total", "Redirects to each mirror.",
                             prometheus::MetricType::Counter);
    for (std::size_t slot = 0; slot < mirror_names.size(); ++slot) {
        auto m = with_labels({{"mirror", mirror_names[slot]}});
        m.counter.value = sum([&](const thread_request_counters& t) -> const auto& { return t.mirrors_[slot]; });
        per_mirror.metric.push_back(std::move(m));
    }

    auto sources = family("registry_redirector_client_ip_total",
                          "Requests by where the client address came from.", prometheus::MetricType::Counter);
    for (std::size_t s = 0; s < client_ip_source_count; ++s) {
        auto m = with_labels({{"source", to_label(static_cast<client_ip_source>(s))}});
        m.counter.value = sum([&](const thread_request_counters& t) -> const auto& { return t.sources_[s]; });
        sources.metric.push_back(std::move(m));
    }

    auto duration = family("registry_redirector_request_duration_seconds",
                           "Server time per request: from the read that completed it to the send() of its response.",
                           prometheus::MetricType::Histogram);
    prometheus::ClientMetric h;
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= duration_buckets_seconds.size(); ++b) {
        cumulative += static_cast<std::uint64_t>(
            sum([&](const thread_request_counters& t) -> const auto& { return t.buckets_[b]; }));
        prometheus::ClientMetric::Bucket bucket;
        bucket.cumulative_count = cumulative;
        bucket.upper_bound = b < duration_buckets_seconds.size() ? duration_buckets_seconds[b]
                                                                 : std::numeric_limits<double>::infinity();
        h.histogram.bucket.push_back(bucket);
    }
    h.histogram.sample_count = cumulative;
    h.histogram.sample_sum =
        sum([](const thread_request_counters& t) -> const auto& { return t.duration_sum_ns_; }) / 1e9;
    duration.metric.push_back(std::move(h));

    std::vector<prometheus::MetricFamily> out{std::move(requests), std::move(sources), std::move(duration),
                                              std::move(classes), std::move(per_mirror)};
    auto single = [&](const char* name, const char* help, prometheus::MetricType type, double value) {
        auto f = family(name, help, type);
        f.metric.push_back({});
        (type == prometheus::MetricType::Gauge ? f.metric.back().gauge.value : f.metric.back().counter.value) = value;
        out.push_back(std::move(f));
    };
    auto value = [](const auto& atomic) { return static_cast<double>(atomic.load(std::memory_order_relaxed)); };
    single("registry_redirector_connections", "Open client connections on the redirect port.",
           prometheus::MetricType::Gauge, value(connections_open));
    single("registry_redirector_connections_rejected_total",
           "Connections closed at accept because max_connections was reached.", prometheus::MetricType::Counter,
           value(connections_rejected));
    single("registry_redirector_connection_timeouts_total",
           "Connections closed because a header, idle or write deadline passed.", prometheus::MetricType::Counter,
           value(connection_timeouts));
    single("registry_redirector_accept_errors_total",
           "Failed accept() calls (e.g. EMFILE); the listener backs off and retries.", prometheus::MetricType::Counter,
           value(accept_errors));
    single("registry_redirector_access_log_dropped_total", "Access log records dropped because the writer fell behind.",
           prometheus::MetricType::Counter, value(access_log_dropped));
    single("registry_redirector_proxy_protocol_rejected_total",
           "Connections closed for a missing, malformed or untrusted PROXY protocol header.",
           prometheus::MetricType::Counter, value(proxy_protocol_rejected));
    {
        auto f = family("registry_redirector_proxy_protocol_no_address_total",
                        "Trusted PROXY protocol headers without an IP client address (v2 AF_UNSPEC or AF_UNIX, "
                        "v1 UNKNOWN); the connection's own peer address was used.",
                        prometheus::MetricType::Counter);
        const std::pair<const char*, const std::atomic<std::uint64_t>*> families[] = {
            {"unspec", &proxy_protocol_no_address_unspec},
            {"unix", &proxy_protocol_no_address_unix},
            {"unknown", &proxy_protocol_no_address_unknown}};
        for (const auto& [label, counter] : families) {
            f.metric.push_back({});
            f.metric.back().label.push_back({"family", label});
            f.metric.back().counter.value = value(*counter);
        }
        out.push_back(std::move(f));
    }
    if (tls_enabled.load(std::memory_order_relaxed)) {
        auto handshakes = family("registry_redirector_tls_handshakes_total",
                                 "TLS handshakes on the HTTPS listener, by result and negotiated version.",
                                 prometheus::MetricType::Counter);
        for (std::size_t r = 0; r < tls_handshake_result_count; ++r) {
            for (std::size_t v = 0; v < tls_version_label_count; ++v) {
                const auto result = static_cast<tls_handshake_result>(r);
                const auto version = static_cast<tls_version_label>(v);
                // Success always has a version; the none column is for failures.
                const bool succeeded = result == tls_handshake_result::ok || result == tls_handshake_result::resumed;
                if (succeeded == (version == tls_version_label::none)) continue;
                auto m = with_labels({{"result", to_label(result)}, {"version", to_label(version)}});
                m.counter.value = sum([&](const thread_request_counters& t) -> const auto& { return t.tls_handshakes_[r][v]; });
                handshakes.metric.push_back(std::move(m));
            }
        }
        out.push_back(std::move(handshakes));
        single("registry_redirector_tls_certificate_expiry_timestamp_seconds",
               "notAfter of the certificate serving new handshakes, in Unix seconds.", prometheus::MetricType::Gauge,
               value(tls_certificate_expiry));
    }
    return out;
}

}  // namespace registry_redirector
