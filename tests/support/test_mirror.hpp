#pragma once
// A local mirror for tests: HTTP or HTTPS on 127.0.0.1, on its own thread,
// told at run time how to answer. Counts the requests it gets.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace test_support {

enum class mirror_mode : int {
    ok,            ///< 200 with a small body
    not_found,     ///< 404
    bearer,        ///< 401 with WWW-Authenticate: Bearer realm=...
    server_error,  ///< 500
    hang,          ///< accepts, reads, never answers
    reset,         ///< closes the connection at once (RST)
    redirect,      ///< 302 to /redirected on itself
};

class test_mirror {
public:
    /// HTTPS when cert/key are given. Listens on an ephemeral port.
    explicit test_mirror(const std::string& cert_file = {}, const std::string& key_file = {});
    ~test_mirror();

    std::uint16_t port() const noexcept;
    std::string base_url() const;  ///< http(s)://127.0.0.1:PORT
    void set_mode(mirror_mode m) noexcept;
    std::uint64_t requests() const noexcept;   ///< requests answered or swallowed
    std::uint64_t head_requests() const noexcept;
    std::uint64_t connections() const noexcept;
    /// Delay before answering (ok/not_found/...), to make requests overlap.
    void set_delay_ms(unsigned ms) noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace test_support
