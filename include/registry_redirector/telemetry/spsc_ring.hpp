#pragma once
/// A bounded single-producer single-consumer ring of fixed-size records: an
/// I/O thread fills records in place and never waits; one consumer thread
/// drains them. Used by the access log and the span exporter.

#include <atomic>
#include <cstddef>
#include <vector>

namespace registry_redirector {

/// Thread safety: claim/commit from one producer thread, drain from one
/// consumer thread.
template <class Record>
class spsc_ring {
public:
    explicit spsc_ring(std::size_t capacity) : records_(capacity) {}

    /// The next free slot, or nullptr when full. Fill it, then commit().
    Record* claim() noexcept {
        const std::size_t head = head_.load(std::memory_order_relaxed);
        if (head - tail_.load(std::memory_order_acquire) >= records_.size()) return nullptr;
        return &records_[head % records_.size()];
    }
    void commit() noexcept { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

    /// Consumer side: calls f for up to `limit` committed records, oldest
    /// first, then frees them. Returns how many.
    template <class F>
    std::size_t drain(F&& f, std::size_t limit = static_cast<std::size_t>(-1)) {
        const std::size_t tail = tail_.load(std::memory_order_relaxed);
        std::size_t head = head_.load(std::memory_order_acquire);
        if (head - tail > limit) head = tail + limit;
        for (std::size_t i = tail; i != head; ++i) f(records_[i % records_.size()]);
        tail_.store(head, std::memory_order_release);
        return head - tail;
    }

private:
    std::vector<Record> records_;
    alignas(64) std::atomic<std::size_t> head_{0};  // written by the producer
    alignas(64) std::atomic<std::size_t> tail_{0};  // written by the consumer
};

}  // namespace registry_redirector
