#pragma once
/// The per-mirror state the I/O threads read on every request: up or down
/// (from the probes) and drained (an operator's override). Probes flip bits;
/// nothing is rebuilt, and a reader takes no lock: two relaxed loads of words
/// that change only when a mirror's health does.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace registry_redirector {

/// Thread safety: any thread may read or write any bit; each write is one
/// atomic read-modify-write of the word holding it.
class health_board {
public:
    explicit health_board(std::size_t mirrors)
        : size_(mirrors), words_((mirrors + 63) / 64),
          down_(std::make_unique<std::atomic<std::uint64_t>[]>(words_)),
          drained_(std::make_unique<std::atomic<std::uint64_t>[]>(words_)) {
        for (std::size_t w = 0; w < words_; ++w) {
            down_[w].store(0, std::memory_order_relaxed);
            drained_[w].store(0, std::memory_order_relaxed);
        }
    }

    std::size_t size() const noexcept { return size_; }

    /// Up and not drained: may be sent clients.
    bool usable(std::size_t mirror) const noexcept {
        const auto bit = mask(mirror);
        return ((down_[mirror / 64].load(std::memory_order_relaxed) |
                 drained_[mirror / 64].load(std::memory_order_relaxed)) & bit) == 0;
    }
    bool up(std::size_t mirror) const noexcept { return !test(down_, mirror); }
    /// True when no mirror is down or drained: the common case, in which a
    /// request needs no failover bookkeeping.
    bool all_usable() const noexcept {
        for (std::size_t w = 0; w < words_; ++w)
            if ((down_[w].load(std::memory_order_relaxed) | drained_[w].load(std::memory_order_relaxed)) != 0)
                return false;
        return true;
    }
    bool drained(std::size_t mirror) const noexcept { return test(drained_, mirror); }

    void set_up(std::size_t mirror, bool up) noexcept { assign(down_, mirror, !up); }
    void set_drained(std::size_t mirror, bool drained) noexcept { assign(drained_, mirror, drained); }

private:
    using words = std::unique_ptr<std::atomic<std::uint64_t>[]>;
    static std::uint64_t mask(std::size_t i) noexcept { return std::uint64_t{1} << (i % 64); }
    static bool test(const words& w, std::size_t i) noexcept {
        return (w[i / 64].load(std::memory_order_relaxed) & mask(i)) != 0;
    }
    static void assign(words& w, std::size_t i, bool set) noexcept {
        if (set) w[i / 64].fetch_or(mask(i), std::memory_order_relaxed);
        else w[i / 64].fetch_and(~mask(i), std::memory_order_relaxed);
    }

    std::size_t size_;
    std::size_t words_;
    words down_;
    words drained_;
};

}  // namespace registry_redirector
