#pragma once
/// A mirror's blob existence check as the I/O threads see it: its settings,
/// its cache, and the TLS client context its HEADs use. Built by mirrors/
/// at every load (the cache carried over while the mirror's name and
/// check_blobs are unchanged) and published in the serving snapshot.

#include <memory>

#include "registry_redirector/config/probe_config.hpp"
#include "registry_redirector/routing/blob_existence_cache.hpp"

namespace boost::asio::ssl {
class context;
}

namespace registry_redirector {

struct blob_check {
    blob_check_config config;
    std::shared_ptr<blob_existence_cache> cache;
    /// Trusts what the mirror's probe.ca_file trusts, else the system store
    /// (used for https blob URLs only).
    std::shared_ptr<boost::asio::ssl::context> tls;
};

}  // namespace registry_redirector
