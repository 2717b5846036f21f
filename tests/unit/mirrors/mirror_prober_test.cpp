#include "registry_redirector/mirrors/mirror_prober.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <thread>

#include "test_mirror.hpp"

namespace registry_redirector {
namespace {

using test_support::mirror_mode;
using test_support::test_mirror;

probe_config fast_probe(const std::string& url, unsigned fall = 2, unsigned rise = 2) {
    probe_config p;
    p.url = url;
    p.interval = std::chrono::milliseconds(30);
    p.timeout = std::chrono::milliseconds(500);
    p.fall = fall;
    p.rise = rise;
    return p;
}

/// Polls `condition` for up to 5 s (generous: a loaded CI machine).
template <class F>
bool eventually(F condition) {
    for (int i = 0; i < 500; ++i) {
        if (condition()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

TEST(MirrorProberTest, DownAfterFallUpAfterRise) {
    test_mirror mirror;
    prometheus::Registry registry;
    mirror_prober prober(registry);
    prober.start();
    auto board = prober.assign({{"m1", fast_probe(mirror.base_url() + "/blob"), std::nullopt},
                                {"static", std::nullopt, std::nullopt}})
                     .health;
    ASSERT_EQ(board->size(), 2u);
    EXPECT_TRUE(board->usable(0));
    ASSERT_TRUE(eventually([&] { return prober.statuses()[0].probes >= 2; }));
    EXPECT_TRUE(board->usable(0));

    mirror.set_mode(mirror_mode::server_error);
    ASSERT_TRUE(eventually([&] { return !board->usable(0); }));
    auto s = prober.statuses();
    EXPECT_FALSE(s[0].up);
    EXPECT_EQ(s[0].reason, "status 500");
    EXPECT_EQ(s[0].last_status, 500u);
    EXPECT_EQ(s[0].last_result, "bad_status");
    EXPECT_GE(s[0].consecutive_failures, 2u);
    EXPECT_TRUE(board->usable(1));  // no probe: always up
    EXPECT_EQ(s[1].reason, "not probed");

    mirror.set_mode(mirror_mode::ok);
    ASSERT_TRUE(eventually([&] { return board->usable(0); }));
    EXPECT_EQ(prober.statuses()[0].reason, "passed 2 consecutive probes");
    prober.stop();
}

TEST(MirrorProberTest, InitialDownStaysOutUntilItPasses) {
    test_mirror mirror;
    mirror.set_mode(mirror_mode::not_found);
    prometheus::Registry registry;
    mirror_prober prober(registry);
    auto p = fast_probe(mirror.base_url() + "/blob", 1, 1);
    p.initial_up = false;
    auto board = prober.assign({{"m1", p, std::nullopt}}).health;
    EXPECT_FALSE(board->usable(0));
    prober.start();
    ASSERT_TRUE(eventually([&] { return prober.statuses()[0].probes >= 3; }));
    EXPECT_FALSE(board->usable(0));
    mirror.set_mode(mirror_mode::ok);
    ASSERT_TRUE(eventually([&] { return board->usable(0); }));
}

TEST(MirrorProberTest, ReloadKeepsStateOfUnchangedMirrorsAndDrainsByName) {
    test_mirror mirror;
    mirror.set_mode(mirror_mode::server_error);
    prometheus::Registry registry;
    mirror_prober prober(registry);
    prober.start();
    const auto p = fast_probe(mirror.base_url() + "/blob", 1, 50);
    auto board = prober.assign({{"a", p, std::nullopt}, {"b", std::nullopt, std::nullopt}}).health;
    ASSERT_TRUE(eventually([&] { return !board->usable(0); }));
    ASSERT_TRUE(prober.set_drained("b", true));
    EXPECT_FALSE(board->usable(1));
    EXPECT_FALSE(prober.set_drained("nope", true));

    // Same name and probe: still down in the new board (at the new index);
    // the drain of "b" carries over by name.
    auto next = prober.assign({{"b", std::nullopt, std::nullopt}, {"a", p, std::nullopt}, {"c", std::nullopt, std::nullopt}}).health;
    EXPECT_FALSE(next->usable(1));
    EXPECT_TRUE(next->drained(0));
    EXPECT_TRUE(next->usable(2));
    EXPECT_EQ(prober.statuses()[1].name, "a");
    EXPECT_FALSE(prober.statuses()[1].up);

    // A changed probe is a new probe: up until proven down again.
    auto changed = p;
    changed.fall = 1000;
    auto third = prober.assign({{"a", changed, std::nullopt}}).health;
    EXPECT_TRUE(third->usable(0));
    ASSERT_TRUE(prober.set_drained("a", true));
    EXPECT_FALSE(third->usable(0));
    ASSERT_TRUE(prober.set_drained("a", false));
    EXPECT_TRUE(third->usable(0));
    prober.stop();
}

TEST(MirrorProberTest, MetricsPerMirror) {
    test_mirror mirror;
    prometheus::Registry registry;
    mirror_prober prober(registry);
    prober.start();
    prober.assign({{"m1", fast_probe(mirror.base_url() + "/blob"), std::nullopt}});
    ASSERT_TRUE(eventually([&] { return prober.statuses()[0].probes >= 1; }));
    bool saw_probe_counter = false;
    bool saw_up = false;
    for (const auto& family : registry.Collect()) {
        if (family.name == "registry_redirector_mirror_probes_total")
            for (const auto& m : family.metric)
                for (const auto& l : m.label)
                    if (l.name == "result" && l.value == "pass" && m.counter.value >= 1) saw_probe_counter = true;
        if (family.name == "registry_redirector_mirror_up")
            for (const auto& m : family.metric) saw_up = saw_up || m.gauge.value == 1;
    }
    EXPECT_TRUE(saw_probe_counter);
    EXPECT_TRUE(saw_up);
    // A mirror that leaves the config leaves the metrics.
    prober.assign({});
    for (const auto& family : registry.Collect())
        if (family.name == "registry_redirector_mirror_up") EXPECT_TRUE(family.metric.empty());
}

TEST(MirrorProberTest, BlobCachesLastWhileNameAndSettingsDo) {
    prometheus::Registry registry;
    mirror_prober prober(registry);
    EXPECT_TRUE(prober.assign({{"plain", std::nullopt, std::nullopt}}).blob_checks.empty());

    blob_check_config check;
    check.max_entries = 64;
    auto first = prober.assign({{"a", std::nullopt, check}, {"b", std::nullopt, std::nullopt}}).blob_checks;
    ASSERT_EQ(first.size(), 2u);
    ASSERT_NE(first[0], nullptr);
    EXPECT_EQ(first[1], nullptr);
    EXPECT_NE(first[0]->tls, nullptr);  // the system store, for https blob URLs
    first[0]->cache->insert("https://a.example/blob", true, blob_existence_cache::clock::now() + std::chrono::hours(1));

    // Renumbered, same settings: the same cache.
    auto second = prober.assign({{"b", std::nullopt, std::nullopt}, {"a", std::nullopt, check}}).blob_checks;
    ASSERT_EQ(second.size(), 2u);
    ASSERT_NE(second[1], nullptr);
    EXPECT_EQ(second[1]->cache, first[0]->cache);

    // Changed settings: a new, empty cache.
    check.negative_ttl = std::chrono::milliseconds(5000);
    auto third = prober.assign({{"a", std::nullopt, check}}).blob_checks;
    ASSERT_EQ(third.size(), 1u);
    EXPECT_NE(third[0]->cache, first[0]->cache);
    EXPECT_EQ(third[0]->cache->size(), 0u);

    // The metrics read the live caches.
    const auto families = prober.blob_check_metrics().Collect();
    ASSERT_EQ(families.size(), 4u);
    EXPECT_EQ(families[0].name, "registry_redirector_blob_cache_lookups_total");
    ASSERT_EQ(families[0].metric.size(), 2u);
    EXPECT_EQ(families[0].metric[0].label[0].value, "a");
}

}  // namespace
}  // namespace registry_redirector
