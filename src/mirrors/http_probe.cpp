#include "registry_redirector/mirrors/http_probe.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <charconv>

#include "registry_redirector/mirrors/mirror_connection.hpp"

namespace registry_redirector {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

std::optional<mirror_url> parse_mirror_url(std::string_view text) {
    mirror_url url;
    if (text.starts_with("https://")) {
        url.https = true;
        text.remove_prefix(8);
    } else if (text.starts_with("http://")) {
        text.remove_prefix(7);
    } else {
        return std::nullopt;
    }
    const std::size_t end = text.find_first_of("/?#");
    std::string_view authority = text.substr(0, end);
    std::string_view rest = end == std::string_view::npos ? std::string_view() : text.substr(end);
    if (rest.find('#') != std::string_view::npos) return std::nullopt;
    if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
    std::string_view port_text;
    if (authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        url.host = std::string(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return std::nullopt;
            port_text = after.substr(1);
        }
    } else {
        const std::size_t colon = authority.rfind(':');
        url.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    }
    if (url.host.empty()) return std::nullopt;
    for (char c : url.host)
        if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '\\') return std::nullopt;
    url.port = url.https ? 443 : 80;
    if (!port_text.empty()) {
        unsigned port = 0;
        const auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc{} || p != port_text.data() + port_text.size() || port == 0 || port > 65535)
            return std::nullopt;
        url.port = static_cast<std::uint16_t>(port);
    }
    if (rest.empty()) url.target = "/";
    else if (rest.front() == '?') url.target = "/" + std::string(rest);
    else url.target = std::string(rest);
    for (char c : url.target)
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return std::nullopt;
    return url;
}

std::shared_ptr<ssl::context> make_probe_tls_context(const std::string& ca_file) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx->set_verify_mode(ssl::verify_peer);
    boost::system::error_code ec;
    if (ca_file.empty()) ctx->set_default_verify_paths(ec);
    else ctx->load_verify_file(ca_file, ec);
    if (ec) throw std::runtime_error(ca_file.empty() ? "cannot load the system trust store: " + ec.message()
                                                     : ca_file + ": cannot load CA file: " + ec.message());
    return ctx;
}

