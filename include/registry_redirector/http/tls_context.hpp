#pragma once
/// A validated certificate and key, made into a server TLS context: TLS 1.2
/// and 1.3 only, the Mozilla "intermediate" cipher lists unless the config
/// names others, ALPN http/1.1 only, session tickets on (with the shared key
/// file when one is configured). A context never changes once built; a
/// rotation builds a new one and publishes it for new handshakes (see
/// tls_context_store), while established connections keep the SSL_CTX they
/// started with (each SSL holds a reference to it).

#include <boost/asio/ssl/context.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/system/error_code.hpp>
#include <openssl/ssl.h>

#include "registry_redirector/config/config.hpp"
#include "registry_redirector/routing/snapshot_store.hpp"
#include "registry_redirector/telemetry/request_metrics.hpp"

namespace registry_redirector {

/// The built-in cipher lists: Mozilla's "intermediate" profile (version 5.7),
/// i.e. forward-secret AEAD suites only.
namespace tls_defaults {
inline constexpr const char* ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
inline constexpr const char* ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
inline constexpr const char* groups = "X25519:P-256:P-384";
/// Bytes of a session ticket key file: 16 name + 32 HMAC + 32 AES.
inline constexpr std::size_t ticket_key_bytes = 80;
}  // namespace tls_defaults

/// What `check` prints and the expiry gauge exports, from the leaf.
struct certificate_info {
    std::string subject;             ///< RFC 2253, e.g. "CN=registry.example"
    std::string issuer;
    std::vector<std::string> names;  ///< subjectAltName DNS names and IP addresses ("DNS:x", "IP:y")
    std::string serial;              ///< upper-case hex
    std::int64_t not_before = 0;     ///< Unix seconds
    std::int64_t not_after = 0;
    std::size_t chain_length = 0;    ///< certificates after the leaf
};

class tls_context {
public:
    /// Reads and validates the files of `config` (the certificate parses,
    /// the key parses and matches it, the certificate has not expired, the
    /// cipher lists and ticket key file are valid) and builds the context.
    /// Throws config_error naming the file and the reason (`config_file`
    /// is named for a bad cipher list). Control plane only (reads files,
    /// may take a few milliseconds).
    static std::shared_ptr<const tls_context> load(const tls_config& config, const std::string& config_file);

    /// The context to construct an ssl::stream with. Streams only take a
    /// non-const reference; the context itself is never modified after load.
    boost::asio::ssl::context& native() const noexcept { return context_; }

    const certificate_info& leaf() const noexcept { return leaf_; }

    /// The files it was built from, for logs.
    const tls_config& config() const noexcept { return config_; }

private:
    explicit tls_context(tls_config config);

    tls_config config_;
    mutable boost::asio::ssl::context context_;
    certificate_info leaf_;
};

/// Reads the certificate file alone (for `check` and tests). Throws
/// config_error.
certificate_info read_certificate_info(const std::string& path);

/// The `result` label for a failed handshake's error (noexcept, no
/// allocation: a data-plane classification).
tls_handshake_result classify_tls_failure(const boost::system::error_code& ec) noexcept;

/// The `version` label of an established connection.
tls_version_label tls_version_of(const SSL* ssl) noexcept;

/// New handshakes take the newest published context. Thread safety: as
/// snapshot_store.
using tls_context_store = snapshot_store<tls_context>;

}  // namespace registry_redirector
