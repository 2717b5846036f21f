#pragma once
/// Memory for connection sessions that goes back to the system when they
/// close. Sessions are carved as equal blocks out of 64 KiB chunks mapped
/// from the kernel (mmap), and a chunk is unmapped as soon as its last block
/// is freed.
///
/// Why not malloc: sessions are allocated interleaved with the small socket
/// state Asio keeps (and reuses) for every descriptor, so after a storm of
/// connections each heap page still holds a live piece of it and neither
/// glibc nor malloc_trim can return the pages; RSS stayed at the storm's
/// peak (issue 16). Kept apart, the sessions' memory comes back whole.
///
/// Thread safety: none, except chunks(); one arena per I/O thread, used on
/// that thread only.

#include <atomic>
#include <cstddef>
#include <new>

namespace registry_redirector {

class slab_arena {
public:
    static constexpr std::size_t chunk_bytes = 64 * 1024;

    slab_arena() = default;
    /// Unmaps every chunk. Precondition: every block has been freed.
    ~slab_arena();
    slab_arena(const slab_arena&) = delete;
    slab_arena& operator=(const slab_arena&) = delete;

    /// A block of `size` bytes, aligned to alignof(std::max_align_t). The
    /// first call fixes the block size; a different size, or one too large
    /// for a chunk, comes from operator new instead. Throws std::bad_alloc.
    void* allocate(std::size_t size);
    /// Returns a block from allocate() with the same `size`.
    void deallocate(void* p, std::size_t size) noexcept;

    /// Chunks mapped now; may be read from any thread.
    std::size_t chunks() const noexcept { return chunks_.load(std::memory_order_relaxed); }
    std::size_t blocks_in_use() const noexcept { return in_use_; }

private:
    struct chunk;
    chunk* map_chunk();
    void unmap_chunk(chunk* c) noexcept;
    void link(chunk* c) noexcept;
    void unlink(chunk* c) noexcept;

    std::size_t block_ = 0;       // block size, fixed by the first allocation
    chunk* partial_ = nullptr;    // chunks with a free block (doubly linked)
    chunk* spare_ = nullptr;      // one empty chunk kept to avoid mmap churn
    std::atomic<std::size_t> chunks_{0};
    std::size_t in_use_ = 0;
};

/// A standard allocator over a slab_arena (for std::allocate_shared).
template <class T>
class slab_allocator {
public:
    using value_type = T;
    explicit slab_allocator(slab_arena& arena) noexcept : arena_(&arena) {}
    template <class U>
    slab_allocator(const slab_allocator<U>& other) noexcept : arena_(other.arena()) {}

    T* allocate(std::size_t n) { return static_cast<T*>(arena_->allocate(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) noexcept { arena_->deallocate(p, n * sizeof(T)); }

    slab_arena* arena() const noexcept { return arena_; }
    template <class U>
    bool operator==(const slab_allocator<U>& other) const noexcept {
        return arena_ == other.arena();
    }

private:
    slab_arena* arena_;
};

}  // namespace registry_redirector
