#include "registry_redirector/http/http_server.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstring>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <ctime>
#include <list>
#include <optional>
#include <thread>
#include <type_traits>
#include <unistd.h>
#include <utility>
#include <vector>

#include "registry_redirector/http/buffer_pool.hpp"
#include "registry_redirector/http/listener.hpp"
#include "registry_redirector/http/request_handler.hpp"
#include "registry_redirector/http/proxy_protocol.hpp"
#include "registry_redirector/http/request_reader.hpp"
#include "registry_redirector/http/slab_arena.hpp"
#include "registry_redirector/http/tls_context.hpp"
#include "registry_redirector/mirrors/blob_checker.hpp"

namespace registry_redirector {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using plain_stream = tcp::socket;
using tls_stream = asio::ssl::stream<tcp::socket>;
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
/// Buffer sets each thread keeps free however quiet it gets, and how often
/// it frees the ones a whole period did not need (buffer_pool::trim).
constexpr std::size_t pool_keep = 16;
constexpr int sweeps_per_trim = 4;  // once a second
/// Memory given back to the allocator before the heap is trimmed: glibc keeps
/// freed memory inside its heaps (a storm of 10,000 connections left RSS at
/// 10x its calm value for good), malloc_trim hands the free pages back.
constexpr std::size_t trim_after_bytes = 4u << 20;
constexpr auto min_time_between_trims = std::chrono::seconds(5);
/// What a closed connection is taken to have freed (session, socket state,
/// handler memory) when deciding whether the heap is worth trimming.
constexpr std::size_t bytes_per_closed_session = 1024;


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

/// Room for the one asynchronous operation a session has pending at a time
/// (wait, read, write or linger read). Asio frees an operation's memory
/// before it calls the handler, which starts the next one, so one slot is
/// enough; anything larger (TLS operations) or a second operation falls back
/// to Asio's per-thread recycling allocator, as without this class.
/// Inside the session (which lives in a slab_arena), it keeps the pending
/// operations of idle connections off the heap too (see slab_arena for why).
class handler_memory {
public:
    void* allocate(std::size_t size) {
        if (!in_use_ && size <= sizeof storage_) {
            in_use_ = true;
            return storage_;
        }
        return asio::recycling_allocator<unsigned char>().allocate(size);
    }
    void deallocate(void* p, std::size_t size) noexcept {
        if (p == storage_)
            in_use_ = false;
        else
            asio::recycling_allocator<unsigned char>().deallocate(static_cast<unsigned char*>(p), size);
    }

private:
    alignas(std::max_align_t) unsigned char storage_[320];  // the largest op measured: 288 bytes (a write)
    bool in_use_ = false;
};

/// The associated allocator of a session's completion handlers.
template <class T>
class handler_allocator {
public:
    using value_type = T;
    explicit handler_allocator(handler_memory& m) noexcept : memory_(&m) {}
    template <class U>
    handler_allocator(const handler_allocator<U>& other) noexcept : memory_(other.memory()) {}
    T* allocate(std::size_t n) { return static_cast<T*>(memory_->allocate(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) noexcept { memory_->deallocate(p, n * sizeof(T)); }
    handler_memory* memory() const noexcept { return memory_; }
    template <class U>
    bool operator==(const handler_allocator<U>& other) const noexcept {
        return memory_ == other.memory();
    }

private:
    handler_memory* memory_;
};

class session_link;

/// The trace of one request, decided before its response is written.
struct request_trace {
    trace_id_bytes trace_id{};
    span_id_bytes span_id{};
    span_id_bytes parent_id{};
    header_lines tracestate;  // valid lines of the client's tracestate, views into the read buffer
    bool has_trace_id = false;
    bool has_parent = false;
    bool recorded = false;
};

/// One I/O thread: its io_context, its sessions and its counters.
struct worker {
    worker(unsigned index_in, const serving_store& store, thread_request_counters& counters_in,
           request_metrics& metrics_in, const connection_limits& limits_in, access_log* log, proxy_protocol_mode proxy)
        : index(index_in), counters(counters_in), metrics(metrics_in), limits(limits_in), access(log),
          proxy_protocol(proxy), pool(limits_in.max_header_bytes + 1024, 512),
          context(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO), sweep_timer(context),
          reader(store) {}

    void log_access(const response_plan& plan, const request_view& request, const serving_snapshot* snapshot,
                    clock_type::time_point started, const request_trace* trace = nullptr) noexcept;
    /// Trace context, sampling and ids for one request (tracing on only).
    request_trace begin_trace(const request_view& request) noexcept;
    void record_span(const request_trace& trace, const response_plan& plan, const request_view& request,
                     const serving_snapshot* snapshot, clock_type::time_point started) noexcept;

    // Declared before the io_context: sessions still queued in it when it is
    // destroyed unlink themselves from these in their destructors.
    unsigned index;
    thread_request_counters& counters;
    request_metrics& metrics;
    const connection_limits& limits;
    access_log* access;
    proxy_protocol_mode proxy_protocol;
    std::optional<http_tracing> tracing;  // set before start(); read only on this thread
    trace_id_generator ids;
    session_link* sessions = nullptr;  // intrusive list, touched only on this thread
    std::atomic<std::size_t> session_count{0};
    std::atomic<std::size_t> incoming{0};  // accepted by another worker, on their way here
    bool draining = false;        // only on this thread
    buffer_pool pool;             // sessions give their buffers back in their destructors
    slab_arena session_memory;      // where plain sessions live (they free into it)
    slab_arena tls_session_memory;  // TLS sessions: another size, so another arena
    /// Where lingering connections' input goes: it is thrown away, so they
    /// can all share it.
    char discard[2048];
    int sweeps_since_trim = 0;
    std::size_t released_since_heap_trim = 0;  // bytes, estimated
    std::size_t sessions_closed = 0;           // since the last trim period

    /// Every socket, acceptor and timer of this worker is used on its thread
    /// only (it accepts for itself; a connection handed over comes as a bare
    /// descriptor), so the reactor's per-descriptor locks are off; post()
    /// from other threads stays locked.
    asio::io_context context;
    asio::steady_timer sweep_timer;
    serving_store::reader reader;
    date_cache date;
    blob_checker* blobs = nullptr;  // set before start(); null: blob checks are not made

    void sweep();
    void trim_memory();
    void start_draining();
};

/// What the worker's sweep and drain see of a session, whatever its stream.
/// The two virtual calls run per sweep and per drain, never per request.
class session_link {
public:
    clock_type::time_point deadline() const noexcept { return deadline_; }
    session_link* next() const noexcept { return next_; }

    /// The deadline passed: count it and close.
    virtual void expire() = 0;
    /// Drain: an idle connection closes now; a busy one closes after its
    /// current response, which says Connection: close.
    virtual void drain() = 0;

protected:
    session_link() = default;
    ~session_link() = default;

    clock_type::time_point deadline_{};
    session_link* prev_ = nullptr;
    session_link* next_ = nullptr;
    bool linked_ = false;

    void link(worker& w) noexcept {
        next_ = w.sessions;
        if (next_) next_->prev_ = this;
        w.sessions = this;
        linked_ = true;
        w.session_count.fetch_add(1, std::memory_order_relaxed);
    }
    void unlink(worker& w) noexcept {
        if (!linked_) return;
        if (prev_) prev_->next_ = next_; else w.sessions = next_;
        if (next_) next_->prev_ = prev_;
        w.session_count.fetch_sub(1, std::memory_order_relaxed);
    }
};

/// One client connection, over plain TCP (`tcp::socket`) or TLS
/// (`ssl::stream<tcp::socket>`): the same reading, pipelining, deadlines and
/// draining for both (house style habit 18). A TLS session has a preamble
/// before HTTP: the PROXY header, if any, is read from the raw socket (that
/// is where a layer-4 balancer puts it), then the handshake runs on the
/// bytes already read. header_timeout covers the whole preamble.
template <class Stream>
class session final : public session_link, public std::enable_shared_from_this<session<Stream>> {
    static constexpr bool tls = std::is_same_v<Stream, tls_stream>;

public:
    /// `stream_args` follow the socket into Stream's constructor (the SSL
    /// context for TLS; the new SSL holds its own reference to the SSL_CTX,
    /// so a rotation may drop the context while this session lives).
    template <class... StreamArgs>
    session(tcp::socket socket, worker& w, const ip_address& peer, StreamArgs&... stream_args)
        : stream_(std::move(socket), stream_args...),
          worker_(w),
          peer_(peer),
          capacity_(w.pool.in_size()),
          reader_(w.limits.max_header_bytes, w.limits.max_header_fields) {}

    ~session() {
        worker_.pool.give(std::move(buffers_));
        ++worker_.sessions_closed;
        unlink(worker_);
        worker_.metrics.connections_open.fetch_sub(1, std::memory_order_relaxed);
    }

    /// Runs on the worker's thread.
    void start() {
        link(worker_);
        if (worker_.draining) {
            close_now();
            return;
        }
        awaiting_proxy_header_ = worker_.proxy_protocol != proxy_protocol_mode::off;
        // Nothing received yet is an idle connection, PROXY protocol or not
        // (balancers and clients pre-open connections). Once part of a PROXY
        // header has arrived, header_timeout bounds the rest (on_read). TLS
        // differs: the ClientHello is due at once, and the whole preamble
        // (PROXY header and handshake) must be over by header_timeout.
        deadline_ = clock_type::now() + (tls ? worker_.limits.header_timeout : worker_.limits.idle_timeout);
        request_started_ = clock_type::now();
        // Reads after a readiness wait (on_readable) must not block.
        beast::error_code ignored;
        socket().non_blocking(true, ignored);
        do_read();
    }

    void expire() override {
        worker_.metrics.connection_timeouts.fetch_add(1, std::memory_order_relaxed);
        timed_out_ = true;
        close_now();
    }

    void drain() override {
        draining_ = true;
        if (idle_) close_now();
    }

private:
    /// A completion handler that takes its operation's memory from this
    /// session (handler_memory).
    template <class Handler>
    auto bind(Handler&& h) {
        return asio::bind_allocator(handler_allocator<char>(handler_memory_), std::forward<Handler>(h));
    }

    /// The TCP socket under the stream.
    tcp::socket& socket() noexcept {
        if constexpr (tls)
            return stream_.next_layer();
        else
            return stream_;
    }

    void close_now() {
        beast::error_code ignored;
        socket().close(ignored);
    }

    void do_read() {
        if (end_ == capacity_) {  // no room and no complete request: too large
            if constexpr (tls)
                if (in_preamble_) return close_now();  // a PROXY header + ClientHello never fill it
            answer_rejected(status_code::header_fields_too_large_431);
            return;
        }
        idle_ = begin_ == end_ && !in_preamble_;
        // A drain that came while this session was busy (its write completion
        // was still queued behind the drain) closes it when it goes idle.
        if (idle_ && (draining_ || worker_.draining)) {
            close_now();
            return;
        }
        if constexpr (!tls) {
            if (idle_) {
                // Nothing buffered: give the buffers back and wait until the
                // socket is readable, holding none (an idle keep-alive
                // connection costs its session and socket only). Asio re-arms
                // the descriptor for the wait, so bytes that are already there
                // wake it at once. (A TLS stream may hold decrypted bytes the
                // socket no longer signals, so TLS sessions keep reading.)
                begin_ = end_ = 0;
                worker_.pool.give(std::move(buffers_));
                socket().async_wait(tcp::socket::wait_read,
                                    bind([self = this->shared_from_this()](beast::error_code ec) { self->on_readable(ec); }));
                return;
            }
        }
        if (!buffers_) buffers_ = worker_.pool.take();
        auto on_read = bind([self = this->shared_from_this()](beast::error_code ec, std::size_t n) { self->on_read(ec, n); });
        const auto space = asio::buffer(buffers_->in.get() + end_, capacity_ - end_);
        if (in_preamble_)
            socket().async_read_some(space, std::move(on_read));
        else
            stream_.async_read_some(space, std::move(on_read));
    }

    /// Plain only: bytes (or EOF) arrived on an idle connection: take
    /// buffers, read what is there.
    void on_readable(beast::error_code ec) {
        if (ec) return;  // closed by the sweep or a drain: the session ends
        buffers_ = worker_.pool.take();
        const std::size_t n = socket().read_some(asio::buffer(buffers_->in.get(), capacity_), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
            do_read();  // woken for nothing: wait again, buffer-less
            return;
        }
        on_read(ec, n);
    }

    void on_read(beast::error_code ec, std::size_t n) {
        idle_ = false;
        if (ec) {  // EOF, reset, or closed by the sweep: the session ends
            if constexpr (tls)
                // A silent client is a handshake that timed out; one that
                // connects and leaves (a TCP health check) tried nothing.
                if (in_preamble_ && timed_out_) count_handshake(tls_handshake_result::timeout, tls_version_label::none);
            return;
        }
        if (begin_ == end_) request_started_ = clock_type::now();
        end_ += n;
        batch_started_ = clock_type::now();
        if (awaiting_proxy_header_ && !read_proxy_header()) return;
        if constexpr (tls) {
            if (in_preamble_) {
                start_handshake();
                return;
            }
        }
        process();
    }

    /// The PROXY header, if this listener takes one. Returns false when the
    /// session must not go on (need more bytes, or closed).
    bool read_proxy_header() {
        const proxy_protocol_result r = parse_proxy_protocol(buffers_->in.get() + begin_, end_ - begin_);
        const bool required = worker_.proxy_protocol == proxy_protocol_mode::required;
        switch (r.what) {
            case proxy_protocol_result::kind::need_more:
                // (TLS keeps its deadline: the whole preamble is due by then.)
                if (!in_preamble_) deadline_ = request_started_ + worker_.limits.header_timeout;
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
            // The ClientHello is still due within the first header_timeout.
            if (!in_preamble_) deadline_ = clock_type::now() + worker_.limits.idle_timeout;
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
        // (Never on the TLS port: a plain-text 400 there is garbage.)
        if (worker_.proxy_protocol == proxy_protocol_mode::optional && !in_preamble_)
            answer_rejected(status_code::bad_request_400);
        else
            close_now();
        return false;
    }

    /// TLS only: the bytes after the PROXY header (if any) start the
    /// handshake. Anything but a handshake record (0x16, RFC 8446 section
    /// 5.1), such as plain HTTP, gets a fatal unexpected_message alert.
    void start_handshake() {
        if constexpr (tls) {
            if (static_cast<unsigned char>(buffers_->in[begin_]) != 0x16) {
                count_handshake(tls_handshake_result::protocol_error, tls_version_label::none);
                spdlog::debug("closing a connection: not TLS on the TLS port");
                // alert record: TLS 1.2 record version, level fatal (2), unexpected_message (10)
                static constexpr unsigned char alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a};
                deadline_ = clock_type::now() + worker_.limits.write_timeout;
                asio::async_write(socket(), asio::buffer(alert),
                                  bind([self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                      if (!ec) self->linger();
                                  }));
                return;
            }
            stream_.async_handshake(asio::ssl::stream_base::server,
                                    asio::buffer(buffers_->in.get() + begin_, end_ - begin_),
                                    [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                        self->on_handshake(ec);
                                    });
        }
    }

    void on_handshake(beast::error_code ec) {
        if constexpr (tls) {
            // The engine took every buffered byte; what follows comes
            // through the stream.
            begin_ = end_ = 0;
            if (ec) {
                const auto result = timed_out_ ? tls_handshake_result::timeout : classify_tls_failure(ec);
                count_handshake(result, tls_version_label::none);
                spdlog::debug("TLS handshake failed ({}): {}", to_label(result), ec.message());
                return;  // the alert, if any, was written by the handshake
            }
            SSL* ssl = stream_.native_handle();
            count_handshake(SSL_session_reused(ssl) ? tls_handshake_result::resumed : tls_handshake_result::ok,
                            tls_version_of(ssl));
            in_preamble_ = false;
            deadline_ = clock_type::now() + worker_.limits.idle_timeout;
            do_read();
        }
    }

    void count_handshake(tls_handshake_result r, tls_version_label v) noexcept {
        worker_.counters.count_tls_handshake(r, v);
        in_preamble_ = false;  // counted once
    }

    void process() { answer_batch(worker_.reader.get()); }

    /// Answers the complete requests in the buffer (at most
    /// max_pipelined_batch), then writes, or reads for more. Leaves early
    /// when a request must wait for a blob existence check.
    void answer_batch(const serving_snapshot* snapshot) {
        while (begin_ < end_ && batch_answered_ < max_pipelined_batch) {
            const read_outcome got = reader_.read(buffers_->in.get() + begin_, end_ - begin_);
            if (got.what == read_outcome::kind::need_more) {
                begin_ += got.consumed;  // empty lines before a request line
                break;
            }
            if (got.what == read_outcome::kind::reject) {
                pending_requests_ = std::exchange(batch_answered_, 0);
                answer_rejected(got.status);
                return;
            }
            begin_ += got.consumed;
            const request_view& request = got.request;
            response_plan plan = handle_request(request, peer_, snapshot, peer_source_);
            if (snapshot != nullptr && !snapshot->blob_checks.empty() && worker_.blobs != nullptr) {
                excluded_.clear();
                // The batch's clock reading is recent enough for TTLs of seconds.
                if (const blob_check* check = settle_blob_check(plan, request, peer_, *snapshot, peer_source_, excluded_,
                                                                blob_url_, batch_started_)) {
                    wait_for_blob_check(*check, plan, request);
                    return;
                }
            }
            if (!answer(plan, request, snapshot)) break;
        }
        end_batch();
    }

    /// Writes one response and does its bookkeeping. False when the
    /// connection closes after it.
    bool answer(response_plan& plan, const request_view& request, const serving_snapshot* snapshot) {
        ++requests_;
        // Whether the client itself ends the connection here (RFC 9112
        // section 9.6: it sends nothing after a request with close). A body
        // it sent may still be arriving, so that is not counted as asking.
        const bool client_closes = !request.keep_alive && !request.has_body;
        const auto& limits = worker_.limits;
        if (draining_ || worker_.draining ||
            (limits.max_requests_per_connection && requests_ >= limits.max_requests_per_connection))
            plan.close = true;
        const request_trace trace = worker_.tracing ? worker_.begin_trace(request) : request_trace{};
        char request_id[32];
        if (trace.has_trace_id && worker_.tracing->location_request_id) {
            to_hex(trace.trace_id.data(), trace.trace_id.size(), request_id);
            plan.request_id = {request_id, sizeof request_id};
        }
        write_response(plan, request, worker_.date.get(), buffers_->out);
        count(plan, snapshot);
        if (trace.recorded) worker_.record_span(trace, plan, request, snapshot, batch_started_);
        if (worker_.access) worker_.log_access(plan, request, snapshot, batch_started_, &trace);
        ++batch_answered_;
        if (plan.close) {
            close_after_write_ = true;
            client_closes_ = client_closes;
            return false;
        }
        if (begin_ < end_) request_started_ = batch_started_;
        return true;
    }

    void end_batch() {
        pending_requests_ = std::exchange(batch_answered_, 0);
        if (!buffers_->out.empty()) {
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

    /// Asks the mirror (one HEAD shared by every request for that URL) and
    /// waits without blocking the thread; reading stops meanwhile, so the
    /// request's views into the buffer stay valid. The snapshot is held, so
    /// the plan's pointers into it do too.
    void wait_for_blob_check(const blob_check& check, const response_plan& plan, const request_view& request) {
        waiting_snapshot_ = worker_.reader.share();
        waiting_plan_ = plan;
        waiting_request_ = request;
        deadline_ = clock_type::now() + check.config.timeout + worker_.limits.header_timeout;
        worker_.blobs->check(check.cache, check.config, check.tls, blob_url_, socket().get_executor(),
                             [self = this->shared_from_this()](blob_verdict v) { self->on_blob_verdict(v); });
    }

    void on_blob_verdict(blob_verdict verdict) {
        const std::shared_ptr<const serving_snapshot> snapshot = std::move(waiting_snapshot_);
        if (!socket().is_open()) return;  // expired or drained meanwhile
        response_plan& plan = waiting_plan_;
        const request_view& request = waiting_request_;
        if (verdict != blob_verdict::exists) {
            // Missing, or no answer in time: the next candidate, never an error.
            excluded_.push_back(plan.mirror);
            plan = handle_request(request, peer_, snapshot.get(), peer_source_, excluded_);
            if (const blob_check* check = settle_blob_check(plan, request, peer_, *snapshot, peer_source_, excluded_,
                                                            blob_url_, blob_existence_cache::clock::now())) {
                wait_for_blob_check(*check, plan, request);
                return;
            }
        }
        if (answer(plan, request, snapshot.get()))
            answer_batch(worker_.reader.get());
        else
            end_batch();
    }

    void count(const response_plan& plan, const serving_snapshot* snapshot) noexcept {
        auto& c = worker_.counters;
        if (is_redirect(plan.status)) {
            c.count_redirect(snapshot->metric_slots[plan.provider], plan.kind, plan.status);
            c.count_source(plan.source);
            if (plan.mirror < snapshot->mirror_slots.size())
                c.count_mirror(snapshot->mirror_slots[plan.mirror], static_cast<std::size_t>(plan.klass));
            c.count_failover(plan.failover);
        } else {
            c.count_rejected(plan.status);
        }
        if (plan.oci && snapshot) c.count_class(static_cast<std::size_t>(plan.klass), static_cast<std::size_t>(plan.action));
    }

    void answer_rejected(status_code status) {
        response_plan plan = reject(status);
        plan.client = peer_;
        write_response(plan, request_view{}, worker_.date.get(), buffers_->out);
        worker_.counters.count_rejected(status);
        if (worker_.access) worker_.log_access(plan, request_view{}, nullptr, batch_started_);
        ++pending_requests_;
        close_after_write_ = true;
        begin_ = end_ = 0;
        do_write();
    }

    void do_write() {
        deadline_ = clock_type::now() + worker_.limits.write_timeout;
        asio::async_write(stream_, asio::buffer(buffers_->out),
                          bind([self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); }));
        // The duration ends here, not in on_write: Asio's initiation has just
        // made the send() (speculatively; a socket buffer with room takes the
        // whole response), so the client can have its bytes now. The
        // completion handler runs later: after whatever else is queued on this
        // thread, or after the thread gets a CPU back from the client its
        // send() woke (on a shared core, a short-lived curl runs to its exit
        // first). Timed there, the histogram counted that wait, which the
        // client never sees (issue 15: 1-2.5 ms against curl's 0.2 ms).
        if (pending_requests_)
            worker_.counters.observe_duration(clock_type::now() - batch_started_, pending_requests_);
        pending_requests_ = 0;
    }

    void on_write(beast::error_code ec) {
        buffers_->out.clear();
        if (ec) return;
        if (close_after_write_) {
            const bool at_once = client_closes_ && nothing_unread();
            if constexpr (tls)
                close_tls(at_once);
            else if (!at_once)
                linger();
            // Plain at once: the session ends here; its destructor closes
            // the socket (FIN).
            return;
        }
        // Requests still in the buffer (pipelined) are answered before reading.
        batch_started_ = clock_type::now();
        process();
    }

    /// Nothing the client sent is left to read: not in our buffer, not in
    /// the TLS engine, not in the socket. One ioctl.
    bool nothing_unread() {
        if (begin_ != end_) return false;
        if constexpr (tls) {
            SSL* ssl = stream_.native_handle();
            if (SSL_has_pending(ssl) || BIO_ctrl_pending(SSL_get_rbio(ssl)) != 0) return false;
        }
        beast::error_code ec;
        return socket().available(ec) == 0 && !ec;
    }

    /// TLS only: close_notify, then the session ends and its destructor
    /// closes the socket.
    ///
    /// `at_once`: the client asked to close and sent nothing more. Its
    /// close_notify is marked received, so OpenSSL does not wait for it, as
    /// NGINX does: waiting cost every Connection: close request another
    /// wake-up and read. The reset RFC 9112 section 9.6 warns of needs unread
    /// data when the socket closes, and such a client sends none (a stray
    /// close_notify arriving later meets a closed socket after the client
    /// has read the response).
    ///
    /// Otherwise (we chose to close, or it left bytes unread) the client may
    /// still be sending: wait, within the linger deadline, for its
    /// close_notify, which also tells us it has read the response. After it
    /// the client sends nothing more (RFC 8446 section 6.1), so the TCP
    /// linger (shutdown, wait for EOF) would only cost another wake-up.
    /// Failed (the client left without close_notify): the same.
    void close_tls(bool at_once) {
        if constexpr (tls) {
            if (at_once) {
                SSL* ssl = stream_.native_handle();
                SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) | SSL_RECEIVED_SHUTDOWN);
            }
            deadline_ = clock_type::now() + (at_once ? worker_.limits.write_timeout : linger_timeout);
            stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
        }
    }

    /// Half-close, then read and discard until the client closes or the
    /// linger deadline passes (RFC 9112 section 9.6: avoid a reset that
    /// could destroy the response before the client reads it).
    void linger() {
        beast::error_code ignored;
        socket().shutdown(tcp::socket::shutdown_send, ignored);
        deadline_ = clock_type::now() + linger_timeout;
        begin_ = end_ = 0;
        worker_.pool.give(std::move(buffers_));  // what arrives now is discarded
        linger_read();
    }

    void linger_read() {
        socket().async_read_some(asio::buffer(worker_.discard, sizeof worker_.discard),
                                 bind([self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                     if (!ec) self->linger_read();
                                 }));
    }

    void compact() {
        if (begin_ == end_) {
            begin_ = end_ = 0;
        } else if (begin_ > 0) {
            std::memmove(buffers_->in.get(), buffers_->in.get() + begin_, end_ - begin_);
            end_ -= begin_;
            begin_ = 0;
        }
    }

    Stream stream_;
    worker& worker_;
    ip_address peer_;  // the TCP peer, or the client a PROXY header named
    client_ip_source peer_source_ = client_ip_source::peer;
    bool awaiting_proxy_header_ = false;
    bool in_preamble_ = tls;  // TLS: before the handshake has completed
    // Held only while something is buffered or being written (do_read,
    // on_readable): an idle plain connection holds none.
    std::unique_ptr<buffer_pool::buffers> buffers_;
    std::size_t capacity_;
    std::size_t begin_ = 0;  // first unparsed byte
    std::size_t end_ = 0;    // end of received bytes
    request_reader reader_;
    handler_memory handler_memory_;
    std::size_t requests_ = 0;
    std::size_t batch_answered_ = 0;  // responses of this batch in buffers_->out
    std::size_t pending_requests_ = 0;
    // A blob request waiting for its existence check (and what it needs).
    std::vector<std::uint32_t> excluded_;  // mirrors passed over for this request
    std::string blob_url_;
    std::shared_ptr<const serving_snapshot> waiting_snapshot_;
    response_plan waiting_plan_;
    request_view waiting_request_;
    bool close_after_write_ = false;
    bool client_closes_ = false;  // the response that closes answers a request that asked to close
    bool draining_ = false;
    bool idle_ = false;
    bool timed_out_ = false;
    clock_type::time_point request_started_{};
    clock_type::time_point batch_started_{};
};

void worker::sweep() {
    sweep_timer.expires_after(sweep_interval);
    sweep_timer.async_wait([this](beast::error_code ec) {
        if (ec) return;
        const auto now = clock_type::now();
        // Closing only cancels pending operations; sessions are destroyed
        // later, from their handlers, so the list stays valid here.
        for (session_link* s = sessions; s != nullptr; s = s->next())
            if (s->deadline() < now) s->expire();
        // Take a newly published snapshot now rather than at the next
        // request, so an idle thread does not keep the old table alive.
        reader.get();
        if (++sweeps_since_trim == sweeps_per_trim) {
            sweeps_since_trim = 0;
            trim_memory();
        }
        sweep();
    });
}
void worker::trim_memory() {
    released_since_heap_trim += pool.trim(pool_keep) + sessions_closed * bytes_per_closed_session;
    sessions_closed = 0;
#if defined(__GLIBC__)
    // After a storm, once the connections are gone: glibc keeps what they
    // freed (fragmented between live blocks, so the heap top cannot shrink);
    // malloc_trim returns the free pages to the system. It takes the heap
    // locks for a few milliseconds, so it is rare: only after megabytes were
    // freed, at most once per min_time_between_trims per process.
    static std::atomic<clock_type::rep> last_trim{0};
    if (released_since_heap_trim < trim_after_bytes) return;
    const auto now = clock_type::now().time_since_epoch().count();
    auto last = last_trim.load(std::memory_order_relaxed);
    if (now - last < std::chrono::duration_cast<clock_type::duration>(min_time_between_trims).count()) return;
    if (!last_trim.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
    released_since_heap_trim = 0;
    ::malloc_trim(0);
#else
    released_since_heap_trim = 0;
#endif
}


request_trace worker::begin_trace(const request_view& request) noexcept {
    request_trace t;
    const http_tracing& cfg = *tracing;
    // One traceparent line exactly (W3C Trace Context section 3.2); an
    // invalid one is ignored, counted, and the request starts a new trace.
    std::optional<trace_parent> parent;
    if (request.traceparent.count == 1) parent = parse_traceparent(request.traceparent.values[0]);
    if (request.traceparent.count > 0 && !parent) counters.count_invalid_trace_context(0);
    if (parent) {
        const unsigned lines = std::min(request.tracestate.count, header_lines::max_lines);
        if (request.tracestate.count > header_lines::max_lines ||
            !valid_tracestate(request.tracestate.values.data(), lines)) {
            counters.count_invalid_trace_context(1);
        } else {
            t.tracestate = request.tracestate;
        }
    }
    t.trace_id = parent ? parent->trace_id : ids.trace_id();
    t.recorded = cfg.sampler.sample(parent ? &*parent : nullptr, t.trace_id);
    // A trace id is kept when a span is recorded, the client sent one, or
    // the Location carries it.
    t.has_trace_id = t.recorded || parent || cfg.location_request_id;
    if (parent) {
        t.parent_id = parent->parent_id;
        t.has_parent = true;
    }
    if (t.recorded) t.span_id = ids.span_id();
    if (!t.has_trace_id) t.trace_id = {};
    return t;
}

void worker::record_span(const request_trace& trace, const response_plan& plan, const request_view& request,
                         const serving_snapshot* snapshot, clock_type::time_point started) noexcept {
    otlp_exporter& exporter = *tracing->exporter;
    span_ring& ring = exporter.ring(index);
    span_record* s = ring.claim();
    if (s == nullptr) {
        exporter.count_drop();
        return;
    }
    const auto now_steady = clock_type::now();
    const std::int64_t end = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
    s->trace_id = trace.trace_id;
    s->span_id = trace.span_id;
    s->parent_span_id = trace.has_parent ? trace.parent_id : span_id_bytes{};
    s->flags = 1;  // sampled
    s->end_unix_ns = end;
    s->start_unix_ns = end - std::chrono::duration_cast<std::chrono::nanoseconds>(now_steady - started).count();
    s->client = plan.client;
    s->status = static_cast<std::uint16_t>(to_number(plan.status));
    s->provider_slot = is_redirect(plan.status) && snapshot ? snapshot->metric_slots[plan.provider] : 0xffff;
    s->mirror_slot = snapshot && plan.mirror < snapshot->mirror_slots.size() ? snapshot->mirror_slots[plan.mirror] : 0xffff;
    s->route = static_cast<std::uint8_t>(plan.kind);
    s->http_minor = request.version == 10 ? 0 : 1;
    const std::size_t method_length = std::min(request.method.size(), span_record::max_method);
    std::memcpy(s->method, request.method.data(), method_length);
    s->method_length = static_cast<std::uint8_t>(method_length);
    // url.path: the target without its query, cut to the record's size.
    std::string_view path = request.target.substr(0, request.target.find('?'));
    if (path.size() > span_record::max_path) path = path.substr(0, span_record::max_path);
    if (!path.empty()) std::memcpy(s->path, path.data(), path.size());
    s->path_length = static_cast<std::uint16_t>(path.size());
    // The tracestate lines joined with ',' (one list); dropped when too long.
    std::size_t length = 0;
    const unsigned lines = std::min(trace.tracestate.count, header_lines::max_lines);
    for (unsigned i = 0; i < lines; ++i) {
        const std::string_view line = trace.tracestate.values[i];
        if (length + line.size() + (i ? 1 : 0) > span_record::max_tracestate) {
            length = 0;
            break;
        }
        if (i) s->tracestate[length++] = ',';
        if (!line.empty()) std::memcpy(s->tracestate + length, line.data(), line.size());
        length += line.size();
    }
    s->tracestate_length = static_cast<std::uint16_t>(length);
    ring.commit();
}

void worker::log_access(const response_plan& plan, const request_view& request, const serving_snapshot* snapshot,
                        clock_type::time_point started, const request_trace* trace) noexcept {
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
    r->provider_slot = is_redirect(plan.status) && snapshot ? snapshot->metric_slots[plan.provider] : 0xffff;
    r->route = static_cast<std::uint8_t>(plan.kind);
    r->set(request.method, request.target, request.user_agent);
    r->trace_id = trace && trace->has_trace_id ? trace->trace_id : trace_id_bytes{};
    r->span_id = trace && trace->recorded ? trace->span_id : span_id_bytes{};
    ring.commit();
}

void worker::start_draining() {
    draining = true;
    for (session_link* s = sessions; s != nullptr; s = s->next()) s->drain();
}

ip_address to_ip_address(const tcp::endpoint& endpoint) {
    const auto a = endpoint.address();
    if (a.is_v4()) return ip_address::from_v4(a.to_v4().to_uint());
    const auto bytes = a.to_v6().to_bytes();
    unsigned char raw[16];
    std::memcpy(raw, bytes.data(), 16);
    return ip_address::from_v6_bytes(raw);  // folds ::ffff:a.b.c.d from dual-stack sockets
}

/// A connection one worker accepted for another: its descriptor, on the way
/// to the other worker's thread. Closed if it never arrives (the server
/// stopped first).
class handed_socket {
public:
    explicit handed_socket(int fd) noexcept : fd_(fd) {}
    handed_socket(handed_socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    handed_socket& operator=(handed_socket&&) = delete;
    ~handed_socket() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const noexcept { return fd_; }
    void disown() noexcept { fd_ = -1; }

private:
    int fd_;
};

/// One listening socket (plain HTTP, or HTTPS with the contexts of `tls`)
/// as one worker sees it. Every worker accepts on every listener itself, in
/// its own io_context (a dup of the one listening descriptor), as an NGINX
/// worker does: a new connection is read, and its handshake made, by the
/// thread that accepted it, with no hand-off to wake another thread (with
/// `threads: 1`, the accept thread this replaced cost new TLS connections a
/// quarter of their rate on a busy 2-core machine).
struct acceptor_slot {
    acceptor_slot(worker& w, tcp::acceptor&& a, const tls_context_store* contexts)
        : owner(w), acceptor(std::move(a)), backoff(w.context), protocol(acceptor.local_endpoint().protocol()),
          tls(contexts) {}
    worker& owner;
    tcp::acceptor acceptor;   // touched only on owner's thread once started
    asio::steady_timer backoff;
    tcp::endpoint peer;       // where the pending accept puts the client's address
    tcp protocol;
    const tls_context_store* tls;  // null: plain HTTP
};

/// Makes the session for an accepted connection, on `w`'s thread: it lives
/// in that worker's slab_arena and dies there (its destructor unlinks it
/// from that worker's list). `context` is null for plain HTTP.
void start_session(worker& w, tcp::socket socket, const ip_address& peer, const tls_context* context) {
    if (context == nullptr)
        std::allocate_shared<session<plain_stream>>(slab_allocator<session<plain_stream>>(w.session_memory),
                                                    std::move(socket), w, peer)
            ->start();
    else
        std::allocate_shared<session<tls_stream>>(slab_allocator<session<tls_stream>>(w.tls_session_memory),
                                                  std::move(socket), w, peer, context->native())
            ->start();
}

}  // namespace

struct http_server::impl {
    impl(const std::optional<endpoint_config>& listen, const std::optional<https_listener>& https, unsigned thread_count,
         const connection_limits& limits_in, const serving_store& store, request_metrics& metrics_in, access_log* log,
         proxy_protocol_mode proxy)
        : limits(limits_in), metrics(metrics_in) {
        for (unsigned i = 0; i < thread_count; ++i)
            workers.push_back(std::make_unique<worker>(i, store, metrics.thread(i), metrics, limits, log, proxy));
        if (listen) plain = open(*listen, nullptr);
        if (https) {
            secure = open(https->endpoint, &https->contexts);
            metrics.tls_enabled.store(true, std::memory_order_relaxed);
        }
    }

    /// Binds the listener, then gives every worker its own acceptor on it
    /// (a dup of the descriptor, registered with that worker's io_context).
    /// Returns the first worker's, whose port the listener reports.
    acceptor_slot* open(const endpoint_config& at, const tls_context_store* contexts) {
        const char* role = contexts ? "TLS redirect port" : "redirect port";
        tcp::acceptor first(workers.front()->context);
        open_listener(first, at, role);
        acceptor_slot* primary = &acceptors.emplace_back(*workers.front(), std::move(first), contexts);
        for (std::size_t i = 1; i < workers.size(); ++i) {
            handed_socket copy(::dup(primary->acceptor.native_handle()));
            beast::error_code ec;
            if (copy.get() < 0) ec.assign(errno, beast::system_category());
            tcp::acceptor mine(workers[i]->context);
            if (!ec) mine.assign(primary->protocol, copy.get(), ec);
            if (ec) throw listen_error("cannot listen on " + to_string(at) + " (" + role + "): dup: " + ec.message());
            copy.disown();
            acceptors.emplace_back(*workers[i], std::move(mine), contexts);
        }
        return primary;
    }

    /// On the slot's worker's thread (or before start).
    void do_accept(acceptor_slot& s) {
        if (!accepting.load(std::memory_order_relaxed)) return;
        s.acceptor.async_accept(s.peer, [this, &s](beast::error_code ec, tcp::socket socket) {
            on_accept(s, ec, std::move(socket));
        });
    }

    /// Where a connection accepted by `own` goes: `own` unless another
    /// worker has clearly fewer connections (then the least loaded: the
    /// balance of the accept thread this replaced, within a small slack so
    /// that evenly loaded workers keep what they accept).
    worker& placement(worker& own) const noexcept {
        if (workers.size() == 1) return own;
        auto load = [](const worker& w) {
            return w.session_count.load(std::memory_order_relaxed) + w.incoming.load(std::memory_order_relaxed);
        };
        worker* least = workers.front().get();
        std::size_t least_load = load(*least);
        for (const auto& w : workers) {
            const std::size_t l = load(*w);
            if (l < least_load) {
                least = w.get();
                least_load = l;
            }
        }
        return load(own) <= least_load + 1 + least_load / 16 ? own : *least;
    }

    void on_accept(acceptor_slot& s, beast::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !accepting.load(std::memory_order_relaxed)) return;
        if (ec) {
            metrics.accept_errors.fetch_add(1, std::memory_order_relaxed);
            // EMFILE/ENFILE and friends: retrying at once would spin. Back
            // off, then re-arm; never stop accepting for good.
            spdlog::warn("accept failed: {}; retrying in 100 ms", ec.message());
            s.backoff.expires_after(std::chrono::milliseconds(100));
            s.backoff.async_wait([this, &s](beast::error_code wait_ec) {
                if (!wait_ec) do_accept(s);
            });
            return;
        }
        const auto open = metrics.connections_open.fetch_add(1, std::memory_order_relaxed) + 1;
        if (static_cast<std::size_t>(open) > limits.max_connections) {
            metrics.connections_open.fetch_sub(1, std::memory_order_relaxed);
            metrics.connections_rejected.fetch_add(1, std::memory_order_relaxed);
            beast::error_code ignored;
            if (s.tls == nullptr) {
                // Tell the client why, best effort: a fresh socket's send
                // buffer takes these bytes without blocking. (A TLS client
                // could not read them before a handshake: it just sees
                // the close.)
                static constexpr std::string_view busy =
                    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                socket.non_blocking(true, ignored);
                socket.write_some(asio::buffer(busy.data(), busy.size()), ignored);
            }
            socket.shutdown(tcp::socket::shutdown_send, ignored);
            socket.close(ignored);
            do_accept(s);
            return;
        }
        // The newest context: a rotation affects handshakes from now on.
        std::shared_ptr<const tls_context> context;
        if (s.tls != nullptr) {
            context = s.tls->load();
            if (context == nullptr) {  // not published yet (start-up): nothing to offer
                metrics.connections_open.fetch_sub(1, std::memory_order_relaxed);
                beast::error_code ignored;
                socket.close(ignored);
                do_accept(s);
                return;
            }
        }
        beast::error_code option_ec;
        socket.set_option(tcp::no_delay(true), option_ec);
        const ip_address peer = to_ip_address(s.peer);  // accept() filled it in: no getpeername
        worker& target = placement(s.owner);
        if (&target == &s.owner) {
            start_session(target, std::move(socket), peer, context.get());
        } else {
            // Another worker's: only the descriptor moves (a socket belongs
            // to the io_context it was made in).
            beast::error_code release_ec;
            handed_socket fd(socket.release(release_ec));
            if (release_ec) {
                metrics.connections_open.fetch_sub(1, std::memory_order_relaxed);
            } else {
                target.incoming.fetch_add(1, std::memory_order_relaxed);
                asio::post(target.context, [this, &target, fd = std::move(fd), protocol = s.protocol, peer,
                                            context = std::move(context)]() mutable {
                    target.incoming.fetch_sub(1, std::memory_order_relaxed);
                    tcp::socket handed(target.context);
                    beast::error_code assign_ec;
                    handed.assign(protocol, fd.get(), assign_ec);
                    if (assign_ec) {
                        metrics.connections_open.fetch_sub(1, std::memory_order_relaxed);
                        return;  // fd closes it
                    }
                    fd.disown();
                    start_session(target, std::move(handed), peer, context.get());
                });
            }
        }
        do_accept(s);
    }

    const connection_limits limits;
    request_metrics& metrics;
    std::vector<std::unique_ptr<worker>> workers;
    // After the workers: acceptors (and their timers) are registered with
    // the workers' io_contexts, so they go first.
    std::list<acceptor_slot> acceptors;  // stable addresses
    acceptor_slot* plain = nullptr;
    acceptor_slot* secure = nullptr;
    std::vector<std::thread> threads;
    std::atomic<bool> accepting{true};
};

http_server::http_server(const endpoint_config& listen, unsigned threads, const connection_limits& limits,
                         const serving_store& store, request_metrics& metrics, access_log* log,
                         proxy_protocol_mode proxy_protocol)
    : http_server(listen, std::nullopt, threads, limits, store, metrics, log, proxy_protocol) {}

http_server::http_server(const std::optional<endpoint_config>& listen, const std::optional<https_listener>& https,
                         unsigned threads, const connection_limits& limits, const serving_store& store,
                         request_metrics& metrics, access_log* log, proxy_protocol_mode proxy_protocol)
    : impl_(std::make_unique<impl>(listen, https, threads, limits, store, metrics, log, proxy_protocol)) {}

http_server::~http_server() { stop(); }

namespace {
unsigned short port_of(const acceptor_slot* l) noexcept {
    if (l == nullptr) return 0;
    beast::error_code ec;
    return l->acceptor.local_endpoint(ec).port();
}
}  // namespace

unsigned short http_server::port() const noexcept { return port_of(impl_->plain); }

unsigned short http_server::tls_port() const noexcept { return port_of(impl_->secure); }

void http_server::set_tracing(const http_tracing& tracing) {
    for (auto& w : impl_->workers) w->tracing = tracing;
}

void http_server::set_blob_checker(blob_checker* checker) {
    for (auto& w : impl_->workers) w->blobs = checker;
}

void http_server::start() {
    // Armed before the threads run: each acceptor is its worker's alone
    // from then on.
    for (auto& a : impl_->acceptors) impl_->do_accept(a);
    for (auto& w : impl_->workers) {
        w->sweep();
        impl_->threads.emplace_back([&w] {
            auto guard = asio::make_work_guard(w->context);
            w->context.run();
        });
    }
}

void http_server::stop_accepting() {
    impl_->accepting.store(false, std::memory_order_relaxed);
    // Each worker closes its own acceptors (the listening socket closes with
    // the last), then drains.
    for (auto& w : impl_->workers)
        asio::post(w->context, [this, &w] {
            for (auto& a : impl_->acceptors) {
                if (&a.owner != w.get()) continue;
                beast::error_code ignored;
                a.acceptor.close(ignored);
                a.backoff.cancel();
            }
            w->start_draining();
        });
}

std::size_t http_server::session_memory_bytes() const noexcept {
    std::size_t chunks = 0;
    for (const auto& w : impl_->workers) chunks += w->session_memory.chunks() + w->tls_session_memory.chunks();
    return chunks * slab_arena::chunk_bytes;
}

std::size_t http_server::open_connections() const noexcept {
    return static_cast<std::size_t>(std::max<std::int64_t>(0, impl_->metrics.connections_open.load()));
}

void http_server::stop() {
    if (!impl_) return;
    for (auto& w : impl_->workers) w->context.stop();
    for (auto& t : impl_->threads)
        if (t.joinable()) t.join();
    impl_->threads.clear();
}

}  // namespace registry_redirector
