#include "registry_redirector/http/request_reader.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace registry_redirector {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

/// Beast's parser with callbacks that only record views into the caller's
/// buffer: no header container, no allocation.
class beast_request_parser final : public http::basic_parser<true> {
public:
    request_view view;
    std::size_t max_fields = 100;
    const char* input_begin = nullptr;  // the bytes given to put(): views must point here
    const char* input_end = nullptr;

private:
    std::size_t fields_ = 0;

private:
    void on_request_impl(http::verb, beast::string_view method, beast::string_view target, int version,
                         beast::error_code&) override {
        view.method = {method.data(), method.size()};
        view.target = {target.data(), target.size()};
        view.version = static_cast<unsigned>(version);
    }
    void on_response_impl(int, beast::string_view, int, beast::error_code& ec) override {
        ec = http::error::bad_method;
    }
    void on_field_impl(http::field name, beast::string_view name_text, beast::string_view value,
                       beast::error_code& ec) override {
        // Many tiny fields cost more than their bytes: cap the count too.
        if (++fields_ > max_fields) {
            ec = http::error::header_limit;
            return;
        }
        // A value continued by obs-fold is unfolded into a buffer on Beast's
        // stack, which is gone when put() returns: views into it would
        // dangle (found by fuzz_http). RFC 9112 section 5.2 lets a server
        // reject obs-fold with 400, and nothing legitimate sends it.
        if (value.data() < input_begin || value.data() + value.size() > input_end) {
            ec = http::error::bad_value;
            return;
        }
        if (name == http::field::transfer_encoding) {
            view.has_body = true;
        } else if (name == http::field::range) {
            view.has_range = true;
        } else if (name == http::field::user_agent) {
            view.user_agent = {value.data(), value.size()};
        } else if (name == http::field::forwarded) {
            view.proxy.forwarded.add({value.data(), value.size()});
        } else if (name == http::field::unknown) {
            if (beast::iequals(name_text, "x-real-ip"))
                view.proxy.x_real_ip.add({value.data(), value.size()});
            else if (beast::iequals(name_text, "x-forwarded-for"))
                view.proxy.x_forwarded_for.add({value.data(), value.size()});
        }
    }
    void on_header_impl(beast::error_code& ec) override {
        view.keep_alive = keep_alive();
        if (chunked() || content_length().value_or(0) > 0) view.has_body = true;
        // The body is never read: stop here, the handler answers and closes.
        if (view.has_body) ec = http::error::body_limit;
    }
    void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code& ec) override {
        ec = http::error::body_limit;
    }
    std::size_t on_body_impl(beast::string_view, beast::error_code& ec) override {
        ec = http::error::body_limit;
        return 0;
    }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code& ec) override {
        ec = http::error::body_limit;
    }
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view, beast::error_code& ec) override {
        ec = http::error::body_limit;
        return 0;
    }
    void on_finish_impl(beast::error_code&) override {}
};


status_code classify(const beast::error_code& ec) noexcept {
    if (ec == http::error::header_limit) return status_code::header_fields_too_large_431;
    // The version was checked before Beast saw the line (check_request_line).
    return status_code::bad_request_400;
}

/// RFC 9110 section 5.6.2 token characters (a method is a token; a request
/// line starts with one), as a table: the request line is checked with it.
constexpr auto tchar_table = [] {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
    return t;
}();

bool is_tchar(unsigned char c) noexcept { return tchar_table[c]; }

/// RFC 9112 section 3: request-line = method SP request-target SP
/// HTTP-version, with single spaces and nothing else on the line. Beast
/// reads the version from wherever the target's space left it, so
/// "GET /a b HTTP/1.1" and "GET /  HTTP/1.1" used to be told apart only by
/// the line's last word (505 where 400 is right). `line` has no line end.
/// Returns the status to reject with, or nothing when the line is sound;
/// the target's characters are Beast's and the handler's to judge.
std::optional<status_code> check_request_line(std::string_view line) noexcept {
    std::size_t i = 0;
    while (i < line.size() && is_tchar(static_cast<unsigned char>(line[i]))) ++i;
    if (i == 0 || i == line.size() || line[i] != ' ') return status_code::bad_request_400;
    const std::size_t target_begin = ++i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i == target_begin || i == line.size()) return status_code::bad_request_400;
    const std::string_view version = line.substr(i + 1);  // a second space would be its first byte
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (version.size() != 8 || version.compare(0, 5, "HTTP/") != 0 || !digit(version[5]) || version[6] != '.' ||
        !digit(version[7]))
        return status_code::bad_request_400;
    // A well-formed version of another major is unsupported, not malformed;
    // every HTTP/1.x is served as HTTP/1.1 (RFC 9110 section 2.5).
    if (version[5] != '1') return status_code::version_not_supported_505;
    return std::nullopt;
}

/// The header block in the form Beast takes, in a buffer of the calling
/// thread (reused, so it grows at most to the largest such header): every
/// bare LF made CRLF, and the version's minor digit at `minor_at` made 1.
/// Beast accepts CRLF only, and HTTP/1.0 and HTTP/1.1 only; clients that
/// send anything else are rare, so only their requests pay for the copy.
std::string_view beast_copy(const char* data, std::size_t size, std::size_t minor_at) {
    static thread_local std::string copy;
    copy.clear();
    for (std::size_t i = 0; i < size; ++i) {
        if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r')) copy.push_back('\r');
        copy.push_back(i == minor_at ? '1' : data[i]);
    }
    return copy;
}

}  // namespace

