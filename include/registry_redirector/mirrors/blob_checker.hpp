#pragma once
/// Asks mirrors whether a blob is there (HEAD, 200 = yes) for the blob
/// existence check. Runs on the mirrors thread's io_context: concurrent
/// checks of one URL share one HEAD (single flight), answers go into the
/// mirror's blob_existence_cache, and keep-alive connections to each mirror
/// are reused. Callers never block: the verdict comes back as a completion
/// posted to the caller's executor.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "registry_redirector/config/probe_config.hpp"
#include "registry_redirector/routing/blob_existence_cache.hpp"

namespace registry_redirector {

/// Thread safety: check() from any thread; everything else happens on the
/// io_context given at construction.
class blob_checker {
public:
    using completion = std::function<void(blob_verdict)>;

    explicit blob_checker(boost::asio::io_context& context);
    ~blob_checker();

    /// Checks `url` (an absolute http(s) URL) unless the cache already knows.
    /// `done` runs on `caller` exactly once: exists, missing (a definite
    /// non-200 answer, cached for negative_ttl), or unknown (timeout or
    /// error: not cached, so the next request asks again).
    void check(std::shared_ptr<blob_existence_cache> cache, const blob_check_config& config,
               std::shared_ptr<boost::asio::ssl::context> tls, std::string url,
               boost::asio::any_io_executor caller, completion done);

    std::uint64_t heads_sent() const noexcept { return heads_.load(std::memory_order_relaxed); }
    std::uint64_t connections_opened() const noexcept { return connects_.load(std::memory_order_relaxed); }

private:
    struct impl;
    std::shared_ptr<impl> impl_;
    std::atomic<std::uint64_t>& heads_;
    std::atomic<std::uint64_t>& connects_;
};

}  // namespace registry_redirector
