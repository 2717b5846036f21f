#include <gtest/gtest.h>

#include <map>
#include <random>

#include "registry_redirector/lpm/lpm_table.hpp"

namespace registry_redirector {
namespace {

template <class Key>
Key mask_of(unsigned length) {
    constexpr unsigned bits = sizeof(Key) * 8;
    return length == 0 ? Key{0} : static_cast<Key>(~Key{0} << (bits - length));
}

/// The reference: scan every prefix, keep the longest that contains the key.
template <class Key>
std::optional<std::uint32_t> naive_lookup(const std::vector<typename lpm_table<Key>::entry>& entries, Key key) {
    int best = -1;
    std::optional<std::uint32_t> value;
    for (const auto& e : entries) {
        if ((key & mask_of<Key>(e.length)) == e.network && static_cast<int>(e.length) > best) {
            best = e.length;
            value = e.value;
        }
    }
    return value;
}

template <class Key>
Key random_key(std::mt19937_64& rng) {
    if constexpr (sizeof(Key) == 4)
        return static_cast<Key>(rng());
    else
        return (static_cast<Key>(rng()) << 64) | rng();
}

/// Random prefixes that nest often: many are carved out of earlier ones.
template <class Key>
std::vector<typename lpm_table<Key>::entry> random_entries(std::mt19937_64& rng, std::size_t count) {
    constexpr unsigned bits = sizeof(Key) * 8;
    std::vector<typename lpm_table<Key>::entry> out;
    std::map<std::pair<Key, unsigned>, bool> seen;
    std::uniform_int_distribution<unsigned> length_dist(0, bits);
    while (out.size() < count) {
        Key base = random_key<Key>(rng);
        unsigned length = length_dist(rng);
        if (!out.empty() && rng() % 2) {  // nest inside an existing prefix
            const auto& parent = out[rng() % out.size()];
            base = parent.network | (random_key<Key>(rng) & ~mask_of<Key>(parent.length));
            length = parent.length + static_cast<unsigned>(rng() % (bits - parent.length + 1));
        }
        if (rng() % 50 == 0) length = bits;  // host routes
        const Key network = base & mask_of<Key>(length);
        if (!seen.emplace(std::pair{network, length}, true).second) continue;
        out.push_back({network, static_cast<std::uint8_t>(length), static_cast<std::uint32_t>(rng() % 7)});
    }
    return out;
}

/// The first or last address of a random entry, or the one just outside it.
template <class Key>
Key edge_of(const std::vector<typename lpm_table<Key>::entry>& entries, std::mt19937_64& rng) {
    const auto& e = entries[rng() % entries.size()];
    const Key last = e.network | ~mask_of<Key>(e.length);
    const Key choices[] = {e.network, last, static_cast<Key>(e.network - 1), static_cast<Key>(last + 1)};
    return choices[rng() % 4];
}

template <class Key>
void differential(std::uint64_t seed, std::size_t prefixes, std::size_t probes) {
    std::mt19937_64 rng(seed);
    const auto entries = random_entries<Key>(rng, prefixes);
    const auto table = lpm_table<Key>::build(entries);
    for (std::size_t i = 0; i < probes; ++i) {
        // Half the probes land at a prefix edge, where off-by-one bugs live.
        const Key key = i % 2 ? edge_of<Key>(entries, rng) : random_key<Key>(rng);
        ASSERT_EQ(table.lookup(key), naive_lookup<Key>(entries, key)) << "seed " << seed << " probe " << i;
    }
}

TEST(LpmTableTest, MatchesNaiveScanIpv4) {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) differential<std::uint32_t>(seed, 300, 2000);
}

TEST(LpmTableTest, MatchesNaiveScanIpv6) {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) differential<uint128>(seed, 300, 2000);
}

