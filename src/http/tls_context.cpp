#include "registry_redirector/http/tls_context.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl/error.hpp>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>

#include "registry_redirector/data/config_error.hpp"

namespace registry_redirector {

namespace {

namespace ssl = boost::asio::ssl;

/// PEM files are a few kilobytes; anything past this is not one.
constexpr std::size_t max_pem_bytes = 1 << 20;

struct bio_deleter {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct x509_deleter {
    void operator()(X509* x) const noexcept { X509_free(x); }
};
struct pkey_deleter {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;
using x509_ptr = std::unique_ptr<X509, x509_deleter>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

/// The most specific reason OpenSSL queued, and an empty queue after.
std::string openssl_reason() {
    unsigned long last = 0;
    while (const unsigned long e = ERR_get_error()) last = e;
    if (last == 0) return "unknown OpenSSL error";
    char text[256];
    ERR_error_string_n(last, text, sizeof text);
    return text;
}

std::string read_bounded(const std::string& path, std::size_t max_bytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw config_error(path, 0, std::string("cannot open: ") + std::strerror(errno));
    std::string bytes(max_bytes + 1, '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (in.bad()) throw config_error(path, 0, "read failed");
    bytes.resize(static_cast<std::size_t>(in.gcount()));
    if (bytes.size() > max_bytes) throw config_error(path, 0, "file is larger than " + std::to_string(max_bytes) + " bytes");
    return bytes;
}

bio_ptr memory_bio(const std::string& bytes) {
    bio_ptr b(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
    if (!b) throw std::bad_alloc();
    return b;
}

/// A passphrase callback that declines: an encrypted key is an error, never
/// a prompt on the terminal.
int no_passphrase(char*, int, int, void*) { return 0; }

/// The leaf and the chain after it.
std::vector<x509_ptr> read_certificates(const std::string& path) {
    const std::string pem = read_bounded(path, max_pem_bytes);
    const bio_ptr bio = memory_bio(pem);
    std::vector<x509_ptr> chain;
    ERR_clear_error();
    while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)) chain.emplace_back(x);
    const unsigned long e = ERR_peek_last_error();
    // Running out of PEM blocks is how the loop ends; anything else is a
    // broken block.
    if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
        throw config_error(path, 0, "certificate " + std::to_string(chain.size() + 1) + " does not parse: " + openssl_reason());
    ERR_clear_error();
    if (chain.empty()) throw config_error(path, 0, "no PEM certificate (-----BEGIN CERTIFICATE-----) in the file");
    return chain;
}

pkey_ptr read_private_key(const std::string& path) {
    const std::string pem = read_bounded(path, max_pem_bytes);
    const bio_ptr bio = memory_bio(pem);
    ERR_clear_error();
    pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!key)
        throw config_error(path, 0, "no usable PEM private key (encrypted keys are not supported): " + openssl_reason());
    return key;
}

std::int64_t unix_seconds(const ASN1_TIME* t) {
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    return static_cast<std::int64_t>(timegm(&tm));
}

std::string name_text(const X509_NAME* name) {
    const bio_ptr out(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(out.get(), name, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long n = BIO_get_mem_data(out.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

certificate_info describe(X509* leaf, std::size_t chain_length) {
    certificate_info info;
    info.subject = name_text(X509_get_subject_name(leaf));
    info.issuer = name_text(X509_get_issuer_name(leaf));
    info.not_before = unix_seconds(X509_get0_notBefore(leaf));
    info.not_after = unix_seconds(X509_get0_notAfter(leaf));
    info.chain_length = chain_length;
    if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), nullptr)) {
        if (char* hex = BN_bn2hex(bn)) {
            info.serial = hex;
            OPENSSL_free(hex);
        }
        BN_free(bn);
    }
    auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
        if (n->type == GEN_DNS) {
            const ASN1_STRING* s = n->d.dNSName;
            info.names.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                                      static_cast<std::size_t>(ASN1_STRING_length(s))));
        } else if (n->type == GEN_IPADD) {
            const ASN1_STRING* s = n->d.iPAddress;
            char text[64] = {};
            const int family = ASN1_STRING_length(s) == 4 ? AF_INET : AF_INET6;
            if (ASN1_STRING_length(s) == 4 || ASN1_STRING_length(s) == 16)
                if (inet_ntop(family, ASN1_STRING_get0_data(s), text, sizeof text)) info.names.push_back(std::string("IP:") + text);
        }
    }
    GENERAL_NAMES_free(names);
    return info;
}

/// The protocols this server speaks, ours first (RFC 7301). A client that
/// offers ALPN without either (an h2-only client) gets a
/// no_application_protocol alert: a clear failure rather than a connection
/// that hangs in the wrong protocol. (curl --http1.0 offers only http/1.0.)
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void*) {
    static constexpr unsigned char ours[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1',
                                             8, 'h', 't', 't', 'p', '/', '1', '.', '0'};
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, ours, sizeof ours, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

/// Without a shared key file, every context of this process uses one random
/// ticket key, so tickets stay valid across certificate rotations.
const unsigned char* process_ticket_key() {
    static unsigned char key[tls_defaults::ticket_key_bytes];
    static std::once_flag once;
    std::call_once(once, [] {
        if (RAND_bytes(key, sizeof key) != 1) throw std::runtime_error("RAND_bytes failed: " + openssl_reason());
    });
    return key;
}

}  // namespace

tls_context::tls_context(tls_config config) : config_(std::move(config)), context_(ssl::context::tls_server) {}

