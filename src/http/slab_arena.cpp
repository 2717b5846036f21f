#include "registry_redirector/http/slab_arena.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <new>
#include <utility>

namespace registry_redirector {

/// The header at the start of every chunk; blocks follow it. A free block
/// holds the next free block's address in its first word.
struct slab_arena::chunk {
    chunk* prev = nullptr;
    chunk* next = nullptr;
    void* free_list = nullptr;  // blocks freed since the chunk was mapped
    std::size_t bump = 0;       // offset of the first block never handed out
    std::size_t used = 0;
    bool linked = false;        // in partial_
};

namespace {

constexpr std::size_t align = alignof(std::max_align_t);
constexpr std::size_t round_up(std::size_t n, std::size_t to) noexcept { return (n + to - 1) / to * to; }
constexpr std::size_t first_block = 64;  // the chunk header, rounded to a cache line

}  // namespace

slab_arena::~slab_arena() {
    while (partial_ != nullptr) {
        chunk* c = partial_;
        unlink(c);
        unmap_chunk(c);
    }
    if (spare_ != nullptr) unmap_chunk(spare_);
}

void* slab_arena::allocate(std::size_t size) {
    const std::size_t rounded = round_up(size < sizeof(void*) ? sizeof(void*) : size, align);
    if (block_ == 0 && rounded <= (chunk_bytes - first_block) / 8) block_ = rounded;
    if (rounded != block_) return ::operator new(size);
    chunk* c = partial_;
    if (c == nullptr) {
        c = spare_ != nullptr ? std::exchange(spare_, nullptr) : map_chunk();
        link(c);
    }
    void* p;
    if (c->free_list != nullptr) {
        p = c->free_list;
        c->free_list = *static_cast<void**>(p);
    } else {
        p = reinterpret_cast<char*>(c) + c->bump;
        c->bump += block_;
    }
    ++c->used;
    ++in_use_;
    if (c->free_list == nullptr && c->bump + block_ > chunk_bytes) unlink(c);  // full
    return p;
}

void slab_arena::deallocate(void* p, std::size_t size) noexcept {
    if (p == nullptr) return;
    const std::size_t rounded = round_up(size < sizeof(void*) ? sizeof(void*) : size, align);
    if (rounded != block_) {
        ::operator delete(p);
        return;
    }
    auto* c = reinterpret_cast<chunk*>(reinterpret_cast<std::uintptr_t>(p) & ~(std::uintptr_t{chunk_bytes} - 1));
    *static_cast<void**>(p) = c->free_list;
    c->free_list = p;
    --c->used;
    --in_use_;
    if (c->used == 0) {
        if (c->linked) unlink(c);
        if (spare_ == nullptr) {  // keep one, reset, for the next connection
            c->free_list = nullptr;
            c->bump = first_block;
            spare_ = c;
        } else {
            unmap_chunk(c);
        }
        return;
    }
    if (!c->linked) link(c);  // it was full
}

slab_arena::chunk* slab_arena::map_chunk() {
    // Map twice the size and keep the aligned middle, so that a block's chunk
    // is found by masking its address.
    void* raw = ::mmap(nullptr, 2 * chunk_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = round_up(start, chunk_bytes);
    if (aligned > start) ::munmap(raw, aligned - start);
    const std::uintptr_t end = start + 2 * chunk_bytes;
    if (end > aligned + chunk_bytes) ::munmap(reinterpret_cast<void*>(aligned + chunk_bytes), end - aligned - chunk_bytes);
    static_assert(sizeof(chunk) <= first_block, "the chunk header must fit before the first block");
    auto* c = new (reinterpret_cast<void*>(aligned)) chunk;
    c->bump = first_block;
    chunks_.fetch_add(1, std::memory_order_relaxed);
    return c;
}

void slab_arena::unmap_chunk(chunk* c) noexcept {
    c->~chunk();
    ::munmap(c, chunk_bytes);
    chunks_.fetch_sub(1, std::memory_order_relaxed);
}

void slab_arena::link(chunk* c) noexcept {
    c->prev = nullptr;
    c->next = partial_;
    if (partial_ != nullptr) partial_->prev = c;
    partial_ = c;
    c->linked = true;
}

void slab_arena::unlink(chunk* c) noexcept {
    if (c->prev != nullptr) c->prev->next = c->next; else partial_ = c->next;
    if (c->next != nullptr) c->next->prev = c->prev;
    c->prev = c->next = nullptr;
    c->linked = false;
}

}  // namespace registry_redirector
