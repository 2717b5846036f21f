#include "registry_redirector/telemetry/otlp_exporter.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "registry_redirector/routing/request_outcome.hpp"
#include "registry_redirector/telemetry/access_log.hpp"

namespace registry_redirector {

namespace {

using steady = std::chrono::steady_clock;

void append_number(std::string& out, std::int64_t v) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
    out.append(digits, end);
}

void append_string_attribute(std::string& out, std::string_view key, std::string_view value, bool& first) {
    out += first ? "{\"key\":\"" : ",{\"key\":\"";
    first = false;
    append_json_escaped(out, key);
    out += "\",\"value\":{\"stringValue\":\"";
    append_json_escaped(out, value);
    out += "\"}}";
}

void append_int_attribute(std::string& out, std::string_view key, std::int64_t value, bool& first) {
    out += first ? "{\"key\":\"" : ",{\"key\":\"";
    first = false;
    out += key;
    out += "\",\"value\":{\"intValue\":\"";  // int64 as a JSON string (OTLP/JSON, protobuf JSON mapping)
    append_number(out, value);
    out += "\"}}";
}

/// The HTTP semantic conventions' known methods; anything else is _OTHER.
bool known_method(std::string_view m) {
    for (std::string_view k : {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
        if (m == k) return true;
    return false;
}

/// A file descriptor closed on scope exit.
struct socket_fd {
    int fd = -1;
    ~socket_fd() {
        if (fd >= 0) ::close(fd);
    }
};

bool wait_for(int fd, short events, steady::time_point deadline) {
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, events, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left));
        if (r > 0) return true;
        if (r < 0 && errno != EINTR) return false;
    }
}

}  // namespace

std::string encode_otlp_json(const std::vector<span_record>& spans, const attribute_list& resource,
                             const span_names& names, std::uint8_t ipv4_prefix, std::uint8_t ipv6_prefix) {
    std::string out;
    out.reserve(512 + spans.size() * 700);
    out += "{\"resourceSpans\":[{\"resource\":{\"attributes\":[";
    bool first = true;
    for (const auto& [key, value] : resource) append_string_attribute(out, key, value, first);
    out += "]},\"scopeSpans\":[{\"scope\":{\"name\":\"registry-redirector\",\"version\":\"" REDIRECTOR_VERSION "\"},\"spans\":[";
    for (std::size_t i = 0; i < spans.size(); ++i) {
        const span_record& s = spans[i];
        const std::string_view method(s.method, s.method_length);
        const std::string_view path(s.path, s.path_length);
        const bool known = known_method(method);
        out += i ? ",{\"traceId\":\"" : "{\"traceId\":\"";
        append_hex(out, s.trace_id.data(), s.trace_id.size());
        out += "\",\"spanId\":\"";
        append_hex(out, s.span_id.data(), s.span_id.size());
        out += '"';
        if (s.parent_span_id != span_id_bytes{}) {
            out += ",\"parentSpanId\":\"";
            append_hex(out, s.parent_span_id.data(), s.parent_span_id.size());
            out += '"';
        }
        if (s.tracestate_length) {
            out += ",\"traceState\":\"";
            append_json_escaped(out, std::string_view(s.tracestate, s.tracestate_length));
            out += '"';
        }
        // Span name: the method (semantic conventions: "{method}" when
        // there is no route template); SPAN_KIND_SERVER = 2.
        out += ",\"name\":\"";
        append_json_escaped(out, known ? method : std::string_view("HTTP"));
        out += "\",\"kind\":2,\"flags\":";
        // Bits 8-9: the parent is known and remote or not (OTLP SpanFlags).
        append_number(out, s.flags | (s.parent_span_id != span_id_bytes{} ? 0x300 : 0x100));
        out += ",\"startTimeUnixNano\":\"";
        append_number(out, s.start_unix_ns);
        out += "\",\"endTimeUnixNano\":\"";
        append_number(out, s.end_unix_ns);
        out += "\",\"attributes\":[";
        bool a = true;
        append_string_attribute(out, "http.request.method", known ? method : std::string_view("_OTHER"), a);
        if (!known && !method.empty()) append_string_attribute(out, "http.request.method_original", method, a);
        append_string_attribute(out, "url.path", path, a);
        append_int_attribute(out, "http.response.status_code", s.status, a);
        append_string_attribute(out, "network.protocol.version", s.http_minor == 0 ? "1.0" : "1.1", a);
        std::string client;
        append_anonymised_client(client, s.client, ipv4_prefix, ipv6_prefix);
        append_string_attribute(out, "client.address", client, a);
        append_string_attribute(out, "registry_redirector.provider",
                                s.provider_slot == 0xffff ? std::string("none") : names.provider(s.provider_slot), a);
        if (s.mirror_slot != 0xffff && names.mirror)
            append_string_attribute(out, "registry_redirector.mirror", names.mirror(s.mirror_slot), a);
        append_string_attribute(out, "registry_redirector.route", to_label(static_cast<route>(s.route)), a);
        out += "],\"status\":{";
        // Server spans: 5xx is an error, 4xx is the client's (semantic conventions).
        if (s.status >= 500) out += "\"code\":2";
        out += "}}";
    }
    out += "]}]}]}";
    return out;
}

