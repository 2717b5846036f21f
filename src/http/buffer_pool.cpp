#include "registry_redirector/http/buffer_pool.hpp"

#include <algorithm>

namespace registry_redirector {

buffer_pool::buffer_pool(std::size_t in_size, std::size_t out_reserve)
    : in_size_(in_size), out_reserve_(out_reserve) {}

std::unique_ptr<buffer_pool::buffers> buffer_pool::take() {
    ++in_use_;
    if (free_.empty()) {
        low_water_ = 0;
        auto b = std::make_unique<buffers>();
        b->in = std::make_unique<char[]>(in_size_);
        b->out.reserve(out_reserve_);
        return b;
    }
    auto b = std::move(free_.back());
    free_.pop_back();
    low_water_ = std::min(low_water_, free_.size());
    return b;
}

void buffer_pool::give(std::unique_ptr<buffers> b) noexcept {
    if (!b) return;
    --in_use_;
    b->out.clear();
    // The vector's capacity covers every set ever handed out once warm, so
    // this push_back does not allocate; if it must and cannot, the set is
    // simply freed.
    try {
        free_.push_back(std::move(b));
    } catch (...) {
    }
}

std::size_t buffer_pool::trim(std::size_t keep) noexcept {
    // The low-water mark counts sets that sat unused through the whole
    // period: freeing them cannot make the next period allocate more than
    // the last one did.
    const std::size_t spare = free_.size() > keep ? free_.size() - keep : 0;
    const std::size_t surplus = std::min(low_water_, spare);
    std::size_t freed = 0;
    for (std::size_t i = 0; i < surplus; ++i) {
        freed += in_size_ + free_.back()->out.capacity();
        free_.pop_back();
    }
    // The list itself grew to the peak (a pointer per set): shrink it, but
    // leave room for every set in use to come back without allocating.
    const std::size_t needed = free_.size() + in_use_ + keep;
    if (free_.capacity() > 2 * needed + 64) {
        try {
            std::vector<std::unique_ptr<buffers>> smaller;
            smaller.reserve(needed);
            for (auto& b : free_) smaller.push_back(std::move(b));
            free_.swap(smaller);
        } catch (...) {
        }
    }
    low_water_ = free_.size();
    return freed;
}

}  // namespace registry_redirector
