#include "registry_redirector/http/http_server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstring>
#include <ctime>
#include <optional>
#include <thread>
#include <vector>

#include "registry_redirector/http/listener.hpp"
#include "registry_redirector/http/request_handler.hpp"
#include "registry_redirector/http/proxy_protocol.hpp"
#include "registry_redirector/http/request_reader.hpp"

namespace registry_redirector {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

/// How often each thread checks its sessions' deadlines. Deadlines are
/// honoured to within this much.
constexpr auto sweep_interval = std::chrono::milliseconds(250);
/// Requests answered from one read before the batch is written: bounds what
/// a pipelining client can make us buffer.
constexpr std::size_t max_pipelined_batch = 32;
/// After a Connection: close response, unread input is drained for this long
/// before closing, so the client is not reset before it reads the response.
constexpr auto linger_timeout = std::chrono::seconds(2);

/// IMF-fixdate for the Date header (RFC 9110 section 5.6.7), rebuilt once a
/// second per thread.
class date_cache {
public:
    std::string_view get() {
        const std::time_t now = std::time(nullptr);
        if (now != second_) {
            second_ = now;
            std::tm tm{};
            gmtime_r(&now, &tm);
            length_ = std::strftime(text_, sizeof text_, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        }
        return {text_, length_};
    }

private:
    std::time_t second_ = 0;
    char text_[40] = {};
    std::size_t length_ = 0;
};

class session;

/// One I/O thread: its io_context, its sessions and its counters.
struct worker {
    worker(unsigned index_in, const serving_store& store, thread_request_counters& counters_in,
           request_metrics& metrics_in, const connection_limits& limits_in, access_log* log, proxy_protocol_mode proxy)
        : index(index_in), counters(counters_in), metrics(metrics_in), limits(limits_in), access(log),
          proxy_protocol(proxy), context(1), sweep_timer(context), reader(store) {}

    void log_access(const response_plan& plan, const request_view& request, const serving_snapshot* snapshot,
                    clock_type::time_point started) noexcept;

    // Declared before the io_context: sessions still queued in it when it is
    // destroyed unlink themselves from these in their destructors.
    unsigned index;
    thread_request_counters& counters;
    request_metrics& metrics;
    const connection_limits& limits;
    access_log* access;
    proxy_protocol_mode proxy_protocol;
    session* sessions = nullptr;  // intrusive list, touched only on this thread
    std::atomic<std::size_t> session_count{0};
    bool draining = false;        // only on this thread

    asio::io_context context;
    asio::steady_timer sweep_timer;
    serving_store::reader reader;
    date_cache date;

    void sweep();
    void start_draining();
};

class session : public std::enable_shared_from_this<session> {
public:
    session(tcp::socket socket, worker& w, const ip_address& peer)
        : socket_(std::move(socket)),
          worker_(w),
          peer_(peer),
          buffer_(std::make_unique<char[]>(w.limits.max_header_bytes + 1024)),
          capacity_(w.limits.max_header_bytes + 1024),
          reader_(w.limits.max_header_bytes, w.limits.max_header_fields) {
        out_.reserve(512);
    }

    ~session() {
        if (linked_) {
            if (prev_) prev_->next_ = next_; else worker_.sessions = next_;
            if (next_) next_->prev_ = prev_;
            worker_.session_count.fetch_sub(1, std::memory_order_relaxed);
        }
        worker_.metrics.connections_open.fetch_sub(1, std::memory_order_relaxed);
    }

    /// Runs on the worker's thread.
    void start() {
        next_ = worker_.sessions;
        if (next_) next_->prev_ = this;
        worker_.sessions = this;
        linked_ = true;
        worker_.session_count.fetch_add(1, std::memory_order_relaxed);
        if (worker_.draining) {
            close_now();
            return;
        }
        awaiting_proxy_header_ = worker_.proxy_protocol != proxy_protocol_mode::off;
        // Nothing received yet is an idle connection, PROXY protocol or not
        // (balancers and clients pre-open connections). Once part of a PROXY
        // header has arrived, header_timeout bounds the rest (on_read).
        deadline_ = clock_type::now() + worker_.limits.idle_timeout;
        request_started_ = clock_type::now();
        do_read();
    }

