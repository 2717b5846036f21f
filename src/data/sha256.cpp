#include "registry_redirector/data/sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace registry_redirector {

void sha256::context_deleter::operator()(evp_md_ctx_st* ctx) const noexcept { EVP_MD_CTX_free(ctx); }

sha256::sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("sha256: OpenSSL could not initialise the digest");
}

sha256::~sha256() = default;
sha256::sha256(sha256&&) noexcept = default;
sha256& sha256::operator=(sha256&&) noexcept = default;

void sha256::update(std::string_view data) {
    if (data.empty()) return;
    if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1)
        throw std::runtime_error("sha256: OpenSSL digest update failed");
}

std::string sha256::hex_digest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), digest, &length) != 1)
        throw std::runtime_error("sha256: OpenSSL digest final failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * length);
    for (unsigned i = 0; i < length; ++i) {
        out.push_back(hex[digest[i] >> 4]);
        out.push_back(hex[digest[i] & 0x0f]);
    }
    return out;
}

}  // namespace registry_redirector
