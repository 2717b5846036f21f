#pragma once
/// Longest-prefix match over one address family: the prefixes compiled into
/// disjoint address ranges, and a multibit trie over those ranges whose
/// leaves hold the answer itself.
///
/// Why this structure: the server only ever asks "which value (provider, or
/// none) does this address get?". A set of prefixes, where the most specific
/// one wins, partitions the address space into disjoint ranges, each with one
/// value; merging neighbours with equal values leaves far fewer ranges than
/// prefixes (the whole 2026 Internet table resolves to about eleven thousand
/// redirect ranges). The ranges are the ground truth: "IP lookups using
/// multiway and multicolumn search", Lampson, Srinivasan and Varghese,
/// IEEE/ACM Trans. Networking 7(3), 1999.
///
/// The lookup structure over them is a fixed-stride multibit trie with leaf
/// pushing ("Fast address lookups using controlled prefix expansion",
/// Srinivasan and Varghese, ACM TOCS 17(1), 1999): a 2^16-entry root indexed
/// by the top 16 bits, as in DIR-24-8 (Gupta, Lin and McKeown, INFOCOM 1998)
/// but narrower to stay small, then 256-entry nodes, one per 8 further bits,
/// only where a slot still holds more than one range. Every slot is one
/// 32-bit word: the value itself (most lookups end at the root), a child
/// node, or, once the node budget is spent, a span of ranges to binary
/// search. So a lookup is one memory read per 8 bits of distinguishing
/// prefix and no key comparisons: the whole-Internet IPv4 table answers in
/// at most three reads, its IPv6 table (prefixes up to /48) in at most five.
///
/// The node budget bounds memory for any input: a crafted table of host
/// routes cannot make the trie grow past a quarter of a node (256 bytes) per
/// range and level, nor past 16 MiB; past it, slots fall back to a binary
/// search of their ranges, which stays correct.
///
/// Thread safety: immutable after build; any number of threads may look up.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <vector>

#include "registry_redirector/net/ip_address.hpp"

namespace registry_redirector {

template <class Key>
class lpm_table {
public:
    static constexpr unsigned key_bits = sizeof(Key) * 8;
    static constexpr std::uint32_t no_value = 0xffffffffu;
    /// Values are stored in 31 bits of a trie slot.
    static constexpr std::uint32_t max_value = 0x7ffffffeu;

    struct entry {
        Key network{};             ///< host bits zero
        std::uint8_t length = 0;   ///< 0..key_bits
        std::uint32_t value = 0;   ///< 0..max_value
    };

    lpm_table() { build_index(); }

    /// Builds the table. Entries may come in any order. `background` is the
    /// value of addresses no prefix holds (no_value: lookup() says nothing);
    /// giving it the value most prefixes have lets their ranges merge.
    /// Throws std::invalid_argument on a duplicate prefix, host bits set, a
    /// bad length or a value above max_value: callers resolve those first.
    static lpm_table build(std::vector<entry> entries, std::uint32_t background = no_value) {
        if (background != no_value && background > max_value)
            throw std::invalid_argument("lpm_table: background value out of range");
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
            if (e.length > key_bits || e.value > max_value)
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
        const std::uint32_t v = find(key);
        return v == no_value ? fallback : v;
    }

    std::optional<std::uint32_t> lookup(Key key) const noexcept {
        const std::uint32_t v = find(key);
        if (v == no_value) return std::nullopt;
        return v;
    }

    /// Number of disjoint ranges after merging equal neighbours.
    std::size_t range_count() const noexcept { return starts_.size(); }
    /// Number of 256-slot trie nodes below the root.
    std::size_t node_count() const noexcept { return nodes_.size() >> stride; }
    /// Number of slots that fell back to a binary search (node budget spent).
    std::size_t span_count() const noexcept { return spans_.size(); }

    std::size_t memory_bytes() const noexcept {
        return starts_.capacity() * sizeof(Key) + values_.capacity() * sizeof(std::uint32_t) +
               (root_.capacity() + nodes_.capacity()) * sizeof(std::uint32_t) + spans_.capacity() * sizeof(span);
    }

    /// Range i covers [range_start(i), range_start(i+1)) and has range_value(i).
    Key range_start(std::size_t i) const noexcept { return starts_[i]; }
    std::uint32_t range_value(std::size_t i) const noexcept { return values_[i]; }

private:
    struct unindexed {};
    explicit lpm_table(unindexed) {}  // build() indexes once it has the ranges

    static constexpr Key max_key = static_cast<Key>(~Key{0});
    static constexpr unsigned root_bits = 16;
    static constexpr unsigned root_shift = key_bits - root_bits;
    static constexpr unsigned stride = 8;
    static constexpr std::size_t node_slots = std::size_t{1} << stride;
    static constexpr std::size_t max_nodes = std::size_t{1} << 14;  // 16 MiB

    // A slot: 0xxx.. a value (leaf_none: no value), 10xx.. a child node,
    // 11xx.. a span of ranges to search; 30 bits of payload.
    static constexpr std::uint32_t leaf_none = 0x7fffffffu;
    static constexpr std::uint32_t child_tag = 0x80000000u;
    static constexpr std::uint32_t span_tag = 0xc0000000u;
    static constexpr std::uint32_t payload = 0x3fffffffu;

    struct span {
        std::uint32_t first;  ///< the range holding the slot's first address
        std::uint32_t count;  ///< further ranges starting inside the slot
    };

