#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "registry_redirector/http/slab_arena.hpp"

namespace registry_redirector {
namespace {

TEST(SlabArenaTest, ChunksGoBackWhenTheirLastBlockIsFreed) {
    slab_arena arena;
    constexpr std::size_t size = 700;  // about a session
    std::vector<void*> blocks;
    for (int i = 0; i < 1000; ++i) {
        void* p = arena.allocate(size);
        ASSERT_EQ(reinterpret_cast<std::uintptr_t>(p) % alignof(std::max_align_t), 0u);
        std::memset(p, i & 0xff, size);  // the whole block is writable
        blocks.push_back(p);
    }
    const std::size_t peak = arena.chunks();
    EXPECT_GE(peak, 1000 * size / slab_arena::chunk_bytes);
    EXPECT_LE(peak, 1000 * size / slab_arena::chunk_bytes + 2);
    EXPECT_EQ(arena.blocks_in_use(), 1000u);
    // Blocks do not overlap.
    for (int i = 0; i < 1000; i += 97) EXPECT_EQ(static_cast<unsigned char*>(blocks[i])[size - 1], i & 0xff);
    for (void* p : blocks) arena.deallocate(p, size);
    EXPECT_EQ(arena.blocks_in_use(), 0u);
    EXPECT_EQ(arena.chunks(), 1u);  // one spare is kept
}

TEST(SlabArenaTest, FreedBlocksAreReusedAndOtherSizesUseTheHeap) {
    slab_arena arena;
    void* a = arena.allocate(100);
    void* b = arena.allocate(100);
    arena.deallocate(a, 100);
    EXPECT_EQ(arena.allocate(100), a);  // the freed block first
    void* other = arena.allocate(300);  // another size: not from the slab
    EXPECT_EQ(arena.blocks_in_use(), 2u);
    arena.deallocate(other, 300);
    void* huge = arena.allocate(slab_arena::chunk_bytes);
    arena.deallocate(huge, slab_arena::chunk_bytes);
    arena.deallocate(a, 100);
    arena.deallocate(b, 100);
    EXPECT_EQ(arena.blocks_in_use(), 0u);
}

}  // namespace
}  // namespace registry_redirector
