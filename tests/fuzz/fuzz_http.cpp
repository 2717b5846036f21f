// libFuzzer target: hostile bytes on the redirect port, through the real
// request_reader (Beast) and handle_request/write_response, driven the way a
// session drives them (src/http/http_server.cpp): bytes arrive in chunks, a
// fixed-size buffer is compacted between reads, pipelined requests are
// answered in order, a reject or a Connection: close ends the connection.
//
// Input layout: 4 control bytes, then the bytes the client sends.
//   [0] bits 0-1 max_header_bytes (8192, 1024, 1500, 65536)
//       bits 2-3 PROXY protocol mode (off, optional, required, off)
//       bits 4-5 honoured headers (x-real-ip | xff,x-real-ip | forwarded,xff,x-real-ip | none)
//       bit  6   trusted_hops 2 instead of 1
//       bit  7   peer 192.0.2.77 (untrusted) instead of 127.0.0.1 (trusted)
//   [1..2] seed of the chunk sizes; [3] largest chunk (0: everything at once)
//
// Every response is checked; a violation is __builtin_trap().

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "registry_redirector/http/proxy_protocol.hpp"
#include "registry_redirector/http/request_handler.hpp"
#include "registry_redirector/http/request_reader.hpp"
#include "registry_redirector/routing/routing_table.hpp"
#include "registry_redirector/routing/serving_snapshot.hpp"
#include "fuzz_check.hpp"

using namespace registry_redirector;