    clock_type::time_point deadline() const noexcept { return deadline_; }
    session* next() const noexcept { return next_; }

    void expire() {
        worker_.metrics.connection_timeouts.fetch_add(1, std::memory_order_relaxed);
        close_now();
    }

    /// Drain: an idle connection closes now; a busy one closes after its
    /// current response, which says Connection: close.
    void drain() {
        draining_ = true;
        if (idle_) close_now();
    }

private:
    void close_now() {
        beast::error_code ignored;
        socket_.close(ignored);
    }

    void do_read() {
        if (end_ == capacity_) {  // no room and no complete request: too large
            answer_rejected(status_code::header_fields_too_large_431);
            return;
        }
        idle_ = begin_ == end_;
        // A drain that came while this session was busy (its write completion
        // was still queued behind the drain) closes it when it goes idle.
        if (idle_ && (draining_ || worker_.draining)) {
            close_now();
            return;
        }
        socket_.async_read_some(asio::buffer(buffer_.get() + end_, capacity_ - end_),
                                [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                    self->on_read(ec, n);
                                });
    }

    void on_read(beast::error_code ec, std::size_t n) {
        idle_ = false;
        if (ec) return;  // EOF, reset, or closed by the sweep: the session ends
        if (begin_ == end_) request_started_ = clock_type::now();
        end_ += n;
        batch_started_ = clock_type::now();
        if (awaiting_proxy_header_ && !read_proxy_header()) return;
        process();
    }

    /// The PROXY header, if this listener takes one. Returns false when the
    /// session must not go on to HTTP (need more bytes, or closed).
    bool read_proxy_header() {
        const proxy_protocol_result r = parse_proxy_protocol(buffer_.get() + begin_, end_ - begin_);
        const bool required = worker_.proxy_protocol == proxy_protocol_mode::required;
        switch (r.what) {
            case proxy_protocol_result::kind::need_more:
                deadline_ = request_started_ + worker_.limits.header_timeout;
                do_read();
                return false;
            case proxy_protocol_result::kind::absent:
                if (required) return refuse_proxy("no PROXY header");
                awaiting_proxy_header_ = false;
                return true;
            case proxy_protocol_result::kind::invalid:
                return refuse_proxy("malformed PROXY header");
            case proxy_protocol_result::kind::header:
                break;
        }
        // Only a trusted balancer may say who the client is; anyone else
        // could name any address (and so pick the mirror that pays).
        const serving_snapshot* snapshot = worker_.reader.get();
        if (snapshot == nullptr || !snapshot->client_policy.trusted.contains(peer_))
            return refuse_proxy("PROXY header from an untrusted peer");
        if (r.source) {
            peer_ = *r.source;
            peer_source_ = client_ip_source::proxy_protocol;
        } else {
            // No IP client in the header: the real connection's addresses
            // stand (proxy-protocol.txt). Count the kinds an operator would
            // want to know about; LOCAL is the balancer's own health check.
            using no_source = proxy_protocol_result::no_source;
            auto& m = worker_.metrics;
            if (r.fallback == no_source::v2_unspec)
                m.proxy_protocol_no_address_unspec.fetch_add(1, std::memory_order_relaxed);
            else if (r.fallback == no_source::v2_unix)
                m.proxy_protocol_no_address_unix.fetch_add(1, std::memory_order_relaxed);
            else if (r.fallback == no_source::v1_unknown)
                m.proxy_protocol_no_address_unknown.fetch_add(1, std::memory_order_relaxed);
        }
        begin_ += r.consumed;
        awaiting_proxy_header_ = false;
        if (begin_ == end_) {
            compact();
            deadline_ = clock_type::now() + worker_.limits.idle_timeout;
            do_read();
            return false;
        }
        return true;
    }

