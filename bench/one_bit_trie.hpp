#pragma once
/// The baseline for the lookup benchmark: a plain one-bit binary radix trie,
/// the structure of NGINX's ngx_radix_tree (src/core/ngx_radix_tree.c, used by
/// ngx_http_geo_module in CIDR mode) and of the classic BSD radix tree without
/// path compression. One node per bit, two child pointers, a parent pointer
/// and a value per node; a lookup walks from the root one bit at a time,
/// remembering the last value seen, until it falls off the tree.
///
/// Like NGINX, nodes come from large pools (ngx_radix_alloc carves them out of
/// pages), not from one malloc per node, and a node has the same 32-byte
/// layout as ngx_radix_node_t {right, left, parent, value}. Insertion follows
/// ngx_radix32tree_insert / ngx_radix128tree_insert. NGINX's optional
/// preallocation of the top levels is left out: it only creates empty nodes
/// that the inserts below would create anyway.
///
/// Bench code only: no deletion, no error handling beyond a duplicate check.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "registry_redirector/net/ip_address.hpp"

namespace registry_redirector::bench {

class one_bit_trie {
public:
    static constexpr std::uintptr_t no_value = ~std::uintptr_t{0};  // NGX_RADIX_NO_VALUE

    one_bit_trie() : root4_(new_node(nullptr)), root6_(new_node(nullptr)) {}
    one_bit_trie(const one_bit_trie&) = delete;
    one_bit_trie& operator=(const one_bit_trie&) = delete;

    /// Returns false if the prefix already had a value (it is then left alone).
    bool insert_v4(std::uint32_t network, unsigned length, std::uintptr_t value) {
        return insert_bits(root4_, static_cast<uint128>(network) << 96, length, value);
    }
    bool insert_v6(uint128 network, unsigned length, std::uintptr_t value) {
        return insert_bits(root6_, network, length, value);
    }

    /// ngx_radix32tree_find: the value of the deepest node on the path that
    /// has one, or no_value.
    std::uintptr_t find_v4(std::uint32_t key) const noexcept {
        std::uint32_t bit = 0x80000000u;
        std::uintptr_t value = no_value;
        const node* n = root4_;
        while (n) {
            if (n->value != no_value) value = n->value;
            n = (key & bit) ? n->right : n->left;
            bit >>= 1;
        }
        return value;
    }

    /// ngx_radix128tree_find (which walks the 16 bytes with a moving mask; a
    /// 128-bit shift is the same walk).
    std::uintptr_t find_v6(uint128 key) const noexcept {
        std::uintptr_t value = no_value;
        const node* n = root6_;
        while (n) {
            if (n->value != no_value) value = n->value;
            n = (key >> 127) ? n->right : n->left;
            key <<= 1;
        }
        return value;
    }

    std::uintptr_t find(const ip_address& a) const noexcept {
        return a.family == ip_family::v4 ? find_v4(a.v4) : find_v6(a.v6);
    }

    std::size_t node_count() const noexcept { return nodes_; }
    std::size_t memory_bytes() const noexcept { return pools_.size() * pool_nodes * sizeof(node); }

private:
    struct node {  // ngx_radix_node_t
        node* right;
        node* left;
        node* parent;
        std::uintptr_t value;
    };
    static constexpr std::size_t pool_nodes = 4096 * 32 / sizeof(node);  // 128 KiB pools

    node* new_node(node* parent) {
        if (pools_.empty() || used_ == pool_nodes) {
            pools_.push_back(std::make_unique<node[]>(pool_nodes));
            used_ = 0;
        }
        node* n = &pools_.back()[used_++];
        *n = node{nullptr, nullptr, parent, no_value};
        ++nodes_;
        return n;
    }

    /// `key` is left-aligned in 128 bits (an IPv4 key shifted up by 96).
    bool insert_bits(node* n, uint128 key, unsigned length, std::uintptr_t value) {
        for (unsigned depth = 0; depth < length; ++depth) {
            const bool right = (key >> (127 - depth)) & 1;
            node*& child = right ? n->right : n->left;
            if (!child) child = new_node(n);
            n = child;
        }
        if (n->value != no_value) return false;  // NGX_BUSY
        n->value = value;
        return true;
    }

    std::vector<std::unique_ptr<node[]>> pools_;
    std::size_t used_ = 0;
    std::size_t nodes_ = 0;
    node* root4_;
    node* root6_;
};

}  // namespace registry_redirector::bench