/// Many prefixes in one /16: the trie grows nodes several levels deep there.
template <class Key>
void dense_differential(std::uint64_t seed) {
    constexpr unsigned bits = sizeof(Key) * 8;
    std::mt19937_64 rng(seed);
    const Key block = static_cast<Key>(random_key<Key>(rng) & mask_of<Key>(16));
    std::vector<typename lpm_table<Key>::entry> entries;
    std::map<std::pair<Key, unsigned>, bool> seen;
    while (entries.size() < 400) {
        const unsigned length = 17 + static_cast<unsigned>(rng() % (bits - 16));
        const Key network = (block | (random_key<Key>(rng) & ~mask_of<Key>(16))) & mask_of<Key>(length);
        if (!seen.emplace(std::pair{network, length}, true).second) continue;
        entries.push_back({network, static_cast<std::uint8_t>(length), static_cast<std::uint32_t>(rng() % 5)});
    }
    entries.push_back({block, 16, 9});
    const auto table = lpm_table<Key>::build(entries);
    for (int i = 0; i < 5000; ++i) {
        const Key key = i % 2 ? edge_of<Key>(entries, rng) : static_cast<Key>(block | (random_key<Key>(rng) & ~mask_of<Key>(16)));
        ASSERT_EQ(table.lookup(key), naive_lookup<Key>(entries, key)) << "seed " << seed << " probe " << i;
    }
}

TEST(LpmTableTest, CrowdedBlocksGrowDeepNodes) {
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        dense_differential<std::uint32_t>(seed);
        dense_differential<uint128>(seed);
    }
}

/// Host routes scattered over the whole space, each alone in its /16: every
/// one needs a chain of nodes down to its last byte, far more than the node
/// budget allows, so deep slots fall back to binary-searched spans. The
/// answers must not change, and memory must stay within the budget.
template <class Key>
void budget_differential(std::uint64_t seed) {
    constexpr unsigned bits = sizeof(Key) * 8;
    std::mt19937_64 rng(seed);
    std::vector<typename lpm_table<Key>::entry> entries;
    std::map<std::pair<Key, unsigned>, bool> seen;
    for (std::size_t i = 0; i < 3000; ++i) {
        const Key network = random_key<Key>(rng);
        if (!seen.emplace(std::pair{network, bits}, true).second) continue;
        entries.push_back({network, static_cast<std::uint8_t>(bits), static_cast<std::uint32_t>(1 + rng() % 3)});
        // A sibling one address away with another value: two boundaries
        // in the same last-level slot.
        const Key sibling = network ^ Key{1};
        if (!seen.emplace(std::pair{sibling, bits}, true).second) continue;
        entries.push_back({sibling, static_cast<std::uint8_t>(bits), static_cast<std::uint32_t>(4 + rng() % 3)});
    }
    const auto table = lpm_table<Key>::build(entries);
    EXPECT_GT(table.span_count(), 0u) << "the node budget was never reached";
    const std::size_t levels = (bits - 16) / 8;
    EXPECT_LE(table.node_count(), 64 + table.range_count() * levels / 4);
    for (int i = 0; i < 20000; ++i) {
        const Key key = i % 2 ? edge_of<Key>(entries, rng) : random_key<Key>(rng);
        ASSERT_EQ(table.lookup(key), naive_lookup<Key>(entries, key)) << "seed " << seed << " probe " << i;
    }
}

TEST(LpmTableTest, NodeBudgetFallsBackToSearchedSpans) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        budget_differential<std::uint32_t>(seed);
        budget_differential<uint128>(seed);
    }
}

TEST(LpmTableTest, SmallTablesNeedNoSpans) {
    std::mt19937_64 rng(7);
    const auto table = lpm_table_v6::build(random_entries<uint128>(rng, 300));
    EXPECT_EQ(table.span_count(), 0u);
    EXPECT_GT(table.node_count(), 0u);
}

TEST(LpmTableTest, RejectsValuesThatDoNotFitASlot) {
    EXPECT_NO_THROW(lpm_table_v4::build({{0xC0000200u, 24, lpm_table_v4::max_value}}));
    EXPECT_THROW(lpm_table_v4::build({{0xC0000200u, 24, lpm_table_v4::max_value + 1}}), std::invalid_argument);
    EXPECT_THROW(lpm_table_v4::build({}, lpm_table_v4::max_value + 1), std::invalid_argument);
    EXPECT_EQ(lpm_table_v4::build({{0xC0000200u, 24, lpm_table_v4::max_value}}).lookup(0xC00002FFu),
              lpm_table_v4::max_value);
}

