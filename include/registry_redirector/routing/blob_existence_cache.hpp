#pragma once
/// What we know about blob URLs on a mirror: exists (cached long), missing
/// (cached briefly), or unknown. Bounded: a CLOCK cache (second chance), so
/// a hit only sets a bit, where an LRU list would relink three nodes.
/// Sharded so that I/O threads rarely meet on one lock; a lookup allocates
/// nothing. Like health_board, it is state the I/O threads read and
/// mirrors/ writes (blob_checker), so it lives beside the snapshot.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <string_view>
#include <vector>

namespace registry_redirector {

enum class blob_verdict : std::uint8_t { unknown, exists, missing };

/// Thread safety: every member function may be called from any thread.
class blob_existence_cache {
public:
    using clock = std::chrono::steady_clock;

    /// Holds at most `max_entries` URLs (at least one per shard).
    explicit blob_existence_cache(std::size_t max_entries);

    /// The cached verdict, or unknown when absent or expired. noexcept,
    /// allocation-free.
    blob_verdict find(std::string_view url, clock::time_point now) noexcept;

    /// Records a verdict until `expires`; when the shard is full, the
    /// first entry the clock hand finds unused since its last pass goes.
    void insert(std::string_view url, bool exists, clock::time_point expires);

    /// Counts the outcome of a HEAD the checker sent (for metrics).
    void count_check(blob_verdict verdict) noexcept {
        checks_[static_cast<std::size_t>(verdict)].fetch_add(1, std::memory_order_relaxed);
    }
    /// HEADs sent whose answer was `verdict` (unknown: timeout or error).
    std::uint64_t checks(blob_verdict verdict) const noexcept {
        return checks_[static_cast<std::size_t>(verdict)].load(std::memory_order_relaxed);
    }

    std::uint64_t hits() const noexcept;
    std::uint64_t misses() const noexcept;
    std::uint64_t evictions() const noexcept;
    std::size_t size() const;

private:
    /// A URL is kept as a 128-bit fingerprint, not as text: a lookup then
    /// touches one index entry and one slot, and an entry costs ~60 bytes
    /// instead of the URL's length. Two URLs share a fingerprint with
    /// probability ~2^-128 per pair. Seeded per cache, so that nobody can
    /// craft URLs that pile into one bucket.
    struct fingerprint {
        std::uint64_t key;    ///< picks the shard (top bits), the index position (low bits) and the tag
        std::uint64_t check;  ///< compared on a hit
    };
    fingerprint fingerprint_of(std::string_view url) const noexcept;

    struct slot {
        std::uint64_t key = 0;
        std::uint64_t check = 0;
        clock::time_point expires{};
        bool exists = false;
        bool used = false;        ///< holds an entry
        bool referenced = false;  ///< hit since the clock hand last passed
    };
    /// Open addressing with linear probing over a power-of-two array at
    /// most half full: a hit is a mask, one or two probes of this 8-byte
    /// entry and one slot read. (std::unordered_map cost a prime modulo
    /// and a node chase per lookup: two thirds of a hit's cost, measured.)
    /// The index grows with the entries rather than being sized for
    /// max_entries up front: a cache holding a few thousand hot blobs then
    /// has an index that stays in the CPU cache.
    struct index_entry {
        std::uint32_t tag = 0;          ///< the key's high half, compared before the slot is read
        std::uint32_t slot_plus_one = 0;  ///< 0: empty
    };
    /// A test-and-test-and-set lock. Unlocking is a plain release store,
    /// where std::mutex pays a second locked instruction and two library
    /// calls: ~8 ns of a ~40 ns lookup. The sections it guards are a few
    /// dozen instructions (an index growth, rare, is the longest), and a
    /// waiter yields its time slice after a short spin.
    class spin_lock {
    public:
        void lock() noexcept {
            for (unsigned spins = 0; locked_.exchange(true, std::memory_order_acquire);)
                while (locked_.load(std::memory_order_relaxed))
                    if (++spins % 64 == 0) std::this_thread::yield();
        }
        void unlock() noexcept { locked_.store(false, std::memory_order_release); }

    private:
        std::atomic<bool> locked_{false};
    };
    struct alignas(64) shard {
        mutable spin_lock mutex;
        std::vector<slot> slots;  // sized at construction: never reallocates
        std::vector<index_entry> index;  // key -> slot; a power of two >= 2 * entries
        std::size_t entries = 0;
        std::size_t hand = 0;
        std::atomic<std::uint64_t> hits{0};
        std::atomic<std::uint64_t> misses{0};
        std::atomic<std::uint64_t> evictions{0};

        /// The index position holding `key`, or the empty one where it would go.
        std::size_t position_of(std::uint64_t key) const noexcept;
        void erase_at(std::size_t position) noexcept;
        void grow();  ///< doubles the index
    };
    static constexpr std::size_t shard_count = 16;
    shard& shard_for(std::uint64_t key) noexcept { return shards_[(key >> 58) % shard_count]; }

    std::uint64_t keys_[4];  ///< the fingerprint's secret keys, from std::random_device
    std::unique_ptr<shard[]> shards_;
    std::atomic<std::uint64_t> checks_[3] = {};
};

}  // namespace registry_redirector