namespace {

constexpr std::string_view date = "Tue, 24 Nov 2026 10:00:00 GMT";
constexpr std::size_t max_pipelined_batch = 32;  // as in http_server.cpp

ip_prefix prefix(const char* text) {
    const auto r = parse_ip_prefix(text);
    CHECK(r.ok());
    return r.prefix;
}

void add(origin_table& o, const char* text, std::uint32_t asn) {
    const ip_prefix p = prefix(text);
    if (p.family == ip_family::v4)
        o.v4.push_back({p.v4, p.length, asn});
    else
        o.v6.push_back({p.v6, p.length, asn});
}

routing_table make_routes() {
    provider_config bigcloud;
    bigcloud.name = "bigcloud";
    bigcloud.file = "fuzz/bigcloud.yaml";
    bigcloud.redirects_to = redirect_target{"registry.bigcloud.example", "artifacts.bigcloud.example:8443"};
    bigcloud.asns = {64500};
    bigcloud.cidrs = {prefix("192.0.2.128/25")};
    provider_config google;
    google.name = "google";
    google.file = "fuzz/google.yaml";
    google.redirects_to = redirect_target{"registry.google.example", "artifacts.google.example"};
    google.asns = {15169};
    origin_table o;
    add(o, "203.0.113.0/24", 64500);
    add(o, "198.51.100.0/24", 15169);
    add(o, "10.0.0.0/8", 64500);
    add(o, "10.1.0.0/16", 65000);  // a customer hole
    add(o, "2001:db8::/32", 15169);
    add(o, "2001:db8:1::/48", 64500);
    return build_routing_table({bigcloud, google}, "google", std::move(o));
}

/// One snapshot per policy variant (flag bits 4-6), built once.
const serving_snapshot& snapshot_for(unsigned variant) {
    static const std::vector<std::unique_ptr<serving_snapshot>> all = [] {
        const routing_table routes = make_routes();
        std::vector<std::unique_ptr<serving_snapshot>> v;
        for (unsigned i = 0; i < 8; ++i) {
            client_ip_policy policy;
            policy.trusted = trusted_proxy_set({prefix("127.0.0.0/8")});
            switch (i & 3) {
                case 0: policy.headers = {client_ip_header::x_real_ip}; break;
                case 1: policy.headers = {client_ip_header::x_forwarded_for, client_ip_header::x_real_ip}; break;
                case 2:
                    policy.headers = {client_ip_header::forwarded, client_ip_header::x_forwarded_for,
                                      client_ip_header::x_real_ip};
                    break;
                default: policy.headers = {}; break;
            }
            policy.trusted_hops = (i & 4) ? 2 : 1;
            v.push_back(std::make_unique<serving_snapshot>(serving_snapshot{routes, std::move(policy), {0, 1}, 1}));
        }
        return v;
    }();
    return *all[variant & 7];
}

/// The request_reader of this tree (the field-count limit came later).
template <class Reader = request_reader>
Reader make_reader(std::size_t max_header_bytes) {
    if constexpr (std::is_constructible_v<Reader, std::size_t, std::size_t>)
        return Reader(max_header_bytes, 100);
    else
        return Reader(max_header_bytes);
}

/// What a 302 appends to "https://host": plan.target where the handler
/// normalises absolute-form targets, else the request-target as received.
template <class Plan>
std::string_view redirect_path(const Plan& plan, const request_view& request) {
    if constexpr (requires { plan.target; })
        return plan.target;
    else
        return request.target;
}

bool within(std::string_view v, const char* begin, const char* end) {
    return v.empty() || (v.data() >= begin && v.data() + v.size() <= end);
}

/// Views point into the request's bytes. The one exception is a header
/// value with obs-fold (a line continued by SP/HTAB), which Beast unfolds
/// into a buffer of its own; where that buffer lives is the reader's
/// business, but it must still be alive now: touch_views reads every byte,
/// so ASan (with detect_stack_use_after_return, see below) catches a view
/// into a dead stack frame or freed memory.
/// A header whose lines end in a bare LF, or whose version is HTTP/1.x with
/// x other than 0 or 1, is parsed from a copy that the reader keeps for the
/// calling thread (CRLF line ends, HTTP/1.1): its views point there.
void check_view_bounds(const request_view& r, const char* begin, const char* end) {
    const std::string_view raw(begin, static_cast<std::size_t>(end - begin));
    bool bare_lf = false;
    for (std::size_t i = 0; i < raw.size(); ++i)
        if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) bare_lf = true;
    std::string_view line = raw.substr(raw.find_first_not_of("\r\n") == std::string_view::npos ? raw.size()
                                                                                              : raw.find_first_not_of("\r\n"));
    line = line.substr(0, line.find('\n'));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool other_minor = line.size() >= 8 && line.substr(line.size() - 8, 7) == "HTTP/1." &&
                             line.back() != '0' && line.back() != '1';
    const bool copied = bare_lf || other_minor;
    CHECK(within(r.method, begin, end) || copied);
    CHECK(within(r.target, begin, end) || copied);
    const bool folded = raw.find("\n ") != std::string_view::npos || raw.find("\n\t") != std::string_view::npos ||
                        copied;
    auto value_ok = [&](std::string_view v) { return within(v, begin, end) || folded; };
    CHECK(value_ok(r.user_agent));
    for (const header_lines* h : {&r.proxy.x_real_ip, &r.proxy.x_forwarded_for, &r.proxy.forwarded}) {
        const unsigned kept = h->count < header_lines::max_lines ? h->count : header_lines::max_lines;
        for (unsigned i = 0; i < kept; ++i) CHECK(value_ok(h->values[i]));
    }
}

unsigned touch(std::string_view v) {
    unsigned sum = 0;
    for (char c : v) sum += static_cast<unsigned char>(c);
    return sum;
}

unsigned touch_views(const request_view& r) {
    unsigned sum = touch(r.method) + touch(r.target) + touch(r.user_agent);
    for (const header_lines* h : {&r.proxy.x_real_ip, &r.proxy.x_forwarded_for, &r.proxy.forwarded}) {
        const unsigned kept = h->count < header_lines::max_lines ? h->count : header_lines::max_lines;
        for (unsigned i = 0; i < kept; ++i) sum += touch(h->values[i]);
    }
    return sum;
}

