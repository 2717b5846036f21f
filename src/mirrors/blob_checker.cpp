#include "registry_redirector/mirrors/blob_checker.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <map>
#include <unordered_map>
#include <vector>

#include "registry_redirector/mirrors/mirror_connection.hpp"

namespace registry_redirector {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using steady = std::chrono::steady_clock;

namespace {

/// Idle keep-alive connections kept per mirror host; more are closed. As
/// many as HEADs a burst of misses has in flight at once (a pool of 8 made
/// a 50-client miss storm open a connection for most HEADs), yet far below
/// what a mirror's server allows one client.
constexpr std::size_t max_idle_per_host = 64;

template <class Stream>
asio::awaitable<beast::error_code> exchange(Stream& stream, const http::request<http::empty_body>& request,
                                            beast::flat_buffer& buffer,
                                            http::response_parser<http::empty_body>& parser) {
    auto [write_ec, written] = co_await http::async_write(stream, request, asio::as_tuple(asio::use_awaitable));
    if (write_ec) co_return write_ec;
    auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    co_return read_ec;
}

}  // namespace

struct blob_checker::impl {
    struct waiter {
        asio::any_io_executor executor;
        completion done;
    };

    explicit impl(asio::io_context& c) : context(c) {}

    static std::string pool_key(const mirror_url& url) {
        return (url.https ? "https://" : "http://") + host_header(url);
    }

    /// One HEAD, on a pooled connection when one is idle. A pooled
    /// connection the mirror has closed meanwhile fails at once: then one
    /// retry on a new connection.
    asio::awaitable<unsigned> head(mirror_url url, std::shared_ptr<asio::ssl::context> tls, steady::time_point deadline) {
        const std::string key = pool_key(url);
        for (int attempt = 0;; ++attempt) {
            mirror_connection connection;
            bool reused = false;
            if (auto& idle = pool[key]; attempt == 0 && !idle.empty()) {
                connection = std::move(idle.back());
                idle.pop_back();
                reused = true;
            } else {
                connection = co_await connect_to_mirror(url, tls.get(), deadline);
                connects.fetch_add(1, std::memory_order_relaxed);
            }
            connection.lowest().expires_at(deadline);
            http::request<http::empty_body> request(http::verb::head, url.target, 11);
            request.set(http::field::host, host_header(url));
            request.set(http::field::user_agent, "registry-redirector-blob-check/" REDIRECTOR_VERSION);
            heads.fetch_add(1, std::memory_order_relaxed);
            http::response_parser<http::empty_body> parser;
            parser.skip(true);  // HEAD: no body follows whatever Content-Length says
            beast::flat_buffer buffer;
            const beast::error_code ec = co_await connection.with_stream(
                [&](auto& stream) { return exchange(stream, request, buffer, parser); });
            if (ec) {
                connection.close();
                if (reused && ec != beast::error::timeout) continue;
                throw classify_mirror_error(ec, "blob check", connection.ssl_handle());
            }
            const unsigned status = parser.get().result_int();
            if (parser.get().keep_alive() && buffer.size() == 0 && pool[key].size() < max_idle_per_host) {
                connection.lowest().expires_never();
                pool[key].push_back(std::move(connection));
            } else {
                connection.close();
            }
            co_return status;
        }
    }

    /// `self` keeps the impl alive while the HEAD is out.
    static asio::awaitable<void> run(std::shared_ptr<impl> self, std::string url,
                                     std::shared_ptr<blob_existence_cache> cache, blob_check_config config,
                                     std::shared_ptr<asio::ssl::context> tls) {
        blob_verdict verdict = blob_verdict::unknown;
        try {
            const auto parsed = parse_mirror_url(url);
            if (!parsed) throw mirror_failure(probe_outcome::error, "invalid blob URL");
            const unsigned status = co_await self->head(*parsed, tls, steady::now() + config.timeout);
            const auto now = steady::now();
            if (status == 200) {
                verdict = blob_verdict::exists;
                cache->insert(url, true, now + config.positive_ttl);
            } else {
                verdict = blob_verdict::missing;
                cache->insert(url, false, now + config.negative_ttl);
            }
        } catch (const std::exception&) {
            verdict = blob_verdict::unknown;  // timeouts and errors: not cached, the next request asks again
        }
        cache->count_check(verdict);
        auto found = self->pending.find(url);
        if (found == self->pending.end()) co_return;
        std::vector<waiter> waiters = std::move(found->second);
        self->pending.erase(found);
        for (auto& w : waiters) asio::post(w.executor, [done = std::move(w.done), verdict] { done(verdict); });
    }

    asio::io_context& context;
    // Only touched on the context's thread.
    std::unordered_map<std::string, std::vector<waiter>> pending;
    std::map<std::string, std::vector<mirror_connection>> pool;
    std::atomic<std::uint64_t> heads{0};
    std::atomic<std::uint64_t> connects{0};
};

blob_checker::blob_checker(asio::io_context& context)
    : impl_(std::make_shared<impl>(context)), heads_(impl_->heads), connects_(impl_->connects) {}

blob_checker::~blob_checker() = default;

void blob_checker::check(std::shared_ptr<blob_existence_cache> cache, const blob_check_config& config,
                         std::shared_ptr<asio::ssl::context> tls, std::string url, asio::any_io_executor caller,
                         completion done) {
    asio::post(impl_->context, [self = impl_, cache = std::move(cache), config, tls = std::move(tls),
                                url = std::move(url), caller = std::move(caller), done = std::move(done)]() mutable {
        // The cache may have learnt the answer since the caller looked.
        if (const auto known = cache->find(url, steady::now()); known != blob_verdict::unknown) {
            asio::post(caller, [done = std::move(done), known] { done(known); });
            return;
        }
        auto [it, first] = self->pending.try_emplace(url);
        it->second.push_back({std::move(caller), std::move(done)});
        if (first)
            asio::co_spawn(self->context, impl::run(self, std::move(url), std::move(cache), config, std::move(tls)),
                           asio::detached);
    });
}

}  // namespace registry_redirector
