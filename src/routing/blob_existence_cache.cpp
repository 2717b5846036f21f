#include "registry_redirector/routing/blob_existence_cache.hpp"

#include <algorithm>

namespace registry_redirector {

blob_existence_cache::blob_existence_cache(std::size_t max_entries) : shards_(std::make_unique<shard[]>(shard_count)) {
    const std::size_t per_shard = std::max<std::size_t>(1, max_entries / shard_count);
    for (std::size_t i = 0; i < shard_count; ++i) shards_[i].capacity = per_shard;
}

blob_existence_cache::shard& blob_existence_cache::shard_for(std::string_view url) noexcept {
    // The high bits pick the shard; the unordered_map uses the low ones.
    return shards_[(string_hash{}(url) >> 56) % shard_count];
}

blob_verdict blob_existence_cache::find(std::string_view url, clock::time_point now) noexcept {
    shard& s = shard_for(url);
    std::lock_guard lock(s.mutex);
    const auto it = s.index.find(url);
    if (it == s.index.end() || it->second->expires <= now) {
        s.misses.fetch_add(1, std::memory_order_relaxed);
        return blob_verdict::unknown;
    }
    s.lru.splice(s.lru.begin(), s.lru, it->second);  // no allocation: nodes move
    s.hits.fetch_add(1, std::memory_order_relaxed);
    return it->second->exists ? blob_verdict::exists : blob_verdict::missing;
}

void blob_existence_cache::insert(std::string_view url, bool exists, clock::time_point expires) {
    shard& s = shard_for(url);
    std::lock_guard lock(s.mutex);
    if (const auto it = s.index.find(url); it != s.index.end()) {
        it->second->exists = exists;
        it->second->expires = expires;
        s.lru.splice(s.lru.begin(), s.lru, it->second);
        return;
    }
    if (s.index.size() >= s.capacity) {
        s.index.erase(s.lru.back().url);
        s.lru.pop_back();
        s.evictions.fetch_add(1, std::memory_order_relaxed);
    }
    s.lru.push_front(entry{std::string(url), exists, expires});
    s.index.emplace(s.lru.front().url, s.lru.begin());  // the key views the node's own string
}

std::uint64_t blob_existence_cache::hits() const noexcept {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < shard_count; ++i) n += shards_[i].hits.load(std::memory_order_relaxed);
    return n;
}
std::uint64_t blob_existence_cache::misses() const noexcept {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < shard_count; ++i) n += shards_[i].misses.load(std::memory_order_relaxed);
    return n;
}
std::uint64_t blob_existence_cache::evictions() const noexcept {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < shard_count; ++i) n += shards_[i].evictions.load(std::memory_order_relaxed);
    return n;
}
std::size_t blob_existence_cache::size() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < shard_count; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        n += shards_[i].index.size();
    }
    return n;
}

}  // namespace registry_redirector
