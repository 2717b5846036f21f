#pragma once
/// The request and response buffers of busy connections, pooled per I/O
/// thread. A connection takes a set when bytes arrive and gives it back as
/// soon as it has nothing buffered, so an idle keep-alive connection holds
/// no buffer at all (NGINX frees its buffers on idle keep-alive connections
/// for the same reason). The pool keeps what was given back for the next
/// connection: once warm, take() and give() do not allocate.
///
/// After a burst the pool would keep its peak size for good; trim() frees the
/// sets that stayed unused for a whole period (the free list's low-water
/// mark), so memory follows the load down without churning under a steady
/// one.
/// Thread safety: none; one pool per I/O thread.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace registry_redirector {

class buffer_pool {
public:
    /// What a busy connection holds.
    struct buffers {
        std::unique_ptr<char[]> in;  ///< received bytes, `in_size` of them
        std::string out;             ///< responses waiting to be written
    };

    /// `in_size` bytes of input per set; `out_reserve` of output to start
    /// with (it grows with pipelined batches and keeps its size in the pool).
    buffer_pool(std::size_t in_size, std::size_t out_reserve);

    std::size_t in_size() const noexcept { return in_size_; }

    /// A set with an empty `out`. Allocates only when none is free.
    std::unique_ptr<buffers> take();

    /// Keeps `b` for reuse (its `out` is cleared). Null is ignored.
    void give(std::unique_ptr<buffers> b) noexcept;

    /// Frees the free sets that none of the take() calls since the last
    /// trim() needed, keeping at least `keep` free. Returns the bytes freed
    /// (approximately: input buffers and output capacity).
    std::size_t trim(std::size_t keep) noexcept;

    std::size_t free_count() const noexcept { return free_.size(); }
    std::size_t in_use() const noexcept { return in_use_; }

private:
    std::size_t in_size_;
    std::size_t out_reserve_;
    std::vector<std::unique_ptr<buffers>> free_;
    std::size_t in_use_ = 0;
    std::size_t low_water_ = 0;  // fewest free sets since the last trim()
};

}  // namespace registry_redirector