std::string gzip_compress(const std::string& data) {
    z_stream z{};
    // windowBits 15 + 16: a gzip wrapper instead of zlib's.
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2 failed");
    std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 32, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int r = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (r != Z_STREAM_END) throw std::runtime_error("deflate failed");
    return out;
}

otlp_exporter::otlp_exporter(otel_settings settings, unsigned threads, span_names names, std::uint8_t ipv4_prefix,
                             std::uint8_t ipv6_prefix, otel_counters& counters, options opts)
    : settings_(std::move(settings)),
      names_(std::move(names)),
      ipv4_prefix_(ipv4_prefix),
      ipv6_prefix_(ipv6_prefix),
      counters_(counters),
      options_(opts) {
    for (unsigned i = 0; i < threads; ++i) rings_.push_back(std::make_unique<span_ring>(options_.ring_capacity));
}

otlp_exporter::~otlp_exporter() { stop(std::chrono::milliseconds(0)); }

void otlp_exporter::start() { thread_ = std::thread([this] { run(); }); }

void otlp_exporter::stop(std::chrono::milliseconds bound) {
    if (!thread_.joinable()) return;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        stop_deadline_ = steady::now() + bound;
    }
    wake_.notify_all();
    thread_.join();
}

std::size_t otlp_exporter::collect(std::vector<span_record>& batch) {
    std::size_t n = 0;
    for (auto& ring : rings_) {
        if (batch.size() >= options_.max_batch) break;
        n += ring->drain([&](const span_record& s) { batch.push_back(s); }, options_.max_batch - batch.size());
    }
    return n;
}

void otlp_exporter::run() {
    std::vector<span_record> batch;
    batch.reserve(options_.max_batch);
    auto first_queued = steady::time_point::max();
    constexpr auto poll = std::chrono::milliseconds(100);
    while (true) {
        bool stopping;
        steady::time_point deadline;
        {
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, poll, [&] { return stopping_; });
            stopping = stopping_;
            deadline = stop_deadline_;
        }
        if (collect(batch) > 0 && first_queued == steady::time_point::max()) first_queued = steady::now();
        const bool due = !batch.empty() &&
                         (batch.size() >= options_.max_batch || steady::now() - first_queued >= options_.interval);
        if (!stopping) {
            if (due) {
                post(batch, options_.timeout);
                batch.clear();
                first_queued = steady::time_point::max();
            }
            continue;
        }
        // Shutdown: flush what is queued, each POST cut to what is left of the bound.
        while (!batch.empty()) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
            if (left.count() <= 0) {
                counters_.spans_failed.fetch_add(batch.size(), std::memory_order_relaxed);
            } else {
                post(batch, std::min(left, options_.timeout));
            }
            batch.clear();
            collect(batch);
        }
        return;
    }
}

bool otlp_exporter::post(const std::vector<span_record>& batch, std::chrono::milliseconds timeout) {
    auto failed = [&] {
        counters_.export_failures.fetch_add(1, std::memory_order_relaxed);
        counters_.spans_failed.fetch_add(batch.size(), std::memory_order_relaxed);
        return false;
    };
    std::string body;
    try {
        body = gzip_compress(encode_otlp_json(batch, settings_.resource_attributes, names_, ipv4_prefix_, ipv6_prefix_));
    } catch (const std::exception&) {
        return failed();
    }
    const auto deadline = steady::now() + timeout;
    const http_url& url = settings_.traces_url;
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (::getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &found) != 0 || found == nullptr)
        return failed();
    socket_fd s;
    bool connected = false;
    for (addrinfo* ai = found; ai != nullptr && !connected; ai = ai->ai_next) {
        if (s.fd >= 0) ::close(s.fd);
        s.fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (s.fd < 0) continue;
        if (::connect(s.fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            connected = true;
        } else if (errno == EINPROGRESS && wait_for(s.fd, POLLOUT, deadline)) {
            int err = 0;
            socklen_t len = sizeof err;
            connected = ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
        }
    }
    ::freeaddrinfo(found);
    if (!connected) return failed();

    const bool v6 = url.host.find(':') != std::string::npos;
    std::string request = "POST ";
    request += url.path;
    request += " HTTP/1.1\r\nHost: ";
    if (v6) request += '[';
    request += url.host;
    if (v6) request += ']';
    request += ':';
    request += std::to_string(url.port);
    request += "\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nUser-Agent: registry-redirector/"
               REDIRECTOR_VERSION "\r\nConnection: close\r\nContent-Length: ";
    request += std::to_string(body.size());
    request += "\r\n\r\n";
    request += body;
    for (std::size_t sent = 0; sent < request.size();) {
        const ssize_t n = ::send(s.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_for(s.fd, POLLOUT, deadline)) return failed();
        } else {
            return failed();
        }
    }
    // The status line is all we need: 2xx accepted (a partial success still
    // answers 200), anything else is a failure; no retries (the next batch
    // is already queued behind this one).
    char answer[64];
    std::size_t have = 0;
    while (have < 12) {
        const ssize_t n = ::recv(s.fd, answer + have, sizeof answer - have, 0);
        if (n > 0) {
            have += static_cast<std::size_t>(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_for(s.fd, POLLIN, deadline)) return failed();
        } else {
            return failed();
        }
    }
    if (std::memcmp(answer, "HTTP/1.", 7) != 0 || answer[9] != '2') return failed();
    counters_.spans_exported.fetch_add(batch.size(), std::memory_order_relaxed);
    return true;
}

}  // namespace registry_redirector