    struct pending_node {  // while building: a node whose slots are not filled yet
        Key base;
        unsigned shift;     ///< of the node's slots: each covers 2^shift keys
        std::size_t range;  ///< the range holding `base`
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

    /// The range holding `address`, by a linear walk from `range` (callers
    /// walk forward through one node's slots, so the total is linear).
    std::size_t advance(std::size_t range, Key address) const noexcept {
        while (range + 1 < starts_.size() && starts_[range + 1] <= address) ++range;
        return range;
    }

    void build_index() {
        if (starts_.empty()) {
            starts_.push_back(Key{0});
            values_.push_back(no_value);
        }
        // A quarter of a node per range and level below the root, and never
        // more than 16 MiB: real tables need far less (the whole Internet's
        // redirect ranges: 0.2 nodes per range for IPv4, 0.65 for IPv6);
        // crafted ones fall back to spans beyond it.
        constexpr std::size_t levels = (key_bits - root_bits) / stride;
        const std::size_t node_budget = std::min<std::size_t>(max_nodes, 64 + starts_.size() * levels / 4);
        levels_ = 0;
        std::vector<pending_node> queue;  // breadth first: shallow nodes first
        root_.assign(std::size_t{1} << root_bits, 0);
        nodes_.clear();
        spans_.clear();
        fill(root_.data(), root_.size(), Key{0}, root_shift, 0, queue, node_budget);
        for (std::size_t next = 0; next < queue.size(); ++next) {
            const pending_node p = queue[next];
            levels_ = std::max(levels_, (root_shift - p.shift) / stride);
            nodes_.resize(nodes_.size() + node_slots);
            fill(nodes_.data() + next * node_slots, node_slots, p.base, p.shift, p.range, queue, node_budget);
        }
        root_.shrink_to_fit();
        nodes_.shrink_to_fit();
        spans_.shrink_to_fit();
    }

    /// Fills `count` slots of 2^shift keys each, from `base`; `range` holds
    /// `base`. Slots that need a node are queued for the next level.
    void fill(std::uint32_t* slots, std::size_t count, Key base, unsigned shift, std::size_t range,
              std::vector<pending_node>& queue, std::size_t node_budget) {
        const Key width_less_one = static_cast<Key>((Key{1} << shift) - 1);
        for (std::size_t s = 0; s < count; ++s) {
            const Key first = static_cast<Key>(base | static_cast<Key>(static_cast<Key>(s) << shift));
            range = advance(range, first);
            const std::size_t last_range = advance(range, static_cast<Key>(first | width_less_one));
            if (last_range == range) {
                slots[s] = values_[range] == no_value ? leaf_none : values_[range];
            } else if (shift >= stride && queue.size() < node_budget) {
                slots[s] = child_tag | static_cast<std::uint32_t>(queue.size());
                queue.push_back({first, shift - stride, range});
            } else {
                slots[s] = span_tag | static_cast<std::uint32_t>(spans_.size());
                spans_.push_back({static_cast<std::uint32_t>(range), static_cast<std::uint32_t>(last_range - range)});
            }
            range = last_range;
        }
    }

    std::uint32_t find(Key key) const noexcept {
        std::uint32_t slot = root_[static_cast<std::size_t>(key >> root_shift)];
        if ((slot >> 30) == (child_tag >> 30)) slot = descend(slot, key);
        if (slot < child_tag) return slot == leaf_none ? no_value : slot;
        return values_[search(spans_[slot & payload], key)];
    }

    /// Follows child slots below the root for a fixed number of steps, the
    /// table's depth, with no branch on the slot: lookups end at different
    /// depths (a cloud's /32 after two levels, its /48 after four), and a
    /// mispredicted loop exit costs more than the extra reads, which a
    /// finished walk aims at slot 0 of node 0 (always in L1). Without the
    /// branch, consecutive lookups overlap in the CPU; this took the
    /// provider-drawn IPv6 lookups from 14 to under 10 ns (bench/README.md).
    /// Each level takes the next byte of the key from memory: shifting a
    /// 128-bit key by a variable count is several instructions.
    std::uint32_t descend(std::uint32_t slot, Key key) const noexcept {
        unsigned char bytes[sizeof(Key)];
        std::memcpy(bytes, &key, sizeof(Key));
        const bool little = std::endian::native == std::endian::little;
        for (unsigned level = 0; level < levels_; ++level) {
            const bool more = (slot >> 30) == (child_tag >> 30);
            const std::size_t keep = 0 - static_cast<std::size_t>(more);
            const unsigned char next = bytes[little ? sizeof(Key) - 3 - level : 2 + level];
            const std::uint32_t read = nodes_[((std::size_t{slot & payload} << stride) | next) & keep];
            slot = (read & static_cast<std::uint32_t>(keep)) | (slot & ~static_cast<std::uint32_t>(keep));
        }
        return slot;
    }

    /// Branch-light binary search for the last range start <= key among the
    /// span's ranges; the first one's start <= key holds by construction.
    std::size_t search(span s, Key key) const noexcept {
        const Key* base = starts_.data() + s.first;
        std::size_t count = s.count;
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
    std::vector<std::uint32_t> root_;   // 2^root_bits slots
    std::vector<std::uint32_t> nodes_;  // node n: slots [n * node_slots, (n + 1) * node_slots)
    std::vector<span> spans_;
    unsigned levels_ = 0;  // node levels below the root
};

using lpm_table_v4 = lpm_table<std::uint32_t>;
using lpm_table_v6 = lpm_table<uint128>;

}  // namespace registry_redirector
