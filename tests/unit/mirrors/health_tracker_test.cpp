#include "registry_redirector/mirrors/health_tracker.hpp"

#include <gtest/gtest.h>

#include "registry_redirector/routing/health_board.hpp"

namespace registry_redirector {
namespace {

using clock_type = health_tracker::clock;

probe_result pass() { return {probe_outcome::pass, 200, {}, "status 200"}; }
probe_result fail(std::string why = "status 503") { return {probe_outcome::bad_status, 503, {}, std::move(why)}; }

TEST(HealthTrackerTest, UpUntilProvenDownAfterFallFailures) {
    const auto t0 = clock_type::now();
    health_tracker t(3, 2, true, t0);
    EXPECT_TRUE(t.up());
    EXPECT_FALSE(t.record(fail(), t0));
    EXPECT_FALSE(t.record(fail(), t0));
    EXPECT_TRUE(t.up());
    EXPECT_TRUE(t.record(fail("timeout during connect"), t0 + std::chrono::seconds(3)));
    EXPECT_FALSE(t.up());
    EXPECT_EQ(t.reason(), "timeout during connect");
    EXPECT_EQ(t.since(), t0 + std::chrono::seconds(3));
    EXPECT_EQ(t.consecutive_failures(), 3u);
}

TEST(HealthTrackerTest, APassInBetweenResetsTheFailureCount) {
    const auto t0 = clock_type::now();
    health_tracker t(2, 2, true, t0);
    t.record(fail(), t0);
    t.record(pass(), t0);
    EXPECT_FALSE(t.record(fail(), t0));
    EXPECT_TRUE(t.up());
    EXPECT_TRUE(t.record(fail(), t0));
    EXPECT_FALSE(t.up());
}

TEST(HealthTrackerTest, ComesBackOnlyAfterRiseConsecutivePasses) {
    const auto t0 = clock_type::now();
    health_tracker t(1, 3, true, t0);
    ASSERT_TRUE(t.record(fail(), t0));
    EXPECT_FALSE(t.record(pass(), t0));
    EXPECT_FALSE(t.record(pass(), t0));
    EXPECT_FALSE(t.record(fail(), t0));  // the streak starts again
    EXPECT_FALSE(t.up());
    EXPECT_FALSE(t.record(pass(), t0));
    EXPECT_FALSE(t.record(pass(), t0));
    EXPECT_TRUE(t.record(pass(), t0));
    EXPECT_TRUE(t.up());
    EXPECT_EQ(t.reason(), "passed 3 consecutive probes");
    EXPECT_EQ(t.probes(), 7u);
}

TEST(HealthTrackerTest, InitialDownNeedsRisePasses) {
    const auto t0 = clock_type::now();
    health_tracker t(3, 2, false, t0);
    EXPECT_FALSE(t.up());
    EXPECT_FALSE(t.record(pass(), t0));
    EXPECT_TRUE(t.record(pass(), t0));
    EXPECT_TRUE(t.up());
}

TEST(HealthTrackerTest, StateChangesAreReportedOnce) {
    const auto t0 = clock_type::now();
    health_tracker t(1, 1, true, t0);
    EXPECT_TRUE(t.record(fail(), t0));
    EXPECT_FALSE(t.record(fail("status 500"), t0));  // still down: no second change
    EXPECT_EQ(t.reason(), "status 500");             // but the latest cause is shown
    EXPECT_TRUE(t.record(pass(), t0));
    EXPECT_FALSE(t.record(pass(), t0));
}

TEST(HealthBoardTest, BitsAreIndependentAcrossWords) {
    health_board board(130);
    for (std::size_t i = 0; i < board.size(); ++i) EXPECT_TRUE(board.usable(i));
    board.set_up(0, false);
    board.set_up(64, false);
    board.set_drained(129, true);
    for (std::size_t i = 0; i < board.size(); ++i)
        EXPECT_EQ(board.usable(i), i != 0 && i != 64 && i != 129) << i;
    EXPECT_FALSE(board.up(64));
    EXPECT_TRUE(board.up(129));
    EXPECT_TRUE(board.drained(129));
    board.set_up(64, true);
    board.set_drained(129, false);
    EXPECT_TRUE(board.usable(64));
    EXPECT_TRUE(board.usable(129));
    EXPECT_FALSE(board.usable(0));
}

}  // namespace
}  // namespace registry_redirector