request_reader::request_reader(std::size_t max_header_bytes, std::size_t max_header_fields)
    : max_header_bytes_(max_header_bytes), max_header_fields_(max_header_fields) {}

std::size_t request_reader::find_header_end(const char* data, std::size_t size) noexcept {
    std::size_t i = scanned_ >= 2 ? scanned_ - 2 : 0;
    while (i < size) {
        const void* nl = std::memchr(data + i, '\n', size - i);
        if (nl == nullptr) break;
        const auto at = static_cast<std::size_t>(static_cast<const char*>(nl) - data);
        if (at == 0 || data[at - 1] != '\r') bare_lf_ = true;
        i = at + 1;
        if (i < size && data[i] == '\n') return i + 1;
        if (i + 1 < size && data[i] == '\r' && data[i + 1] == '\n') return i + 2;
    }
    scanned_ = size;
    return 0;
}

read_outcome request_reader::read(const char* data, std::size_t size) {
    read_outcome out;
    // RFC 9112 section 2.2: a server SHOULD ignore at least one empty line
    // before a request line (old clients send CRLF after a body). A few are
    // skipped; an endless stream of them is a 400, not a way to hold a slot.
    std::size_t skipped = 0;
    while (skipped < size && (data[skipped] == '\n' || data[skipped] == '\r')) {
        if (data[skipped] == '\r') {
            if (skipped + 1 == size) break;  // the LF may follow
            if (data[skipped + 1] != '\n') break;  // a bare CR: not HTTP
            ++skipped;
        }
        ++skipped;
        if (++empty_lines_ > max_empty_lines) {
            out.what = read_outcome::kind::reject;
            out.status = status_code::bad_request_400;
            return out;
        }
    }
    data += skipped;
    size -= skipped;
    out.consumed = skipped;
    if (size > 0 && !is_tchar(static_cast<unsigned char>(data[0])) && !(size == 1 && data[0] == '\r')) {
        // Not HTTP at all (TLS on the plain port, binary junk): say so now
        // rather than wait for a header that will never end.
        out.what = read_outcome::kind::reject;
        out.status = status_code::bad_request_400;
        return out;
    }
    const std::size_t header_end = find_header_end(data, size);
    if (header_end == 0) {
        if (size > max_header_bytes_) {
            out.what = read_outcome::kind::reject;
            // A request line that alone exceeds the limit is a URI problem.
            const void* eol = std::memchr(data, '\n', size);
            const std::size_t line = eol ? static_cast<std::size_t>(static_cast<const char*>(eol) - data) : size;
            out.status = line >= max_header_bytes_ ? status_code::uri_too_long_414
                                                   : status_code::header_fields_too_large_431;
        }
        return out;
    }
    scanned_ = 0;  // the next call starts at the next request
    const bool bare_lf = std::exchange(bare_lf_, false);
    empty_lines_ = 0;
    const auto line_end = static_cast<std::size_t>(static_cast<const char*>(std::memchr(data, '\n', header_end)) - data);
    std::string_view line(data, line_end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() >= max_header_bytes_) {
        out.what = read_outcome::kind::reject;
        out.status = status_code::uri_too_long_414;
        return out;
    }
    if (const auto bad = check_request_line(line)) {
        out.what = read_outcome::kind::reject;
        out.status = *bad;
        return out;
    }
    // HTTP/1.2 and later minors are HTTP/1.1 to us (RFC 9110 section 2.5:
    // a recipient treats a higher minor as the highest it supports).
    const std::size_t minor_at = line.size() - 1;
    const bool other_minor = line[minor_at] != '0' && line[minor_at] != '1';
    const std::string_view input = bare_lf || other_minor
                                       ? beast_copy(data, header_end, other_minor ? minor_at : header_end)
                                       : std::string_view(data, header_end);
    // A fresh parser per request; a parse is over when read() returns, so
    // the calling thread's one serves all its connections.
    static thread_local std::optional<beast_request_parser> parser;
    auto& p = parser.emplace();
    p.header_limit(static_cast<std::uint32_t>(max_header_bytes_ + (input.size() - header_end)));
    p.max_fields = max_header_fields_;
    p.input_begin = input.data();
    p.input_end = input.data() + input.size();
    p.body_limit(boost::none);
    beast::error_code ec;
    p.put(boost::asio::buffer(input.data(), input.size()), ec);
    if ((ec && ec != http::error::body_limit) || (!ec && !p.is_done())) {
        out.what = read_outcome::kind::reject;
        out.status = ec ? classify(ec) : status_code::bad_request_400;
        return out;
    }
    out.what = read_outcome::kind::request;
    out.consumed = skipped + header_end;
    out.request = p.view;
    if (ec == http::error::body_limit) {
        // The body is never read: the handler answers and the connection closes.
        out.request.has_body = true;
        out.request.keep_alive = false;
    }
    return out;
}

}  // namespace registry_redirector