    /// With `required`, the peer is a balancer that must speak the PROXY
    /// protocol: close at once. With `optional`, whoever sent a header we do
    /// not honour (malformed, or from an untrusted peer; v1 or v2 alike) may
    /// be a person with curl: tell them with a 400, then close.
    bool refuse_proxy(const char* why) {
        worker_.metrics.proxy_protocol_rejected.fetch_add(1, std::memory_order_relaxed);
        spdlog::debug("refusing a connection: {}", why);
        awaiting_proxy_header_ = false;
        if (worker_.proxy_protocol == proxy_protocol_mode::optional)
            answer_rejected(status_code::bad_request_400);
        else
            close_now();
        return false;
    }

    void process() {
        const serving_snapshot* snapshot = worker_.reader.get();
        std::size_t answered = 0;
        while (begin_ < end_ && answered < max_pipelined_batch) {
            const read_outcome got = reader_.read(buffer_.get() + begin_, end_ - begin_);
            if (got.what == read_outcome::kind::need_more) {
                begin_ += got.consumed;  // empty lines before a request line
                break;
            }
            if (got.what == read_outcome::kind::reject) {
                answer_rejected(got.status);
                return;
            }
            begin_ += got.consumed;
            const request_view& request = got.request;
            response_plan plan = handle_request(request, peer_, snapshot, peer_source_);
            ++requests_;
            const auto& limits = worker_.limits;
            if (draining_ || worker_.draining ||
                (limits.max_requests_per_connection && requests_ >= limits.max_requests_per_connection))
                plan.close = true;
            write_response(plan, request, worker_.date.get(), out_);
            count(plan, snapshot);
            if (worker_.access) worker_.log_access(plan, request, snapshot, batch_started_);
            ++answered;
            if (plan.close) {
                close_after_write_ = true;
                break;
            }
            if (begin_ < end_) request_started_ = batch_started_;
        }
        pending_requests_ = answered;
        if (!out_.empty()) {
            do_write();
            return;
        }
        compact();
        // A started request must complete within header_timeout of its first
        // byte (Slowloris); an empty buffer waits idle_timeout for the next.
        deadline_ = begin_ < end_ ? request_started_ + worker_.limits.header_timeout
                                  : clock_type::now() + worker_.limits.idle_timeout;
        do_read();
    }

    void count(const response_plan& plan, const serving_snapshot* snapshot) noexcept {
        auto& c = worker_.counters;
        if (plan.status == status_code::found_302) {
            c.count_redirect(snapshot->metric_slots[plan.provider], plan.kind);
            c.count_source(plan.source);
        } else {
            c.count_rejected(plan.status);
        }
    }

    void answer_rejected(status_code status) {
        response_plan plan = reject(status);
        plan.client = peer_;
        write_response(plan, request_view{}, worker_.date.get(), out_);
        worker_.counters.count_rejected(status);
        if (worker_.access) worker_.log_access(plan, request_view{}, nullptr, batch_started_);
        ++pending_requests_;
        close_after_write_ = true;
        begin_ = end_ = 0;
        do_write();
    }

    void do_write() {
        deadline_ = clock_type::now() + worker_.limits.write_timeout;
        asio::async_write(socket_, asio::buffer(out_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->on_write(ec);
        });
    }

    void on_write(beast::error_code ec) {
        if (pending_requests_)
            worker_.counters.observe_duration(clock_type::now() - batch_started_, pending_requests_);
        pending_requests_ = 0;
        out_.clear();
        if (ec) return;
        if (close_after_write_) {
            linger();
            return;
        }
        // Requests still in the buffer (pipelined) are answered before reading.
        batch_started_ = clock_type::now();
        process();
    }

    /// Half-close, then read and discard until the client closes or the
    /// linger deadline passes (RFC 9112 section 9.6: avoid a reset that
    /// could destroy the response before the client reads it).
    void linger() {
        beast::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
        deadline_ = clock_type::now() + linger_timeout;
        socket_.async_read_some(asio::buffer(buffer_.get(), capacity_),
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    if (!ec) self->linger_read();
                                });
    }

    void linger_read() {
        socket_.async_read_some(asio::buffer(buffer_.get(), capacity_),
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    if (!ec) self->linger_read();
                                });
    }

