#pragma once
/// Publishes immutable snapshots from one writer (the loader) to many
/// readers (the I/O threads).

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

namespace registry_redirector {

/// Readers never touch the shared_ptr control block per request: each I/O
/// thread keeps a `reader` that re-fetches the snapshot only when the
/// generation counter moves, so the hot path is one uncontended atomic load
/// of a cache line that changes only on reload.
/// Thread safety: publish/load/generation from any thread; a reader belongs
/// to one thread.
template <class T>
class snapshot_store {
public:
    void publish(std::shared_ptr<const T> snapshot) {
        {
            std::lock_guard lock(mutex_);
            current_ = std::move(snapshot);
        }
        generation_.fetch_add(1, std::memory_order_release);
    }

    std::shared_ptr<const T> load() const {
        std::lock_guard lock(mutex_);
        return current_;
    }

    /// 0 until the first publish.
    std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

    class reader {
    public:
        explicit reader(const snapshot_store& store) : store_(store) {}

        /// The current snapshot, or nullptr before the first publish. The
        /// pointer stays valid until this reader's next call.
        const T* get() {
            const std::uint64_t g = store_.generation();
            if (g != seen_) {
                cached_ = store_.load();
                seen_ = g;
            }
            return cached_.get();
        }

        /// Shares what get() last returned: for a request that must outlive
        /// the next call (one waiting for a blob existence check).
        std::shared_ptr<const T> share() const noexcept { return cached_; }

    private:
        const snapshot_store& store_;
        std::uint64_t seen_ = 0;
        std::shared_ptr<const T> cached_;
    };

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const T> current_;
    alignas(64) std::atomic<std::uint64_t> generation_{0};
};

}  // namespace registry_redirector