std::string_view header_value(std::string_view head, std::string_view name) {
    // `head` is the header block, lines joined by CRLF; name includes ": ".
    std::size_t at = 0;
    while (at < head.size()) {
        std::size_t eol = head.find("\r\n", at);
        if (eol == std::string_view::npos) eol = head.size();
        const std::string_view line = head.substr(at, eol - at);
        if (line.substr(0, name.size()) == name) return line.substr(name.size());
        at = eol + 2;
    }
    return {};
}

/// The invariants of one serialized response.
void check_response(std::string_view out, const response_plan& plan, const request_view& request) {
    CHECK(out.substr(0, 9) == "HTTP/1.1 ");
    const std::size_t end = out.find("\r\n\r\n");
    CHECK(end != std::string_view::npos);
    CHECK(out.find("\r\n\r\n", end + 1) == std::string_view::npos);  // exactly one terminator
    const std::string_view head = out.substr(0, end);
    const std::string_view body = out.substr(end + 4);
    // No header line holds a control character (CR, LF, NUL, DEL, ...): the
    // request-target copied into Location must not split the response.
    for (std::size_t i = 0; i < head.size(); ++i) {
        const auto c = static_cast<unsigned char>(head[i]);
        if (c == '\r') {
            CHECK(i + 1 < head.size() && head[i + 1] == '\n');
            ++i;
            continue;
        }
        CHECK(c >= 0x20 && c != 0x7f);
    }
    const std::string status = std::to_string(to_number(plan.status));
    CHECK(out.substr(9, 3) == status && out[12] == ' ');
    const bool head_method = request.method == "HEAD";
    const bool get_or_head = head_method || request.method == "GET";
    const std::string_view location = header_value(head, "Location: ");
    if (plan.status == status_code::found_302) {
        CHECK(get_or_head);
        CHECK(!request.has_body);
        const std::string_view path = redirect_path(plan, request);
        CHECK(!path.empty() && path.front() == '/');
        // The path is the request-target itself, or its tail (absolute-form).
        CHECK(request.target.size() >= path.size() &&
              request.target.substr(request.target.size() - path.size()) == path);
        if (request.target.front() != '/') CHECK(request.target.find("://") != std::string_view::npos);
        CHECK(location.size() == 8 + plan.host.size() + path.size());
        CHECK(location.substr(0, 8) == "https://");
        CHECK(location.substr(8, plan.host.size()) == plan.host);
        CHECK(location.substr(8 + plan.host.size()) == path);
        CHECK(body.empty());
        CHECK(header_value(head, "Content-Length: ") == "0");
    } else {
        CHECK(location.empty());
        const std::string_view length = header_value(head, "Content-Length: ");
        CHECK(!length.empty());
        if (head_method)
            CHECK(body.empty());
        else
            CHECK(length == std::to_string(body.size()));
    }
    CHECK(header_value(head, "Date: ") == date);
    // An unread body must never be parsed as the next request.
    if (request.has_body) CHECK(plan.close);
    CHECK(plan.close == (head.find("\r\nConnection: close") != std::string_view::npos));
}

struct chunker {
    std::uint32_t state;
    unsigned largest;
    std::size_t next(std::size_t room) {
        if (largest == 0) return room;
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        const std::size_t n = 1 + state % largest;
        return n < room ? n : room;
    }
};

}  // namespace

