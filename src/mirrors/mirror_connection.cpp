#include "registry_redirector/mirrors/mirror_connection.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/error.hpp>

#include <variant>

namespace registry_redirector {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {

/// Why a TLS operation failed, in OpenSSL's words, with the certificate
/// verification result when that is the cause.
std::string tls_reason(const boost::system::error_code& ec, SSL* ssl_handle) {
    std::string reason = "TLS: " + ec.message();
    if (ssl_handle) {
        const long verify = SSL_get_verify_result(ssl_handle);
        if (verify != X509_V_OK) reason += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
    }
    return reason;
}

}  // namespace

mirror_failure classify_mirror_error(const boost::system::error_code& ec, const char* during, SSL* ssl_handle) {
    if (ec == beast::error::timeout || ec == asio::error::timed_out || ec == asio::error::operation_aborted)
        return {probe_outcome::timeout, std::string("timeout during ") + during};
    if (ec == asio::error::connection_refused) return {probe_outcome::refused, "connection refused"};
    if (ec == asio::error::connection_reset || ec == asio::error::eof || ec == http::error::end_of_stream ||
        ec == ssl::error::stream_truncated)
        return {probe_outcome::refused, std::string("connection closed during ") + during};
    if (ec == http::error::header_limit) return {probe_outcome::too_large, "response header too large"};
    if (ec.category() == asio::error::get_ssl_category()) return {probe_outcome::tls, tls_reason(ec, ssl_handle)};
    if (ec.category() == asio::error::get_netdb_category() || ec.category() == asio::error::get_addrinfo_category())
        return {probe_outcome::dns, std::string("cannot resolve host: ") + ec.message()};
    return {probe_outcome::error, std::string(during) + ": " + ec.message()};
}

void mirror_connection::close() noexcept {
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
}

std::string host_header(const mirror_url& url) {
    const bool default_port = url.port == (url.https ? 443 : 80);
    std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    if (!default_port) host += ":" + std::to_string(url.port);
    return host;
}

asio::awaitable<mirror_connection> connect_to_mirror(const mirror_url& url, ssl::context* tls,
                                                     std::chrono::steady_clock::time_point deadline) {
    auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    asio::steady_timer timer(executor, deadline);
    auto resolved = co_await (resolver.async_resolve(url.host, std::to_string(url.port),
                                                     asio::as_tuple(asio::use_awaitable)) ||
                              timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (resolved.index() == 1) throw mirror_failure(probe_outcome::timeout, "timeout during name resolution");
    auto [resolve_ec, endpoints] = std::get<0>(resolved);
    if (resolve_ec) throw classify_mirror_error(resolve_ec, "name resolution");

    auto plain = std::make_unique<beast::tcp_stream>(executor);
    plain->expires_at(deadline);
    auto [connect_ec, endpoint] = co_await plain->async_connect(endpoints, asio::as_tuple(asio::use_awaitable));
    if (connect_ec) throw classify_mirror_error(connect_ec, "connect");
    plain->socket().set_option(tcp::no_delay(true));

    mirror_connection connection;
    if (!url.https) {
        connection.plain = std::move(plain);
        co_return connection;
    }
    if (!tls) throw mirror_failure(probe_outcome::tls, "TLS: no client context");
    connection.tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*plain), *tls);
    SSL* handle = connection.tls->native_handle();
    // SNI for names only (RFC 6066 section 3: no literal addresses); the
    // certificate must carry the name or the address either way.
    boost::system::error_code address_ec;
    asio::ip::make_address(url.host, address_ec);
    if (address_ec && !SSL_set_tlsext_host_name(handle, url.host.c_str()))
        throw mirror_failure(probe_outcome::tls, "TLS: cannot set SNI");
    connection.tls->set_verify_callback(ssl::host_name_verification(url.host));
    connection.lowest().expires_at(deadline);
    auto [handshake_ec] =
        co_await connection.tls->async_handshake(ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
    if (handshake_ec) throw classify_mirror_error(handshake_ec, "TLS handshake", handle);
    co_return connection;
}

}  // namespace registry_redirector
