#include "test_mirror.hpp"

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <optional>
#include <thread>

namespace test_support {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct test_mirror::impl {
    asio::io_context context;
    tcp::acceptor acceptor{context};
    std::optional<asio::ssl::context> tls;
    std::atomic<int> mode{static_cast<int>(mirror_mode::ok)};
    std::atomic<unsigned> delay_ms{0};
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> heads{0};
    std::atomic<std::uint64_t> connections{0};
    std::thread thread;

    template <class Stream>
    asio::awaitable<void> serve(Stream& stream, beast::tcp_stream& lowest) {
        beast::flat_buffer buffer;
        for (;;) {
            http::request<http::empty_body> request;
            auto [ec, n] = co_await http::async_read(stream, buffer, request, asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            ++requests;
            if (request.method() == http::verb::head) ++heads;
            const auto m = static_cast<mirror_mode>(mode.load());
            if (m == mirror_mode::hang) {
                asio::steady_timer forever(co_await asio::this_coro::executor, std::chrono::hours(1));
                co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
                co_return;
            }
            if (m == mirror_mode::reset) {
                lowest.socket().set_option(asio::socket_base::linger(true, 0));
                lowest.socket().close();
                co_return;
            }
            if (unsigned d = delay_ms.load()) {
                asio::steady_timer wait(co_await asio::this_coro::executor, std::chrono::milliseconds(d));
                co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
            }
            http::response<http::string_body> response;
            response.version(11);
            response.keep_alive(request.keep_alive());
            switch (m) {
                case mirror_mode::ok: response.result(http::status::ok); response.body() = "blob bytes\n"; break;
                case mirror_mode::not_found: response.result(http::status::not_found); break;
                case mirror_mode::bearer:
                    response.result(http::status::unauthorized);
                    response.set(http::field::www_authenticate, "Bearer realm=\"https://auth.example/token\"");
                    break;
                case mirror_mode::server_error: response.result(http::status::internal_server_error); break;
                case mirror_mode::redirect:
                    if (request.target() == "/redirected") {
                        response.result(http::status::ok);
                    } else {
                        response.result(http::status::found);
                        response.set(http::field::location, "/redirected");
                    }
                    break;
                default: break;
            }
            response.prepare_payload();
            if (request.method() == http::verb::head) response.body().clear();
            http::response_serializer<http::string_body> serializer(response);
            if (request.method() == http::verb::head) serializer.split(true);
            if (request.method() == http::verb::head) {
                auto [wec, w] = co_await http::async_write_header(stream, serializer, asio::as_tuple(asio::use_awaitable));
                if (wec) co_return;
            } else {
                auto [wec, w] = co_await http::async_write(stream, response, asio::as_tuple(asio::use_awaitable));
                if (wec) co_return;
            }
            if (!response.keep_alive()) co_return;
        }
    }

    asio::awaitable<void> session(tcp::socket socket) {
        ++connections;
        beast::tcp_stream plain(std::move(socket));
        if (!tls) {
            co_await serve(plain, plain);
            beast::error_code ignored;
            plain.socket().shutdown(tcp::socket::shutdown_both, ignored);
            co_return;
        }
        beast::ssl_stream<beast::tcp_stream> stream(std::move(plain), *tls);
        auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        co_await serve(stream, beast::get_lowest_layer(stream));
        beast::error_code ignored;
        beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            asio::co_spawn(context, session(std::move(socket)), asio::detached);
        }
    }
};

test_mirror::test_mirror(const std::string& cert_file, const std::string& key_file) : impl_(std::make_unique<impl>()) {
    if (!cert_file.empty()) {
        impl_->tls.emplace(asio::ssl::context::tls_server);
        impl_->tls->use_certificate_chain_file(cert_file);
        impl_->tls->use_private_key_file(key_file, asio::ssl::context::pem);
    }
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen();
    asio::co_spawn(impl_->context, impl_->accept_loop(), asio::detached);
    impl_->thread = std::thread([this] { impl_->context.run(); });
}

test_mirror::~test_mirror() {
    impl_->context.stop();
    impl_->thread.join();
}

std::uint16_t test_mirror::port() const noexcept { return impl_->acceptor.local_endpoint().port(); }
std::string test_mirror::base_url() const {
    return std::string(impl_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port());
}
void test_mirror::set_mode(mirror_mode m) noexcept { impl_->mode = static_cast<int>(m); }
void test_mirror::set_delay_ms(unsigned ms) noexcept { impl_->delay_ms = ms; }
std::uint64_t test_mirror::requests() const noexcept { return impl_->requests; }
std::uint64_t test_mirror::head_requests() const noexcept { return impl_->heads; }
std::uint64_t test_mirror::connections() const noexcept { return impl_->connections; }

}  // namespace test_support
