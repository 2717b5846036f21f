#include "registry_redirector/routing/blob_existence_cache.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace registry_redirector {
namespace {

using clock_type = blob_existence_cache::clock;

TEST(BlobExistenceCacheTest, VerdictsExpire) {
    blob_existence_cache cache(1000);
    const auto now = clock_type::now();
    EXPECT_EQ(cache.find("https://m/a", now), blob_verdict::unknown);
    cache.insert("https://m/a", true, now + std::chrono::seconds(10));
    cache.insert("https://m/b", false, now + std::chrono::seconds(1));
    EXPECT_EQ(cache.find("https://m/a", now), blob_verdict::exists);
    EXPECT_EQ(cache.find("https://m/b", now), blob_verdict::missing);
    EXPECT_EQ(cache.find("https://m/b", now + std::chrono::seconds(2)), blob_verdict::unknown);
    EXPECT_EQ(cache.find("https://m/a", now + std::chrono::seconds(2)), blob_verdict::exists);
    EXPECT_EQ(cache.hits(), 3u);
    EXPECT_EQ(cache.misses(), 2u);
}

TEST(BlobExistenceCacheTest, BoundedLeastRecentlyUsedGoesFirst) {
    blob_existence_cache cache(16 * 4);  // 4 per shard
    const auto later = clock_type::now() + std::chrono::hours(1);
    for (int i = 0; i < 1000; ++i) cache.insert("u" + std::to_string(i), true, later);
    EXPECT_LE(cache.size(), 64u);
    EXPECT_EQ(cache.evictions(), 1000u - cache.size());
    // The most recent insert survives; the first is long gone.
    EXPECT_EQ(cache.find("u999", clock_type::now()), blob_verdict::exists);
    EXPECT_EQ(cache.find("u0", clock_type::now()), blob_verdict::unknown);
}

TEST(BlobExistenceCacheTest, URLsOfEveryLengthAreTold) {
    // The fingerprint reads 16-byte blocks and a tail: every tail length,
    // and URLs that differ only in their last byte, stay apart.
    blob_existence_cache cache(10'000);
    const auto later = clock_type::now() + std::chrono::hours(1);
    std::string url = "https://mirror.example/containers/images/sha256:";
    std::vector<std::string> urls;
    for (int length = 0; length < 40; ++length) {
        urls.push_back(url + std::string(length, 'a'));
        urls.push_back(url + std::string(length, 'a') + 'b');
    }
    for (std::size_t i = 0; i < urls.size(); ++i) cache.insert(urls[i], i % 2 == 0, later);
    for (std::size_t i = 0; i < urls.size(); ++i)
        EXPECT_EQ(cache.find(urls[i], clock_type::now()), i % 2 == 0 ? blob_verdict::exists : blob_verdict::missing)
            << urls[i];
    EXPECT_EQ(cache.size(), urls.size());
}

TEST(BlobExistenceCacheTest, EvictionUnderChurnNeverLosesOrConfusesEntries) {
    // Small shards, far more URLs than room: every eviction deletes from
    // the open-addressing index and shifts the probe run behind it. A URL
    // read after every insert is referenced on every pass of the clock
    // hand, so it must survive all of it (an insert clears the bit, so
    // only the hot URLs are referenced when the hand moves); every answer
    // the cache gives is the verdict last inserted; size and evictions agree.
    blob_existence_cache cache(16 * 8);
    const auto later = clock_type::now() + std::chrono::hours(1);
    std::mt19937 random(7);
    std::unordered_map<std::string, bool> last_verdict;
    std::vector<std::string> hot;
    for (int i = 0; i < 16; ++i) {
        hot.push_back("https://m/hot/" + std::to_string(i));
        cache.insert(hot.back(), true, later);
    }
    std::uint64_t new_urls = hot.size();
    for (int i = 0; i < 20'000; ++i) {
        const std::string url = "https://m/b/" + std::to_string(random() % 5'000);
        const bool exists = random() % 2 == 0;
        const bool is_new = cache.find(url, clock_type::now()) == blob_verdict::unknown;
        cache.insert(url, exists, later);
        new_urls += is_new;
        last_verdict[url] = exists;
        for (const std::string& h : hot) ASSERT_EQ(cache.find(h, clock_type::now()), blob_verdict::exists) << h << " at " << i;
    }
    std::size_t present = hot.size();
    for (const auto& [url, exists] : last_verdict) {
        const blob_verdict v = cache.find(url, clock_type::now());
        if (v == blob_verdict::unknown) continue;
        ++present;
        EXPECT_EQ(v, exists ? blob_verdict::exists : blob_verdict::missing) << url;
    }
    EXPECT_EQ(cache.size(), present);
    EXPECT_LE(cache.size(), 16u * 8u);
    EXPECT_EQ(cache.evictions(), new_urls - cache.size());
}

}  // namespace
}  // namespace registry_redirector
