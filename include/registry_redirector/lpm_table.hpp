#pragma once
/// Longest-prefix match over one address family, compiled into a sorted
/// table of address ranges with a direct-indexed first level.
///
/// Why this structure: the server only ever asks "which value (provider, or
/// none) does this address get?". A set of prefixes, where the most specific
/// one wins, partitions the address space into disjoint ranges, each with one
/// value; merging neighbours with equal values leaves far fewer ranges than
/// prefixes (the whole 2026 Internet table resolves to tens of thousands of
/// provider ranges). Lookup is then a search for the last range start <= key:
/// "IP lookups using multiway and multicolumn search", Lampson, Srinivasan and
/// Varghese, IEEE/ACM Trans. Networking 7(3), 1999. A direct-indexed first
/// level on the top 16 bits, as in DIR-24-8 (Gupta, Lin and McKeown, "Routing
/// lookups in hardware at memory access speeds", INFOCOM 1998) but 16 bits
/// wide to keep it small, narrows the search to the ranges of one /16
/// bucket, and answers most lookups with no search at all. A /16 that holds
/// many ranges (a cloud's address block, cut up by its customers' prefixes)
/// gets a second 256-entry level on the next 8 bits, so that a lookup there
/// is two table reads and a search over a handful of ranges.
///
/// Thread safety: immutable after build; any number of threads may look up.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

#include "registry_redirector/ip_address.hpp"

namespace registry_redirector {

template <class Key>
class lpm_table {
public:
    static constexpr unsigned key_bits = sizeof(Key) * 8;
    static constexpr unsigned index_bits = 16;
    static constexpr std::uint32_t no_value = 0xffffffffu;

    struct entry {
        Key network{};             ///< host bits zero
        std::uint8_t length = 0;   ///< 0..key_bits
        std::uint32_t value = 0;   ///< anything but no_value
    };

    lpm_table() { build_index(); }

    /// Builds the table. Entries may come in any order. `background` is the
    /// value of addresses no prefix holds (no_value: lookup() says nothing);
    /// giving it the value most prefixes have lets their ranges merge.
    /// Throws std::invalid_argument on a duplicate prefix, host bits set or a
    /// bad length: callers resolve those first.
    static lpm_table build(std::vector<entry> entries, std::uint32_t background = no_value) {
        auto by_prefix = [](const entry& a, const entry& b) {
            return a.network != b.network ? a.network < b.network : a.length < b.length;
        };
        // Tables usually arrive sorted (routing resolves them in order): a
        // linear check saves an n log n sort of a million entries.
        if (!std::is_sorted(entries.begin(), entries.end(), by_prefix))
            std::sort(entries.begin(), entries.end(), by_prefix);
        lpm_table t(unindexed{});
        t.emit(Key{0}, background);
        struct open_prefix {
            Key last;
            std::uint32_t value;
        };
        std::vector<open_prefix> open;
        const entry* previous = nullptr;
        for (const entry& e : entries) {
            if (e.length > key_bits || e.value == no_value)
                throw std::invalid_argument("lpm_table: bad prefix length or value");
            if ((e.network & ~mask(e.length)) != 0)
                throw std::invalid_argument("lpm_table: host bits set");
            if (previous && previous->network == e.network && previous->length == e.length)
                throw std::invalid_argument("lpm_table: duplicate prefix");
            previous = &e;
            // Prefixes are nested or disjoint, and sorted by (start, length):
            // every open prefix ending before this one starts is finished, and
            // its parent (or nothing) takes over right after it.
            while (!open.empty() && open.back().last < e.network) {
                const Key finished = open.back().last;
                open.pop_back();
                t.emit(finished + 1, open.empty() ? background : open.back().value);
            }
            t.emit(e.network, e.value);
            open.push_back({static_cast<Key>(e.network | ~mask(e.length)), e.value});
        }
        while (!open.empty()) {
            const Key finished = open.back().last;
            open.pop_back();
            if (finished != max_key) t.emit(finished + 1, open.empty() ? background : open.back().value);
        }
        t.starts_.shrink_to_fit();
        t.values_.shrink_to_fit();
        t.build_index();
        return t;
    }

    /// The value of the most specific prefix containing `key`, or `fallback`.
    std::uint32_t lookup_or(Key key, std::uint32_t fallback) const noexcept {
        const std::uint32_t v = values_[find_range(key)];
        return v == no_value ? fallback : v;
    }

    std::optional<std::uint32_t> lookup(Key key) const noexcept {
        const std::uint32_t v = values_[find_range(key)];
        if (v == no_value) return std::nullopt;
        return v;
    }

    /// Number of disjoint ranges after merging equal neighbours.
    std::size_t range_count() const noexcept { return starts_.size(); }

