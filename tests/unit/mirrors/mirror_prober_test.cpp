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
    auto board = prober.assign({{"m1", fast_probe(mirror.base_url() + "/blob")}, {"static", std::nullopt}});
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
    auto board = prober.assign({{"m1", p}});
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
    auto board = prober.assign({{"a", p}, {"b", std::nullopt}});
    ASSERT_TRUE(eventually([&] { return !board->usable(0); }));
    ASSERT_TRUE(prober.set_drained("b", true));
    EXPECT_FALSE(board->usable(1));
    EXPECT_FALSE(prober.set_drained("nope", true));

    // Same name and probe: still down in the new board (at the new index);
    // the drain of "b" carries over by name.
    auto next = prober.assign({{"b", std::nullopt}, {"a", p}, {"c", std::nullopt}});
    EXPECT_FALSE(next->usable(1));
    EXPECT_TRUE(next->drained(0));
    EXPECT_TRUE(next->usable(2));
    EXPECT_EQ(prober.statuses()[1].name, "a");
    EXPECT_FALSE(prober.statuses()[1].up);

    // A changed probe is a new probe: up until proven down again.
    auto changed = p;
    changed.fall = 1000;
    auto third = prober.assign({{"a", changed}});
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
    prober.assign({{"m1", fast_probe(mirror.base_url() + "/blob")}});
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

}  // namespace
}  // namespace registry_redirector
