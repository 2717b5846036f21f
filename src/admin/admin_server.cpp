#include "registry_redirector/admin/admin_server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <thread>

#include "registry_redirector/http/listener.hpp"

namespace registry_redirector {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto admin_timeout = std::chrono::seconds(10);

http::response<http::string_body> answer(const http::request<http::empty_body>& req, const admin_handlers& h,
                                         const std::string& caller) {
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    const std::string_view target = req.target();
    const std::size_t question = target.find('?');
    const std::string_view path = target.substr(0, question);
    const admin_request request{req.method_string(), path,
                                question == std::string_view::npos ? std::string_view() : target.substr(question + 1),
                                req[http::field::authorization], caller};
    for (const auto& route : h.routes) {
        if (auto reply = route(request)) {
            res.result(reply->status);
            res.set(http::field::content_type, reply->content_type);
            for (const auto& [name, value] : reply->headers) res.set(name, value);
            res.body() = std::move(reply->body);
            res.prepare_payload();
            if (req.method() == http::verb::head) res.body().clear();
            return res;
        }
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
        res.body() = "Only GET and HEAD are allowed.\n";
    } else if (path == "/healthz") {
        res.result(http::status::ok);
        res.body() = "ok\n";
    } else if (path == "/readyz") {
        const bool ready = h.ready();
        res.result(ready ? http::status::ok : http::status::service_unavailable);
        res.body() = ready ? "ready\n" : "not ready\n";
    } else if (path == "/metrics") {
        res.result(http::status::ok);
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.body() = h.metrics_text();
    } else if (path == "/debug/route" && h.debug_route) {
        const std::size_t q = target.find('?');
        auto [status, body] = h.debug_route(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
        res.result(static_cast<http::status>(status));
        res.set(http::field::content_type, "application/json");
        res.body() = std::move(body);
    } else {
        res.result(http::status::not_found);
        res.body() = "Not found. Try /healthz, /readyz, /metrics or /debug/route?ip=IP&path=PATH.\n";
    }
    res.prepare_payload();
    if (req.method() == http::verb::head) res.body().clear();  // Content-Length stays that of GET
    return res;
}

class admin_session : public std::enable_shared_from_this<admin_session> {
public:
    admin_session(tcp::socket socket, const admin_handlers& h) : stream_(std::move(socket)), handlers_(h) {}

    void run() { do_read(); }

private:
    void do_read() {
        parser_.emplace();
        parser_->header_limit(8192);
        parser_->body_limit(0);
        stream_.expires_after(admin_timeout);
        http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->on_read(ec);
        });
    }

    void on_read(beast::error_code ec) {
        if (ec) {
            beast::error_code ignored;
            stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
            return;
        }
        beast::error_code peer_ec;
        const auto peer = stream_.socket().remote_endpoint(peer_ec);
        response_ = answer(parser_->get(), handlers_, peer_ec ? std::string("unknown") : peer.address().to_string());
        stream_.expires_after(admin_timeout);
        http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
            if (write_ec) return;
            if (!self->response_.keep_alive()) {
                beast::error_code ignored;
                self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                return;
            }
            self->do_read();
        });
    }

    beast::tcp_stream stream_;
    const admin_handlers& handlers_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::empty_body>> parser_;
    http::response<http::string_body> response_;
};

}  // namespace

struct admin_server::impl {
    impl(const endpoint_config& listen, admin_handlers h)
        : handlers(std::move(h)), context(1), acceptor(context), backoff(context) {
        open_listener(acceptor, listen, "admin port");
    }

    void do_accept() {
        acceptor.async_accept(context, [this](beast::error_code ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted) return;
            if (ec) {
                backoff.expires_after(std::chrono::milliseconds(100));
                backoff.async_wait([this](beast::error_code wait_ec) {
                    if (!wait_ec) do_accept();
                });
                return;
            }
            std::make_shared<admin_session>(std::move(socket), handlers)->run();
            do_accept();
        });
    }

    admin_handlers handlers;
    asio::io_context context;
    tcp::acceptor acceptor;
    asio::steady_timer backoff;
    std::thread thread;
};

admin_server::admin_server(const endpoint_config& listen, admin_handlers handlers)
    : impl_(std::make_unique<impl>(listen, std::move(handlers))) {}

admin_server::~admin_server() { stop(); }

unsigned short admin_server::port() const noexcept {
    beast::error_code ec;
    return impl_->acceptor.local_endpoint(ec).port();
}

void admin_server::start() {
    impl_->do_accept();
    impl_->thread = std::thread([this] { impl_->context.run(); });
}

void admin_server::stop() {
    if (!impl_) return;
    impl_->context.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace registry_redirector