namespace {

/// The verdict of one exchange (before redirects are considered).
struct exchange {
    unsigned status = 0;
    bool bearer_challenge = false;
    std::string location;
};

template <class Stream>
asio::awaitable<exchange> send_and_read(Stream& stream, beast::tcp_stream& lowest, const mirror_url& url,
                                        const probe_config& config, steady::time_point deadline, ssl_st* ssl_handle) {
    http::request<http::empty_body> request(config.method == probe_config::http_method::head ? http::verb::head
                                                                                             : http::verb::get,
                                            url.target, 11);
    request.set(http::field::host, host_header(url));
    request.set(http::field::user_agent, "registry-redirector-probe/" REDIRECTOR_VERSION);
    request.set(http::field::connection, "close");
    lowest.expires_at(deadline);
    auto [write_ec, written] = co_await http::async_write(stream, request, asio::as_tuple(asio::use_awaitable));
    if (write_ec) throw classify_mirror_error(write_ec, "write", ssl_handle);

    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(boost::none);
    if (request.method() == http::verb::head) parser.skip(true);
    auto [header_ec, header_bytes] =
        co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (header_ec) throw classify_mirror_error(header_ec, "response header", ssl_handle);

    exchange result;
    const auto& response = parser.get();
    result.status = response.result_int();
    const auto [first, last] = response.equal_range(http::field::www_authenticate);
    for (auto field = first; field != last; ++field) {
        const std::string_view v = field->value();
        if (v.size() >= 6 && beast::iequals(v.substr(0, 6), "bearer")) result.bearer_challenge = true;
    }
    if (auto it = response.find(http::field::location); it != response.end()) result.location = it->value();

    // Read at most max_bytes of an accepted body, then stop: the status has
    // decided already, and the point of reading is that the mirror can send.
    if (!parser.is_done() && config.accepts(result.status)) {
        char chunk[16 * 1024];
        std::uint64_t read = 0;
        while (!parser.is_done() && read < config.max_bytes) {
            parser.get().body().data = chunk;
            parser.get().body().size = sizeof chunk;
            auto [ec, n] = co_await http::async_read_some(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
            if (ec == http::error::need_buffer) ec = {};
            if (ec) throw classify_mirror_error(ec, "response body", ssl_handle);
            read += sizeof chunk - parser.get().body().size;
        }
    }
    co_return result;
}

/// One request to `url` on a new connection.
asio::awaitable<exchange> fetch(const mirror_url& url, const probe_config& config, ssl::context* tls,
                                steady::time_point deadline) {
    mirror_connection connection = co_await connect_to_mirror(url, tls, deadline);
    auto result = co_await connection.with_stream([&](auto& stream) {
        return send_and_read(stream, connection.lowest(), url, config, deadline, connection.ssl_handle());
    });
    // No close_notify round trip: the verdict is in, and a mirror that does
    // not answer it must not turn a pass into a timeout.
    connection.close();
    co_return result;
}

/// Resolves a Location against the URL it came from.
std::optional<mirror_url> follow(const mirror_url& from, const std::string& location) {
    if (location.starts_with("http://") || location.starts_with("https://")) return parse_mirror_url(location);
    if (location.starts_with("//")) return parse_mirror_url((from.https ? "https:" : "http:") + location);
    if (location.empty() || location.front() != '/') return std::nullopt;  // relative paths: not from a registry
    mirror_url next = from;
    next.target = location;
    return next;
}

asio::awaitable<void> run(probe_config config, std::shared_ptr<ssl::context> tls,
                          std::function<void(probe_result)> done) {
    const auto started = steady::now();
    const auto deadline = started + config.timeout;
    probe_result result;
    try {
        auto url = parse_mirror_url(config.url);
        if (!url) throw mirror_failure(probe_outcome::error, "invalid probe URL");
        const int max_redirects = config.follow_redirects ? 3 : 0;
        for (int hop = 0;; ++hop) {
            if (url->https && !tls) throw mirror_failure(probe_outcome::tls, "TLS: no client context");
            const exchange answer = co_await fetch(*url, config, tls.get(), deadline);
            result.status = answer.status;
            const bool redirect = answer.status >= 300 && answer.status < 400 && answer.status != 304;
            if (redirect && hop < max_redirects && !answer.location.empty()) {
                url = follow(*url, answer.location);
                if (!url) throw mirror_failure(probe_outcome::error, "redirect to an unusable Location");
                continue;
            }
            if (answer.status == 401 && answer.bearer_challenge && !config.accepts(401)) {
                result.outcome = probe_outcome::token_required;
                result.reason = "requires a token (401 with a Bearer challenge)";
            } else if (!config.accepts(answer.status)) {
                result.outcome = probe_outcome::bad_status;
                result.reason = "status " + std::to_string(answer.status) +
                                (redirect && hop == max_redirects && config.follow_redirects ? " after 3 redirects" : "");
            } else {
                result.outcome = probe_outcome::pass;
                result.reason = "status " + std::to_string(answer.status);
            }
            break;
        }
    } catch (const mirror_failure& failure) {
        result.outcome = failure.outcome;
        result.reason = failure.reason;
    } catch (const std::exception& e) {
        result.outcome = probe_outcome::error;
        result.reason = e.what();
    }
    result.latency = steady::now() - started;
    done(std::move(result));
}

}  // namespace

void start_probe(asio::io_context& context, const probe_config& config, std::shared_ptr<ssl::context> tls,
                 std::function<void(probe_result)> done) {
    asio::co_spawn(context, run(config, std::move(tls), std::move(done)), asio::detached);
}

}  // namespace registry_redirector
