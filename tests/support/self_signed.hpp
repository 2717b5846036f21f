#pragma once
// A self-signed P-256 certificate and key, made with the OpenSSL API at run
// time (no certificate is committed), for tests and fuzzers that need a TLS
// server but no CA.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace registry_redirector::testing {

struct pem_files {
    std::string certificate;
    std::string key;
};

/// Writes DIR/tls.crt and DIR/tls.key for `common_name`, valid for a day.
inline pem_files write_self_signed(const std::filesystem::path& dir, const std::string& common_name) {
    std::filesystem::create_directories(dir);
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_sign(x, key, EVP_sha256());
    pem_files files{(dir / "tls.crt").string(), (dir / "tls.key").string()};
    if (FILE* f = std::fopen(files.certificate.c_str(), "w")) {
        PEM_write_X509(f, x);
        std::fclose(f);
    }
    if (FILE* f = std::fopen(files.key.c_str(), "w")) {
        PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
        std::fclose(f);
    }
    X509_free(x);
    EVP_PKEY_free(key);
    return files;
}

}  // namespace registry_redirector::testing
