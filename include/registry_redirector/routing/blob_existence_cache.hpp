#pragma once
/// What we know about blob URLs on a mirror: exists (cached long), missing
/// (cached briefly), or unknown. Bounded: least recently used entries go
/// first. Sharded so that I/O threads rarely meet on one lock; a lookup
/// allocates nothing. Like health_board, it is state the I/O threads read
/// and mirrors/ writes (blob_checker), so it lives beside the snapshot.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace registry_redirector {

enum class blob_verdict : std::uint8_t { unknown, exists, missing };

/// Thread safety: every member function may be called from any thread.
class blob_existence_cache {
public:
    using clock = std::chrono::steady_clock;

    /// Holds at most `max_entries` URLs (at least one per shard).
    explicit blob_existence_cache(std::size_t max_entries);

    /// The cached verdict, or unknown when absent or expired. A hit moves the
    /// entry to the front. noexcept, allocation-free.
    blob_verdict find(std::string_view url, clock::time_point now) noexcept;

    /// Records a verdict until `expires`, evicting the least recently used
    /// entry of the shard when it is full.
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
    struct entry {
        std::string url;
        bool exists = false;
        clock::time_point expires;
    };
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    struct alignas(64) shard {
        mutable std::mutex mutex;
        std::list<entry> lru;  // front = most recently used
        std::unordered_map<std::string_view, std::list<entry>::iterator, string_hash, std::equal_to<>> index;
        std::size_t capacity = 0;
        std::atomic<std::uint64_t> hits{0};
        std::atomic<std::uint64_t> misses{0};
        std::atomic<std::uint64_t> evictions{0};
    };
    static constexpr std::size_t shard_count = 16;
    shard& shard_for(std::string_view url) noexcept;

    std::unique_ptr<shard[]> shards_;
    std::atomic<std::uint64_t> checks_[3] = {};
};

}  // namespace registry_redirector