// Views into a returned function's stack frame are a bug class this target
// looks for; ASan finds them only with this option (ASAN_OPTIONS overrides).
extern "C" const char* __asan_default_options() { return "detect_stack_use_after_return=1"; }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) return 0;
    const unsigned flags = data[0];
    static constexpr std::size_t header_limits[4] = {8192, 1024, 1500, 65536};
    const std::size_t max_header_bytes = header_limits[flags & 3];
    const unsigned proxy_mode = (flags >> 2) & 3;  // 1 optional, 2 required, else off
    const serving_snapshot& snapshot = snapshot_for((flags >> 4) & 7);
    const ip_address tcp_peer = *parse_ip_address((flags & 0x80) ? "192.0.2.77" : "127.0.0.1");
    chunker chunks{(static_cast<std::uint32_t>(data[1]) | static_cast<std::uint32_t>(data[2]) << 8) * 2654435761u | 1u,
                   data[3]};
    const char* stream = reinterpret_cast<const char*>(data + 4);
    const std::size_t stream_size = size - 4;

    // The session's state.
    const std::size_t capacity = max_header_bytes + 1024;
    std::unique_ptr<char[]> buffer(new char[capacity]);
    std::size_t begin = 0, end = 0, pos = 0;
    request_reader reader = make_reader(max_header_bytes);
    ip_address peer = tcp_peer;
    client_ip_source peer_source = client_ip_source::peer;
    bool awaiting_proxy_header = proxy_mode == 1 || proxy_mode == 2;
    std::string out;

    while (true) {
        // Read: what the socket hands over, at most the free room.
        if (end == capacity) {  // no room and no complete request
            out.clear();
            const response_plan plan = reject(status_code::header_fields_too_large_431);
            write_response(plan, request_view{}, date, out);
            check_response(out, plan, request_view{});
            break;
        }
        if (pos == stream_size) break;  // the client is done: EOF
        const std::size_t n = chunks.next(std::min(capacity - end, stream_size - pos));
        std::memcpy(buffer.get() + end, stream + pos, n);
        end += n;
        pos += n;

        if (awaiting_proxy_header) {
            const proxy_protocol_result r = parse_proxy_protocol(buffer.get() + begin, end - begin);
            using kind = proxy_protocol_result::kind;
            if (r.what == kind::need_more) {
                CHECK(end - begin < 1024);  // never buffers more than a v2 header may hold
                continue;
            }
            if (r.what == kind::invalid || (r.what == kind::absent && proxy_mode == 2)) break;  // closed
            if (r.what == kind::header) {
                CHECK(r.consumed > 0 && r.consumed <= end - begin);
                if (!snapshot.client_policy.trusted.contains(peer)) break;  // refused
                if (r.source) {
                    peer = *r.source;
                    peer_source = client_ip_source::proxy_protocol;
                }
                begin += r.consumed;
            }
            awaiting_proxy_header = false;
        }

        // process(): answer every complete request in the buffer.
        bool closed = false;
        while (!closed) {
            std::size_t answered = 0;
            while (begin < end && answered < max_pipelined_batch) {
                const char* start = buffer.get() + begin;
                const read_outcome got = reader.read(start, end - begin);
                if (got.what == read_outcome::kind::need_more) {
                    CHECK(got.consumed <= end - begin);
                    begin += got.consumed;  // empty lines before a request line
                    break;
                }
                out.clear();
                if (got.what == read_outcome::kind::reject) {
                    const response_plan plan = reject(got.status);
                    CHECK(plan.status != status_code::found_302);
                    write_response(plan, request_view{}, date, out);
                    check_response(out, plan, request_view{});
                    closed = true;
                    break;
                }
                CHECK(got.consumed > 0 && got.consumed <= end - begin);
                check_view_bounds(got.request, start, start + got.consumed);
                static volatile unsigned sink;
                sink = touch_views(got.request);
                begin += got.consumed;
                const request_view& request = got.request;
                const response_plan plan = handle_request(request, peer, &snapshot, peer_source);
                write_response(plan, request, date, out);
                check_response(out, plan, request);
                // An untrusted peer never chooses its own address.
                if (!snapshot.client_policy.trusted.contains(peer) && plan.status == status_code::found_302)
                    CHECK(plan.client == peer);
                ++answered;
                if (plan.close) {
                    closed = true;
                    break;
                }
            }
            if (answered < max_pipelined_batch || begin == end) break;
            // A full batch was written; the session processes again before reading.
        }
        if (closed) break;
        // compact()
        if (begin == end) {
            begin = end = 0;
        } else if (begin > 0) {
            std::memmove(buffer.get(), buffer.get() + begin, end - begin);
            end -= begin;
            begin = 0;
        }
    }
    return 0;
}
