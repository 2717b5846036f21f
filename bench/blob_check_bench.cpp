// The blob existence check's cost on a cache hit (issue 12: < 100 ns per
// request). Two benchmarks over one small world, side by side:
//
//   blob_check/no_check    handle_request + write_response for blob
//                          requests to mirrors without check_blobs;
//   blob_check/cache_hit   the same requests to the same mirrors with
//                          check_blobs, every URL already known to exist:
//                          + blob_check_for, rendering the URL, one cache
//                          lookup (what the session adds on a hit).
//
// The difference of the two times is the overhead. 4,096 distinct digests
// from 256 client networks, so the cache is walked, not one hot entry.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "registry_redirector/http/request_handler.hpp"

namespace rr = registry_redirector;

namespace {

struct blob_world {
    std::unique_ptr<rr::serving_snapshot> snapshot;
    std::vector<std::string> targets;
    std::vector<rr::ip_address> clients;
};

blob_world make_world(bool with_checks) {
    const rr::server_config config = rr::parse_server_config("main.yaml", "providers_dir: p\nprefixes: [t]\nroutes: {status: 302}\n");
    std::vector<rr::provider_config> providers{
        rr::parse_provider("amazon.yaml", R"(name: amazon
asns: [64501]
mirrors:
  - {name: east-a, registry: "https://east-a.example", blobs: "https://east-a.example/containers/images/{digest}"}
  - {name: east-b, registry: "https://east-b.example", blobs: "https://east-b.example/containers/images/{digest}"}
)"),
        rr::parse_provider("google.yaml", "name: google\nasns: [64500]\nredirectsTo: {registry: reg.g.example, artifacts: art.g.example}\n")};
    rr::origin_table origins;
    origins.v4.push_back({0x0A000000u, 8, 64501});  // 10.0.0.0/8
    rr::routing_options options;
    options.routes = config.routes;
    blob_world w;
    w.snapshot = std::make_unique<rr::serving_snapshot>(rr::serving_snapshot{
        rr::build_routing_table(providers, "google", origins, options), rr::client_ip_policy{}, {0, 1}, 1});
    w.snapshot->health = std::make_shared<rr::health_board>(w.snapshot->routes.mirrors().size());
    if (with_checks) {
        w.snapshot->blob_checks.resize(w.snapshot->routes.mirrors().size());
        for (std::size_t m = 0; m < w.snapshot->routes.mirrors().size(); ++m)
            if (w.snapshot->routes.mirrors()[m].name != "google")
                w.snapshot->blob_checks[m] = std::make_shared<const rr::blob_check>(
                    rr::blob_check{{}, std::make_shared<rr::blob_existence_cache>(100'000), nullptr});
    }
    for (unsigned i = 0; i < 4096; ++i) {
        char digest[72];
        std::snprintf(digest, sizeof digest, "sha256:%064x", i * 2654435761u);
        w.targets.push_back(std::string("/v2/pause/blobs/") + digest);
    }
    for (unsigned i = 0; i < 256; ++i) w.clients.push_back(rr::ip_address::from_v4(0x0A000001u + (i << 8)));
    if (with_checks) {  // every (mirror, URL) a request can meet is known to exist
        std::vector<std::uint32_t> excluded;
        std::string url;
        const auto far = rr::blob_existence_cache::clock::now() + std::chrono::hours(24);
        for (std::size_t i = 0; i < w.targets.size(); ++i) {
            rr::request_view r;
            r.method = "GET";
            r.target = w.targets[i];
            const rr::response_plan plan = rr::handle_request(r, w.clients[i % w.clients.size()], w.snapshot.get());
            url.clear();
            rr::render_url(*plan.location, plan.values, url);
            w.snapshot->blob_checks[plan.mirror]->cache->insert(url, true, far);
        }
    }
    return w;
}

void blob_check(benchmark::State& state, bool with_checks) {
    const blob_world w = make_world(with_checks);
    std::vector<std::uint32_t> excluded;
    std::string url, out;
    url.reserve(256);
    out.reserve(512);
    // The session passes the time its batch of requests was read (one
    // clock reading per read, there with or without checks).
    const auto batch_time = rr::blob_existence_cache::clock::now();
    std::size_t i = 0;
    for (auto _ : state) {
        rr::request_view r;
        r.method = "GET";
        r.target = w.targets[i];
        const rr::ip_address& client = w.clients[i % w.clients.size()];
        rr::response_plan plan = rr::handle_request(r, client, w.snapshot.get());
        if (with_checks) {
            excluded.clear();
            const rr::blob_check* pending = rr::settle_blob_check(plan, r, client, *w.snapshot, rr::client_ip_source::peer,
                                                                  excluded, url, batch_time);
            if (pending != nullptr) state.SkipWithError("a cache miss: the benchmark's cache was not filled");
        }
        out.clear();
        rr::write_response(plan, r, "Tue, 24 Nov 2026 22:21:00 GMT", out);
        benchmark::DoNotOptimize(out.data());
        if (++i == w.targets.size()) i = 0;
    }
    state.SetItemsProcessed(state.iterations());
}

/// The cache alone: fingerprint, shard lock, index probe, slot read, for
/// the same 4,096 URLs as the mirrors would be asked for (112 bytes each).
void blob_cache_find(benchmark::State& state) {
    rr::blob_existence_cache cache(100'000);
    std::vector<std::string> urls;
    const auto far = rr::blob_existence_cache::clock::now() + std::chrono::hours(24);
    for (unsigned i = 0; i < 4096; ++i) {
        char url[128];
        std::snprintf(url, sizeof url, "https://east-a.example/containers/images/sha256:%064x", i * 2654435761u);
        urls.emplace_back(url);
        cache.insert(urls.back(), true, far);
    }
    const auto now = rr::blob_existence_cache::clock::now();
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(cache.find(urls[i], now));
        if (++i == urls.size()) i = 0;
    }
    state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(blob_cache_find)->Name("blob_check/cache_find");
// Registered by name "blob_check/no_check" and "blob_check/cache_hit".
BENCHMARK_CAPTURE(blob_check, no_check, false);
BENCHMARK_CAPTURE(blob_check, cache_hit, true);
