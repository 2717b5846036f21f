#include "tls_support.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <fstream>
#include <stdexcept>

namespace registry_redirector::testing {

namespace {

EVP_PKEY* new_key() {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    if (key == nullptr) throw std::runtime_error("EVP_EC_gen failed");
    return key;
}

std::string pem_of(X509* x) {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    std::string s(data, static_cast<std::size_t>(n));
    BIO_free(b);
    return s;
}

std::string pem_of(EVP_PKEY* k) {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    std::string s(data, static_cast<std::size_t>(n));
    BIO_free(b);
    return s;
}

void add_extension(X509* issuer, X509* subject, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, subject, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr) throw std::runtime_error("bad extension " + value);
    X509_add_ext(subject, ext, -1);
    X509_EXTENSION_free(ext);
}

X509* new_certificate(const std::string& common_name, long serial, long not_before, long not_after, EVP_PKEY* key) {
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), not_before);
    X509_gmtime_adj(X509_getm_notAfter(x), not_after);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                               -1, 0);
    return x;
}

}  // namespace

test_ca::test_ca() : key_(new_key()) {
    certificate_ = new_certificate("registry-redirector test CA", 1, -86400, 10 * 86400, key_);
    X509_set_issuer_name(certificate_, X509_get_subject_name(certificate_));
    add_extension(certificate_, certificate_, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(certificate_, certificate_, NID_key_usage, "critical,keyCertSign,cRLSign");
    X509_sign(certificate_, key_, EVP_sha256());
    certificate_pem_ = pem_of(certificate_);
}

test_ca::test_ca(const test_ca& issuer, const std::string& common_name) : key_(new_key()) {
    certificate_ = new_certificate(common_name, 2, -86400, 10 * 86400, key_);
    X509_set_issuer_name(certificate_, X509_get_subject_name(issuer.certificate_));
    add_extension(issuer.certificate_, certificate_, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    add_extension(issuer.certificate_, certificate_, NID_key_usage, "critical,keyCertSign,cRLSign");
    X509_sign(certificate_, issuer.key_, EVP_sha256());
    certificate_pem_ = pem_of(certificate_);
}

std::unique_ptr<test_ca> test_ca::intermediate(const std::string& common_name) const {
    return std::unique_ptr<test_ca>(new test_ca(*this, common_name));
}

test_ca::~test_ca() {
    X509_free(certificate_);
    EVP_PKEY_free(key_);
}

pem_pair test_ca::issue(const std::string& common_name, const std::vector<std::string>& names, long serial,
                        long not_before, long not_after) const {
    EVP_PKEY* key = new_key();
    X509* x = new_certificate(common_name, serial, not_before, not_after, key);
    X509_set_issuer_name(x, X509_get_subject_name(certificate_));
    std::string san;
    for (const auto& n : names) san += (san.empty() ? "" : ",") + n;
    if (!san.empty()) add_extension(certificate_, x, NID_subject_alt_name, san);
    add_extension(certificate_, x, NID_ext_key_usage, "serverAuth");
    X509_sign(x, key_, EVP_sha256());
    pem_pair p{pem_of(x), pem_of(key), {}};
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr);
    char* hex = BN_bn2hex(bn);
    p.serial = hex;
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(x);
    EVP_PKEY_free(key);
    return p;
}

void write_file(const std::filesystem::path& path, const std::string& content) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
}