    void compact() {
        if (begin_ == end_) {
            begin_ = end_ = 0;
        } else if (begin_ > 0) {
            std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
            end_ -= begin_;
            begin_ = 0;
        }
    }

    tcp::socket socket_;
    worker& worker_;
    ip_address peer_;  // the TCP peer, or the client a PROXY header named
    client_ip_source peer_source_ = client_ip_source::peer;
    bool awaiting_proxy_header_ = false;
    std::unique_ptr<char[]> buffer_;
    std::size_t capacity_;
    std::size_t begin_ = 0;  // first unparsed byte
    std::size_t end_ = 0;    // end of received bytes
    request_reader reader_;
    std::string out_;
    std::size_t requests_ = 0;
    std::size_t pending_requests_ = 0;
    bool close_after_write_ = false;
    bool draining_ = false;
    bool idle_ = false;
    bool linked_ = false;
    clock_type::time_point deadline_{};
    clock_type::time_point request_started_{};
    clock_type::time_point batch_started_{};
    session* prev_ = nullptr;
    session* next_ = nullptr;
    friend struct worker;
};

void worker::sweep() {
    sweep_timer.expires_after(sweep_interval);
    sweep_timer.async_wait([this](beast::error_code ec) {
        if (ec) return;
        const auto now = clock_type::now();
        // Closing only cancels pending operations; sessions are destroyed
        // later, from their handlers, so the list stays valid here.
        for (session* s = sessions; s != nullptr; s = s->next())
            if (s->deadline() < now) s->expire();
        sweep();
    });
}

void worker::log_access(const response_plan& plan, const request_view& request, const serving_snapshot* snapshot,
                        clock_type::time_point started) noexcept {
    access_log_ring& ring = access->ring(index);
    access_record* r = ring.claim();
    if (r == nullptr) {
        access->count_drop();
        return;
    }
    r->unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
    r->client = plan.client;
    r->duration_us = static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - started).count());
    r->status = static_cast<std::uint16_t>(to_number(plan.status));
    r->provider_slot = plan.status == status_code::found_302 && snapshot ? snapshot->metric_slots[plan.provider] : 0xffff;
    r->route = static_cast<std::uint8_t>(plan.kind);
    r->set(request.method, request.target, request.user_agent);
    ring.commit();
}

void worker::start_draining() {
    draining = true;
    for (session* s = sessions; s != nullptr; s = s->next()) s->drain();
}

ip_address to_ip_address(const tcp::endpoint& endpoint) {
    const auto a = endpoint.address();
    if (a.is_v4()) return ip_address::from_v4(a.to_v4().to_uint());
    const auto bytes = a.to_v6().to_bytes();
    unsigned char raw[16];
    std::memcpy(raw, bytes.data(), 16);
    return ip_address::from_v6_bytes(raw);  // folds ::ffff:a.b.c.d from dual-stack sockets
}

}  // namespace

struct http_server::impl {
    impl(const endpoint_config& listen, unsigned thread_count, const connection_limits& limits_in,
         const serving_store& store, request_metrics& metrics_in, access_log* log, proxy_protocol_mode proxy)
        : limits(limits_in), metrics(metrics_in), accept_context(1), acceptor(accept_context), backoff(accept_context) {
        for (unsigned i = 0; i < thread_count; ++i)
            workers.push_back(std::make_unique<worker>(i, store, metrics.thread(i), metrics, limits, log, proxy));
        open_listener(acceptor, listen, "redirect port");
    }

    void do_accept() {
        if (!accepting) return;
        // The least-loaded worker gets the next connection.
        worker* target = workers.front().get();
        for (auto& w : workers)
            if (w->session_count.load(std::memory_order_relaxed) < target->session_count.load(std::memory_order_relaxed))
                target = w.get();
        acceptor.async_accept(target->context, [this, target](beast::error_code ec, tcp::socket socket) {
            on_accept(ec, std::move(socket), *target);
        });
    }