TEST(LpmTableTest, EmptyTableMatchesNothing) {
    const auto t = lpm_table_v4::build({});
    EXPECT_FALSE(t.lookup(0));
    EXPECT_FALSE(t.lookup(0xffffffffu));
    const lpm_table_v6 empty6;
    EXPECT_FALSE(empty6.lookup(~uint128{0}));
}

TEST(LpmTableTest, DefaultRouteAndHostRoutes) {
    const auto t = lpm_table_v4::build({{0, 0, 1}, {0xC0000201u, 32, 2}, {0xffffffffu, 32, 3}, {0, 32, 4}});
    EXPECT_EQ(t.lookup(0), 4u);
    EXPECT_EQ(t.lookup(1), 1u);
    EXPECT_EQ(t.lookup(0xC0000200u), 1u);
    EXPECT_EQ(t.lookup(0xC0000201u), 2u);
    EXPECT_EQ(t.lookup(0xC0000202u), 1u);
    EXPECT_EQ(t.lookup(0xfffffffeu), 1u);
    EXPECT_EQ(t.lookup(0xffffffffu), 3u);
}

TEST(LpmTableTest, MoreSpecificPunchesHoleAndParentResumes) {
    // 198.51.100.0/24 -> 1, with 198.51.100.128/25 -> 2 at its end and
    // 198.51.100.64/26 -> 3 in the middle.
    const auto t = lpm_table_v4::build({{0xC6336400u, 24, 1}, {0xC6336480u, 25, 2}, {0xC6336440u, 26, 3}});
    EXPECT_EQ(t.lookup(0xC6336400u), 1u);
    EXPECT_EQ(t.lookup(0xC633643Fu), 1u);
    EXPECT_EQ(t.lookup(0xC6336440u), 3u);
    EXPECT_EQ(t.lookup(0xC633647Fu), 3u);
    EXPECT_EQ(t.lookup(0xC6336480u), 2u);
    EXPECT_EQ(t.lookup(0xC63364FFu), 2u);
    EXPECT_FALSE(t.lookup(0xC6336500u));
    EXPECT_FALSE(t.lookup(0xC63363FFu));
}

TEST(LpmTableTest, EqualNeighboursMerge) {
    // Two adjacent /25s with one value are one range; the lookup is the same.
    const auto t = lpm_table_v4::build({{0xC0000200u, 25, 5}, {0xC0000280u, 25, 5}});
    EXPECT_EQ(t.range_count(), 3u);  // none, 192.0.2.0/24 as one range, none
    // With the background equal to the value, everything is one range.
    EXPECT_EQ(lpm_table_v4::build({{0xC0000200u, 25, 5}, {0xC0000280u, 25, 5}}, 5).range_count(), 1u);
    EXPECT_EQ(t.lookup(0xC00002FFu), 5u);
}

TEST(LpmTableTest, RejectsDuplicatesAndHostBits) {
    EXPECT_THROW(lpm_table_v4::build({{0xC0000200u, 24, 1}, {0xC0000200u, 24, 2}}), std::invalid_argument);
    EXPECT_THROW(lpm_table_v4::build({{0xC0000201u, 24, 1}}), std::invalid_argument);
    EXPECT_THROW(lpm_table_v4::build({{0, 33, 1}}), std::invalid_argument);
}

TEST(LpmTableTest, Ipv6BoundariesAndFullLength) {
    const uint128 doc = static_cast<uint128>(0x20010db8u) << 96;
    const uint128 all = ~uint128{0};
    const auto t = lpm_table_v6::build({{0, 0, 1}, {doc, 32, 2}, {doc | 1, 128, 3}, {all, 128, 4}});
    EXPECT_EQ(t.lookup(0), 1u);
    EXPECT_EQ(t.lookup(doc), 2u);
    EXPECT_EQ(t.lookup(doc | 1), 3u);
    EXPECT_EQ(t.lookup(doc | 2), 2u);
    EXPECT_EQ(t.lookup(doc - 1), 1u);
    EXPECT_EQ(t.lookup(all), 4u);
    EXPECT_EQ(t.lookup(all - 1), 1u);
}

}  // namespace
}  // namespace registry_redirector
