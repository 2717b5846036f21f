#pragma once
/// SHA-256 of input files, to name the configuration that is serving
/// (config_info{sha256}) and the inputs of a resolved table. OpenSSL's EVP
/// digest does the work; this class only owns the context.

#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace registry_redirector {

/// Incremental hash. Not thread-safe; one instance per computation.
/// Throws std::runtime_error if OpenSSL cannot set up or run the digest.
class sha256 {
public:
    sha256();
    ~sha256();
    sha256(sha256&&) noexcept;
    sha256& operator=(sha256&&) noexcept;

    void update(std::string_view data);
    /// Finishes and returns the lower-case hex digest; the object is then spent.
    std::string hex_digest();

private:
    struct context_deleter {
        void operator()(evp_md_ctx_st* ctx) const noexcept;
    };
    std::unique_ptr<evp_md_ctx_st, context_deleter> ctx_;
};

}  // namespace registry_redirector
