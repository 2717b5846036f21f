#pragma once
/// A mirror's active health probe, as read from its provider file (the
/// `probe` key of a mirror). Plain data; `mirrors/` runs it.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace registry_redirector {

struct probe_config {
    std::string url;  ///< http:// or https://, absolute; any GET-able URL
    enum class http_method : std::uint8_t { get, head } method = http_method::get;
    /// Accepted status ranges, inclusive; default 200-299.
    std::vector<std::pair<unsigned, unsigned>> expect{{200, 299}};
    std::chrono::milliseconds interval{10'000};
    std::chrono::milliseconds timeout{2'000};
    unsigned fall = 3;  ///< consecutive failures that mark the mirror down
    unsigned rise = 2;  ///< consecutive passes that mark it up again
    std::uint64_t max_bytes = 1 << 20;  ///< body bytes read at most (GET), then the status decides
    std::string ca_file;  ///< PEM bundle to trust; empty = the system store
    bool follow_redirects = false;  ///< at most 3 when true
    bool initial_up = true;         ///< up until proven down, unless `initial: down`

    bool accepts(unsigned status) const noexcept {
        for (const auto& [low, high] : expect)
            if (status >= low && status <= high) return true;
        return false;
    }
    /// Two probes are the same probe when every key matches (a reload keeps
    /// the health state of a mirror whose name and probe are unchanged).
    bool operator==(const probe_config&) const = default;
};

}  // namespace registry_redirector

namespace registry_redirector {

/// A mirror's blob existence check (`check_blobs`): before a blob request is
/// sent there, a HEAD of the rendered URL must answer 200. Blobs are
/// content-addressed, so a yes is cached for long and a no briefly.
struct blob_check_config {
    std::chrono::milliseconds positive_ttl{24 * 3600 * 1000};
    std::chrono::milliseconds negative_ttl{60'000};
    std::chrono::milliseconds timeout{1'000};
    std::size_t max_entries = 100'000;
    bool operator==(const blob_check_config&) const = default;
};

}  // namespace registry_redirector
