#include <gtest/gtest.h>

#include "registry_redirector/http/buffer_pool.hpp"

namespace registry_redirector {
namespace {

TEST(BufferPoolTest, GivenBackSetsAreReused) {
    buffer_pool pool(4096, 512);
    auto a = pool.take();
    ASSERT_TRUE(a && a->in);
    EXPECT_GE(a->out.capacity(), 512u);
    a->out = "HTTP/1.1 302 Found\r\n";
    const char* in = a->in.get();
    EXPECT_EQ(pool.in_use(), 1u);
    pool.give(std::move(a));
    EXPECT_EQ(pool.in_use(), 0u);
    EXPECT_EQ(pool.free_count(), 1u);
    auto b = pool.take();
    EXPECT_EQ(b->in.get(), in);  // the same set, not a new one
    EXPECT_TRUE(b->out.empty());  // cleared when given back
    pool.give(nullptr);            // ignored
    EXPECT_EQ(pool.in_use(), 1u);
}

TEST(BufferPoolTest, TrimFreesOnlyWhatAWholePeriodDidNotNeed) {
    buffer_pool pool(1024, 64);
    std::vector<std::unique_ptr<buffer_pool::buffers>> held;
    for (int i = 0; i < 100; ++i) held.push_back(pool.take());  // a burst
    for (auto& b : held) pool.give(std::move(b));
    held.clear();
    EXPECT_EQ(pool.free_count(), 100u);
    pool.trim(4);  // the period had the burst: its low-water mark was 0
    EXPECT_EQ(pool.free_count(), 100u);
    // A quiet period that needed at most 10 at a time.
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 10; ++i) held.push_back(pool.take());
        for (auto& b : held) pool.give(std::move(b));
        held.clear();
    }
    EXPECT_GT(pool.trim(4), 0u);
    EXPECT_EQ(pool.free_count(), 10u);  // what the period used stays
    EXPECT_GE(pool.trim(4), 6u * 1024);  // nothing was taken since: down to `keep`
    EXPECT_EQ(pool.free_count(), 4u);
    EXPECT_EQ(pool.trim(4), 0u);
    EXPECT_EQ(pool.free_count(), 4u);
}

}  // namespace
}  // namespace registry_redirector