    std::size_t memory_bytes() const noexcept {
        return starts_.capacity() * sizeof(Key) + values_.capacity() * sizeof(std::uint32_t) +
               index_.capacity() * sizeof(bucket) + level2_.capacity() * sizeof(std::uint32_t);
    }

    /// Range i covers [range_start(i), range_start(i+1)) and has range_value(i).
    Key range_start(std::size_t i) const noexcept { return starts_[i]; }
    std::uint32_t range_value(std::size_t i) const noexcept { return values_[i]; }

private:
    struct unindexed {};
    explicit lpm_table(unindexed) {}  // build() indexes once it has the ranges

    static constexpr Key max_key = static_cast<Key>(~Key{0});
    static constexpr unsigned shift = key_bits - index_bits;
    static constexpr unsigned level2_bits = 8;
    static constexpr unsigned shift2 = shift - level2_bits;
    static constexpr std::size_t level2_size = (std::size_t{1} << level2_bits) + 1;
    /// Buckets with more candidate ranges than this get a second level.
    static constexpr std::uint32_t crowded = 8;

    struct bucket {
        std::uint32_t first;   ///< the range holding the bucket's first address
        std::uint32_t level2;  ///< 0, or 1 + the number of its second-level block
    };

    static constexpr Key mask(unsigned length) noexcept {
        return length == 0 ? Key{0} : static_cast<Key>(max_key << (key_bits - length));
    }

    void emit(Key position, std::uint32_t value) {
        if (!starts_.empty() && starts_.back() == position) {
            // A finished prefix handed over to its parent exactly where the
            // next prefix starts: the later, more specific value wins.
            values_.back() = value;
            if (values_.size() >= 2 && values_[values_.size() - 2] == value) {
                starts_.pop_back();
                values_.pop_back();
            }
            return;
        }
        if (!values_.empty() && values_.back() == value) return;
        starts_.push_back(position);
        values_.push_back(value);
    }

    /// The range holding `address`, by a linear walk from `range` (the walk
    /// only ever moves forward while the index is built in order).
    std::size_t advance(std::size_t range, Key address) const noexcept {
        while (range + 1 < starts_.size() && starts_[range + 1] <= address) ++range;
        return range;
    }

    void build_index() {
        if (starts_.empty()) {
            starts_.push_back(Key{0});
            values_.push_back(no_value);
        }
        constexpr std::size_t buckets = std::size_t{1} << index_bits;
        index_.assign(buckets + 1, bucket{0, 0});
        level2_.clear();
        std::size_t range = 0;
        for (std::size_t b = 0; b < buckets; ++b) {
            range = advance(range, static_cast<Key>(static_cast<Key>(b) << shift));
            index_[b].first = static_cast<std::uint32_t>(range);
        }
        index_[buckets].first = static_cast<std::uint32_t>(starts_.size() - 1);
        for (std::size_t b = 0; b < buckets; ++b) {
            if (index_[b + 1].first - index_[b].first <= crowded) continue;
            index_[b].level2 = static_cast<std::uint32_t>(level2_.size() / level2_size + 1);
            std::size_t r = index_[b].first;
            for (std::size_t s = 0; s + 1 < level2_size; ++s) {
                r = advance(r, static_cast<Key>(static_cast<Key>(b) << shift | static_cast<Key>(s) << shift2));
                level2_.push_back(static_cast<std::uint32_t>(r));
            }
            level2_.push_back(index_[b + 1].first);
        }
        level2_.shrink_to_fit();
    }

    std::size_t find_range(Key key) const noexcept {
        const std::size_t b = static_cast<std::size_t>(key >> shift);
        std::size_t lo;
        std::size_t count;  // candidates after lo
        if (const std::uint32_t block = index_[b].level2) {
            const std::uint32_t* sub = level2_.data() + (block - 1) * level2_size;
            const std::size_t s = static_cast<std::size_t>(key >> shift2) & ((std::size_t{1} << level2_bits) - 1);
            lo = sub[s];
            count = sub[s + 1] - lo;
        } else {
            lo = index_[b].first;
            count = index_[b + 1].first - lo;
        }
        // Branch-light binary search for the last start <= key among
        // starts_[lo+1 .. lo+count]; starts_[lo] <= key holds by construction.
        const Key* base = starts_.data() + lo;
        while (count > 0) {
            const std::size_t half = (count + 1) / 2;
            if (base[half] <= key) {
                base += half;
                count -= half;
            } else {
                count = half - 1;
            }
        }
        return static_cast<std::size_t>(base - starts_.data());
    }

    std::vector<Key> starts_;
    std::vector<std::uint32_t> values_;
    std::vector<bucket> index_;
    std::vector<std::uint32_t> level2_;  // blocks of level2_size range numbers
};

using lpm_table_v4 = lpm_table<std::uint32_t>;
using lpm_table_v6 = lpm_table<uint128>;

}  // namespace registry_redirector
