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
/// wide to keep it at 256 KiB, narrows the search to the ranges of one /16
/// bucket, and answers most lookups with no search at all.
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

    /// Builds the table. Entries may come in any order. Throws
    /// std::invalid_argument on a duplicate prefix, host bits set or a bad
    /// length: callers resolve those first.
    static lpm_table build(std::vector<entry> entries) {
        auto by_prefix = [](const entry& a, const entry& b) {
            return a.network != b.network ? a.network < b.network : a.length < b.length;
        };
        // Tables usually arrive sorted (routing resolves them in order): a
        // linear check saves an n log n sort of a million entries.
        if (!std::is_sorted(entries.begin(), entries.end(), by_prefix))
            std::sort(entries.begin(), entries.end(), by_prefix);
        lpm_table t;
        t.starts_.clear();
        t.values_.clear();
        t.emit(Key{0}, no_value);
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
                t.emit(finished + 1, open.empty() ? no_value : open.back().value);
            }
            t.emit(e.network, e.value);
            open.push_back({static_cast<Key>(e.network | ~mask(e.length)), e.value});
        }
        while (!open.empty()) {
            const Key finished = open.back().last;
            open.pop_back();
            if (finished != max_key) t.emit(finished + 1, open.empty() ? no_value : open.back().value);
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
               index_.capacity() * sizeof(std::uint32_t);
    }

    /// Range i covers [range_start(i), range_start(i+1)) and has range_value(i).
    Key range_start(std::size_t i) const noexcept { return starts_[i]; }
    std::uint32_t range_value(std::size_t i) const noexcept { return values_[i]; }

private:
    static constexpr Key max_key = static_cast<Key>(~Key{0});
    static constexpr unsigned shift = key_bits - index_bits;

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

    void build_index() {
        if (starts_.empty()) {
            starts_.push_back(Key{0});
            values_.push_back(no_value);
        }
        index_.assign((std::size_t{1} << index_bits) + 1, 0);
        std::size_t range = 0;
        for (std::size_t bucket = 0; bucket < (std::size_t{1} << index_bits); ++bucket) {
            const Key bucket_start = static_cast<Key>(static_cast<Key>(bucket) << shift);
            while (range + 1 < starts_.size() && starts_[range + 1] <= bucket_start) ++range;
            index_[bucket] = static_cast<std::uint32_t>(range);
        }
        index_.back() = static_cast<std::uint32_t>(starts_.size() - 1);
    }

    std::size_t find_range(Key key) const noexcept {
        const std::size_t bucket = static_cast<std::size_t>(key >> shift);
        std::size_t lo = index_[bucket];
        std::size_t count = index_[bucket + 1] - lo;  // candidates after lo
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
    std::vector<std::uint32_t> index_;
};

using lpm_table_v4 = lpm_table<std::uint32_t>;
using lpm_table_v6 = lpm_table<uint128>;

}  // namespace registry_redirector