    void on_accept(beast::error_code ec, tcp::socket socket, worker& target) {
        if (ec == asio::error::operation_aborted || !accepting) return;
        if (ec) {
            metrics.accept_errors.fetch_add(1, std::memory_order_relaxed);
            // EMFILE/ENFILE and friends: retrying at once would spin. Back
            // off, then re-arm; never stop accepting for good.
            spdlog::warn("accept failed: {}; retrying in 100 ms", ec.message());
            backoff.expires_after(std::chrono::milliseconds(100));
            backoff.async_wait([this](beast::error_code wait_ec) {
                if (!wait_ec) do_accept();
            });
            return;
        }
        const auto open = metrics.connections_open.fetch_add(1, std::memory_order_relaxed) + 1;
        if (static_cast<std::size_t>(open) > limits.max_connections) {
            metrics.connections_open.fetch_sub(1, std::memory_order_relaxed);
            metrics.connections_rejected.fetch_add(1, std::memory_order_relaxed);
            // Tell the client why, best effort: a fresh socket's send buffer
            // takes these bytes without blocking. Then close.
            static constexpr std::string_view busy =
                "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            beast::error_code ignored;
            socket.non_blocking(true, ignored);
            socket.write_some(asio::buffer(busy.data(), busy.size()), ignored);
            socket.shutdown(tcp::socket::shutdown_send, ignored);
            socket.close(ignored);
            do_accept();
            return;
        }
        beast::error_code endpoint_ec;
        const auto remote = socket.remote_endpoint(endpoint_ec);
        if (endpoint_ec) {  // the client already left
            metrics.connections_open.fetch_sub(1, std::memory_order_relaxed);
            do_accept();
            return;
        }
        socket.set_option(tcp::no_delay(true), endpoint_ec);
        // The only reference travels with the handler: a session must die on
        // its worker's thread, since its destructor unlinks it from that
        // worker's list (ThreadSanitizer caught a copy kept here outliving
        // a short session).
        asio::post(target.context, [s = std::make_shared<session>(std::move(socket), target, to_ip_address(remote))] {
            s->start();
        });
        do_accept();
    }

    const connection_limits limits;
    request_metrics& metrics;
    // Before the accept context: a pending accept holds a socket of a
    // worker's context, so the workers must outlive the accept context.
    std::vector<std::unique_ptr<worker>> workers;
    asio::io_context accept_context;
    tcp::acceptor acceptor;
    asio::steady_timer backoff;
    std::vector<std::thread> threads;
    std::atomic<bool> accepting{true};
};

http_server::http_server(const endpoint_config& listen, unsigned threads, const connection_limits& limits,
                         const serving_store& store, request_metrics& metrics, access_log* log,
                         proxy_protocol_mode proxy_protocol)
    : impl_(std::make_unique<impl>(listen, threads, limits, store, metrics, log, proxy_protocol)) {}

http_server::~http_server() { stop(); }

unsigned short http_server::port() const noexcept {
    beast::error_code ec;
    return impl_->acceptor.local_endpoint(ec).port();
}

void http_server::start() {
    for (auto& w : impl_->workers) {
        w->sweep();
        impl_->threads.emplace_back([&w] {
            auto guard = asio::make_work_guard(w->context);
            w->context.run();
        });
    }
    impl_->do_accept();
    impl_->threads.emplace_back([this] {
        auto guard = asio::make_work_guard(impl_->accept_context);
        impl_->accept_context.run();
    });
}

void http_server::stop_accepting() {
    asio::post(impl_->accept_context, [this] {
        impl_->accepting = false;
        beast::error_code ignored;
        impl_->acceptor.close(ignored);
        impl_->backoff.cancel();
    });
    for (auto& w : impl_->workers) asio::post(w->context, [&w] { w->start_draining(); });
}

std::size_t http_server::open_connections() const noexcept {
    return static_cast<std::size_t>(std::max<std::int64_t>(0, impl_->metrics.connections_open.load()));
}

void http_server::stop() {
    if (!impl_) return;
    impl_->accept_context.stop();
    for (auto& w : impl_->workers) w->context.stop();
    for (auto& t : impl_->threads)
        if (t.joinable()) t.join();
    impl_->threads.clear();
}

}  // namespace registry_redirector