tls_client::tls_client(unsigned short port, const tls_options& o) : http_client(port, o.source) {
    // OpenSSL writes with write(2): a server that closed first must fail
    // the call, not kill the test with SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    if (!connected()) {
        error_ = "connect failed";
        return;
    }
    timeval limit{5, 0};
    ::setsockopt(fd(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(fd(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    if (!o.preamble.empty()) http_client::send_bytes(o.preamble.data(), o.preamble.size());
    context_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(context_, o.min_version);
    SSL_CTX_set_max_proto_version(context_, o.max_version);
    if (o.min_version < TLS1_2_VERSION) SSL_CTX_set_security_level(context_, 0);  // let it offer TLS 1.0
    if (!o.ciphers.empty()) SSL_CTX_set_cipher_list(context_, o.ciphers.c_str());
    if (!o.ca_pem.empty()) {
        BIO* b = BIO_new_mem_buf(o.ca_pem.data(), static_cast<int>(o.ca_pem.size()));
        X509* ca = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
        X509_STORE_add_cert(SSL_CTX_get_cert_store(context_), ca);
        X509_free(ca);
        BIO_free(b);
        SSL_CTX_set_verify(context_, SSL_VERIFY_PEER, nullptr);
    }
    ssl_ = SSL_new(context_);
    SSL_set_fd(ssl_, fd());
    if (!o.verify_name.empty()) SSL_set1_host(ssl_, o.verify_name.c_str());
    if (!o.sni.empty()) SSL_set_tlsext_host_name(ssl_, o.sni.c_str());
    if (!o.alpn.empty()) {
        std::string wire;
        for (const auto& p : o.alpn) wire += static_cast<char>(p.size()) + p;
        SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()), static_cast<unsigned>(wire.size()));
    }
    if (o.resume) SSL_set_session(ssl_, o.resume);
    ERR_clear_error();
    if (SSL_connect(ssl_) == 1) {
        ok_ = true;
        return;
    }
    char text[256] = "handshake failed";
    if (const unsigned long e = ERR_peek_last_error()) ERR_error_string_n(e, text, sizeof text);
    error_ = text;
    ERR_clear_error();
}

tls_client::~tls_client() {
    // A close_notify: without it OpenSSL marks the session not resumable.
    if (ssl_ && ok_) SSL_shutdown(ssl_);
    if (ssl_) SSL_free(ssl_);
    if (context_) SSL_CTX_free(context_);
}

std::string tls_client::peer_serial() const {
    X509* x = SSL_get1_peer_certificate(ssl_);
    if (x == nullptr) return {};
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr);
    char* hex = BN_bn2hex(bn);
    std::string s = hex;
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(x);
    return s;
}

bool tls_client::resumed() const noexcept { return ssl_ && SSL_session_reused(ssl_); }

std::string tls_client::version() const { return ssl_ ? SSL_get_version(ssl_) : ""; }

std::string tls_client::alpn() const {
    const unsigned char* p = nullptr;
    unsigned n = 0;
    SSL_get0_alpn_selected(ssl_, &p, &n);
    return std::string(reinterpret_cast<const char*>(p), n);
}

SSL_SESSION* tls_client::session() const { return SSL_get1_session(ssl_); }

bool tls_client::transport_closed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char discard[512];
        const ssize_t n = ::recv(fd(), discard, sizeof discard, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return true;
    }
}

bool tls_client::send_bytes(const char* data, std::size_t size) {
    if (!ok_) return false;
    std::size_t sent = 0;
    while (sent < size) {
        const int n = SSL_write(ssl_, data + sent, static_cast<int>(size - sent));
        if (n <= 0) return false;
        sent += static_cast<std::size_t>(n);
    }
    return true;
}

long tls_client::receive_bytes(char* data, std::size_t size, std::chrono::milliseconds timeout) {
    if (!ok_) return 0;
    if (SSL_pending(ssl_) == 0) {
        pollfd p{fd(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
            errno = EAGAIN;
            return -1;
        }
    }
    ERR_clear_error();
    const int n = SSL_read(ssl_, data, static_cast<int>(size));
    if (n > 0) return n;
    switch (SSL_get_error(ssl_, n)) {
        case SSL_ERROR_ZERO_RETURN: return 0;  // close_notify
        case SSL_ERROR_WANT_READ:               // only a post-handshake message (a ticket)
        case SSL_ERROR_WANT_WRITE: errno = EAGAIN; return -1;
        case SSL_ERROR_SYSCALL:
            if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;  // SO_RCVTIMEO
            return 0;                                                  // EOF or reset
        default: errno = ECONNRESET; ERR_clear_error(); return -1;
    }
}

std::string client_hello() {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL* ssl = SSL_new(ctx);
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, in, out);
    SSL_connect(ssl);  // wants to read: the ClientHello is in `out`
    char* data = nullptr;
    const long n = BIO_get_mem_data(out, &data);
    std::string hello(data, static_cast<std::size_t>(n));
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return hello;
}

}  // namespace registry_redirector::testing
