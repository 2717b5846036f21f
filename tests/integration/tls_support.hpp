#pragma once
// TLS for the integration tests: a certificate authority made at run time
// (nothing committed), and a blocking TLS client over http_client.

#include <openssl/ssl.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "server_process.hpp"

namespace registry_redirector::testing {

/// A PEM certificate and its PEM private key.
struct pem_pair {
    std::string certificate;
    std::string key;
    std::string serial;  ///< upper-case hex, as the server logs it
};

/// A throw-away CA (P-256). Thread safety: none needed (tests are serial).
class test_ca {
public:
    test_ca();
    ~test_ca();
    test_ca(const test_ca&) = delete;
    test_ca& operator=(const test_ca&) = delete;

    /// A leaf for `names` ("DNS:x" or "IP:y"), serial `serial`, valid from
    /// now + not_before to now + not_after (seconds; negative = the past).
    pem_pair issue(const std::string& common_name, const std::vector<std::string>& names, long serial,
                   long not_before = -3600, long not_after = 30 * 86400) const;
    /// The CA certificate (PEM), for a verifying client.
    const std::string& certificate() const noexcept { return certificate_pem_; }
    /// An intermediate CA signed by this one: its leaves verify against
    /// this CA only when the server sends the intermediate too.
    std::unique_ptr<test_ca> intermediate(const std::string& common_name) const;

private:
    test_ca(const test_ca& issuer, const std::string& common_name);

    EVP_PKEY* key_ = nullptr;
    X509* certificate_ = nullptr;
    std::string certificate_pem_;
};

/// Writes `content` to `path` (creating folders).
void write_file(const std::filesystem::path& path, const std::string& content);

struct tls_options {
    std::string ca_pem;        ///< verify the server against this CA (empty: no verification)
    std::string verify_name;   ///< host name to verify (with ca_pem)
    std::string sni;           ///< server_name to send (empty: none)
    std::vector<std::string> alpn{"http/1.1"};  ///< empty: no ALPN extension
    int min_version = TLS1_2_VERSION;
    int max_version = TLS1_3_VERSION;
    std::string ciphers;       ///< TLS 1.2 list (empty: OpenSSL's default)
    SSL_SESSION* resume = nullptr;  ///< a session to offer (not owned)
    std::string preamble;      ///< bytes sent in the clear before the ClientHello (a PROXY header)
    std::string source;        ///< local address to connect from
};

/// A TLS connection to 127.0.0.1:port. The handshake runs in the
/// constructor, bounded by a receive timeout; check handshake_ok().
class tls_client : public http_client {
public:
    tls_client(unsigned short port, const tls_options& options = {});
    ~tls_client() override;

    bool handshake_ok() const noexcept { return ok_; }
    const std::string& error() const noexcept { return error_; }
    /// Serial (upper-case hex) of the certificate the server presented.
    std::string peer_serial() const;
    bool resumed() const noexcept;
    std::string version() const;  ///< "TLSv1.3"
    std::string alpn() const;
    /// The session, for resumption (the caller frees it with SSL_SESSION_free).
    SSL_SESSION* session() const;
    /// True when the TCP connection under TLS ends (FIN or reset) within
    /// `timeout`: call after the server's close_notify, without sending ours.
    bool transport_closed(std::chrono::milliseconds timeout);

protected:
    bool send_bytes(const char* data, std::size_t size) override;
    long receive_bytes(char* data, std::size_t size, std::chrono::milliseconds timeout) override;

private:
    SSL_CTX* context_ = nullptr;
    SSL* ssl_ = nullptr;
    bool ok_ = false;
    std::string error_;
};

/// The bytes of a ClientHello as an OpenSSL client would send them.
std::string client_hello();

}  // namespace registry_redirector::testing