std::shared_ptr<const tls_context> tls_context::load(const tls_config& config, const std::string& config_file) {
    std::vector<x509_ptr> chain = read_certificates(config.certificate);
    const pkey_ptr key = read_private_key(config.private_key);
    X509* leaf = chain.front().get();
    const certificate_info info = describe(leaf, chain.size() - 1);
    if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0)
        throw config_error(config.certificate, 0, "certificate " + info.subject + " expired (notAfter " +
                                                      std::to_string(info.not_after) + " Unix time)");

    if (X509_check_private_key(leaf, key.get()) != 1) {
        ERR_clear_error();
        throw config_error(config.private_key, 0, "private key does not match the certificate " + config.certificate +
                                                      " (" + info.subject + ")");
    }

    std::shared_ptr<tls_context> c(new tls_context(config));
    c->leaf_ = info;
    SSL_CTX* ctx = c->context_.native_handle();
    ERR_clear_error();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    // No compression (CRIME), no renegotiation (a CPU-exhaustion lever for
    // a client; TLS 1.3 has none anyway).
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    // Idle keep-alive connections give their record buffers back: thousands
    // of idle clients cost a few KiB each rather than ~34 KiB.
    // The chain sent is the certificate file's, as written: OpenSSL must
    // not try to build one from a trust store at every full handshake.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
    const std::string ciphers = config.ciphers.empty() ? tls_defaults::ciphers : config.ciphers;
    const std::string suites = config.ciphersuites.empty() ? tls_defaults::ciphersuites : config.ciphersuites;
    if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1)
        throw config_error(config_file, 0, "tls.ciphers \"" + ciphers + "\" selects no cipher: " + openssl_reason());
    if (SSL_CTX_set_ciphersuites(ctx, suites.c_str()) != 1)
        throw config_error(config_file, 0, "tls.ciphersuites \"" + suites + "\" selects no suite: " + openssl_reason());
    if (SSL_CTX_set1_groups_list(ctx, tls_defaults::groups) != 1)
        throw std::runtime_error(std::string("SSL_CTX_set1_groups_list: ") + openssl_reason());
    SSL_CTX_set_dh_auto(ctx, 1);  // ffdhe2048 for the DHE-RSA suites of the intermediate profile

    if (SSL_CTX_use_certificate(ctx, leaf) != 1)
        throw config_error(config.certificate, 0, "certificate rejected: " + openssl_reason());
    for (std::size_t i = 1; i < chain.size(); ++i)
        if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1)
            throw config_error(config.certificate, 0, "chain certificate " + std::to_string(i) + " rejected: " + openssl_reason());
    if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1)
        throw config_error(config.private_key, 0, "private key rejected: " + openssl_reason());
    if (SSL_CTX_check_private_key(ctx) != 1)
        throw config_error(config.private_key, 0, "private key does not match the certificate " + config.certificate +
                                                      " (" + info.subject + ")");

    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);  // no client certificates
    // Resumption by tickets only (stateless, so nothing to bound or share
    // but the key); no server-side session cache.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    static constexpr unsigned char id_context[] = "registry-redirector";
    SSL_CTX_set_session_id_context(ctx, id_context, sizeof id_context - 1);
    std::string shared_key;
    if (!config.session_ticket_key_file.empty()) {
        shared_key = read_bounded(config.session_ticket_key_file, 4096);
        if (shared_key.size() != tls_defaults::ticket_key_bytes)
            throw config_error(config.session_ticket_key_file, 0,
                               "a session ticket key file holds exactly 80 bytes (make one with: openssl rand 80), got " +
                                   std::to_string(shared_key.size()));
    }
    unsigned char ticket_key[tls_defaults::ticket_key_bytes];
    std::memcpy(ticket_key, shared_key.empty() ? process_ticket_key() : reinterpret_cast<const unsigned char*>(shared_key.data()),
                sizeof ticket_key);
    const long set = SSL_CTX_set_tlsext_ticket_keys(ctx, ticket_key, sizeof ticket_key);
    OPENSSL_cleanse(ticket_key, sizeof ticket_key);
    if (!shared_key.empty()) OPENSSL_cleanse(shared_key.data(), shared_key.size());
    if (set != 1) throw std::runtime_error("SSL_CTX_set_tlsext_ticket_keys: " + openssl_reason());
    return c;
}

tls_handshake_result classify_tls_failure(const boost::system::error_code& ec) noexcept {
    if (ec.category() != boost::asio::error::get_ssl_category()) return tls_handshake_result::other;
    // Asio puts OpenSSL's packed error code in the error_code.
    const auto packed = static_cast<unsigned long>(ec.value());
    if (ERR_GET_LIB(packed) != ERR_LIB_SSL) return tls_handshake_result::other;
    switch (ERR_GET_REASON(packed)) {
        case SSL_R_NO_SHARED_CIPHER:
        case SSL_R_NO_SHARED_GROUPS:
        case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
            return tls_handshake_result::no_shared_cipher;
        case SSL_R_NO_APPLICATION_PROTOCOL:
            return tls_handshake_result::alpn;
        default:
            return tls_handshake_result::protocol_error;  // version, record or message errors
    }
}

tls_version_label tls_version_of(const SSL* ssl) noexcept {
    switch (SSL_version(ssl)) {
        case TLS1_2_VERSION: return tls_version_label::tls1_2;
        case TLS1_3_VERSION: return tls_version_label::tls1_3;
        default: return tls_version_label::none;
    }
}

certificate_info read_certificate_info(const std::string& path) {
    const std::vector<x509_ptr> chain = read_certificates(path);
    return describe(chain.front().get(), chain.size() - 1);
}

}  // namespace registry_redirector
