#pragma once
/// An outbound connection to a mirror, plain or TLS, for the probes and the
/// blob existence checks (the only code that talks to mirrors). Coroutines
/// on the mirrors thread's io_context; failures are thrown as
/// mirror_failure with the probe_outcome they count as.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "registry_redirector/mirrors/health_tracker.hpp"
#include "registry_redirector/mirrors/http_probe.hpp"

namespace registry_redirector {

class mirror_failure : public std::exception {
public:
    mirror_failure(probe_outcome o, std::string why) : outcome(o), reason(std::move(why)) {}
    const char* what() const noexcept override { return reason.c_str(); }
    probe_outcome outcome;
    std::string reason;
};

/// Names an error of `during` (e.g. "connect") the way probe results and
/// logs show it; `ssl_handle` adds the certificate verification result.
mirror_failure classify_mirror_error(const boost::system::error_code& ec, const char* during,
                                     ssl_st* ssl_handle = nullptr);

struct mirror_connection {
    std::unique_ptr<boost::beast::tcp_stream> plain;                                     ///< set for http
    std::unique_ptr<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls;             ///< set for https

    boost::beast::tcp_stream& lowest() noexcept { return tls ? boost::beast::get_lowest_layer(*tls) : *plain; }
    ssl_st* ssl_handle() noexcept { return tls ? tls->native_handle() : nullptr; }
    /// Calls f(stream) with the stream to read and write.
    template <class F>
    decltype(auto) with_stream(F&& f) {
        return tls ? f(*tls) : f(*plain);
    }
    /// Closes the socket at once (no TLS close_notify round trip).
    void close() noexcept;
};

/// Resolves, connects and (for https) handshakes with SNI and certificate
/// and host name verification, all before `deadline`. Throws mirror_failure.
boost::asio::awaitable<mirror_connection> connect_to_mirror(const mirror_url& url, boost::asio::ssl::context* tls,
                                                            std::chrono::steady_clock::time_point deadline);

/// The Host header value for `url` (brackets for IPv6, the port unless default).
std::string host_header(const mirror_url& url);

}  // namespace registry_redirector
