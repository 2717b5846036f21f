#include "registry_redirector/routing/blob_existence_cache.hpp"

#include <algorithm>
#include <cstring>
#include <random>

namespace registry_redirector {

blob_existence_cache::blob_existence_cache(std::size_t max_entries)
    : seed_(std::random_device{}() * 0x9e3779b97f4a7c15ull ^ std::random_device{}()),
      shards_(std::make_unique<shard[]>(shard_count)) {
    const std::size_t per_shard = std::max<std::size_t>(1, max_entries / shard_count);
    for (std::size_t i = 0; i < shard_count; ++i) {
        shards_[i].slots.resize(per_shard);
        shards_[i].index.reserve(per_shard);
    }
}

namespace {

constexpr std::uint64_t finalize(std::uint64_t z) noexcept {  // SplitMix64's finaliser
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

}  // namespace

blob_existence_cache::fingerprint blob_existence_cache::fingerprint_of(std::string_view url) const noexcept {
    // Two independent multiply chains over 8-byte words: they run side by
    // side in the CPU, so 128 bits cost about what std::hash's 64 do. (Our
    // own because no Debian-packaged library offers a seeded 128-bit string
    // hash; Boost 1.81's hash is unseeded.)
    std::uint64_t a = seed_ ^ 0x9e3779b97f4a7c15ull;
    std::uint64_t b = ~seed_ ^ (url.size() * 0xc2b2ae3d27d4eb4full);
    const char* p = url.data();
    std::size_t n = url.size();
    auto step = [&a, &b](std::uint64_t w) noexcept {
        a = (a ^ w) * 0x9fb21c651e98df25ull;
        a ^= a >> 29;
        b = (b + w) * 0xd6e8feb86659fd93ull;
        b ^= b >> 32;
    };
    for (; n >= 8; p += 8, n -= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        step(w);
    }
    std::uint64_t tail = 0;
    std::memcpy(&tail, p, n);
    step(tail ^ (std::uint64_t{n} << 59));
    return {finalize(a ^ (b >> 1)), finalize(b + a)};
}

blob_verdict blob_existence_cache::find(std::string_view url, clock::time_point now) noexcept {
    const fingerprint f = fingerprint_of(url);
    shard& s = shard_for(f.key);
    std::lock_guard lock(s.mutex);
    const auto it = s.index.find(f.key);
    if (it != s.index.end()) {
        slot& e = s.slots[it->second];
        if (e.check == f.check && e.expires > now) {
            e.referenced = true;
            s.hits.fetch_add(1, std::memory_order_relaxed);
            return e.exists ? blob_verdict::exists : blob_verdict::missing;
        }
    }
    s.misses.fetch_add(1, std::memory_order_relaxed);
    return blob_verdict::unknown;
}

void blob_existence_cache::insert(std::string_view url, bool exists, clock::time_point expires) {
    const fingerprint f = fingerprint_of(url);
    shard& s = shard_for(f.key);
    std::lock_guard lock(s.mutex);
    std::uint32_t at;
    if (const auto it = s.index.find(f.key); it != s.index.end()) {
        at = it->second;  // the same URL again (or, once in 2^64, another with the same key: it takes the slot)
    } else {
        // Second chance: referenced slots lose their bit and are passed
        // over once; the first unreferenced (or empty) one is taken.
        for (;;) {
            slot& e = s.slots[s.hand];
            if (!e.used || !e.referenced) break;
            e.referenced = false;
            s.hand = (s.hand + 1) % s.slots.size();
        }
        at = static_cast<std::uint32_t>(s.hand);
        s.hand = (s.hand + 1) % s.slots.size();
        if (slot& old = s.slots[at]; old.used) {
            s.index.erase(old.key);
            s.evictions.fetch_add(1, std::memory_order_relaxed);
        }
        s.index.emplace(f.key, at);
    }
    s.slots[at] = slot{f.key, f.check, expires, exists, true, false};
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
