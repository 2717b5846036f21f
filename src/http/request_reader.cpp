#include "registry_redirector/http/request_reader.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <cstring>
#include <optional>

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
    // bad_version is a malformed HTTP-version ("HTTX/1.1"): 400. A
    // well-formed but unsupported one (HTTP/2.0) parses, and gets 505 from
    // the handler.
    return status_code::bad_request_400;
}

/// RFC 9110 token characters: a request line starts with one.
bool is_tchar(unsigned char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

/// Beast's bad_version covers both "HTTX/1.1" (malformed: 400) and
/// "HTTP/3.0" (well-formed, unsupported: 505). Tell them apart.
status_code classify_version(const char* data, std::size_t size) noexcept {
    const std::string_view all(data, size);
    std::string_view line = all.substr(0, all.find('\n'));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string_view version = line.substr(line.rfind(' ') + 1);
    const bool well_formed = version.size() == 8 && version.compare(0, 5, "HTTP/") == 0 && version[5] >= '0' &&
                             version[5] <= '9' && version[6] == '.' && version[7] >= '0' && version[7] <= '9';
    return well_formed ? status_code::version_not_supported_505 : status_code::bad_request_400;
}

}  // namespace

struct request_reader::parser {
    std::optional<beast_request_parser> beast;
};

request_reader::request_reader(std::size_t max_header_bytes, std::size_t max_header_fields)
    : max_header_bytes_(max_header_bytes), max_header_fields_(max_header_fields), parser_(std::make_unique<parser>()) {}
request_reader::~request_reader() = default;
request_reader::request_reader(request_reader&&) noexcept = default;

std::size_t request_reader::find_header_end(const char* data, std::size_t size) noexcept {
    std::size_t i = scanned_ >= 2 ? scanned_ - 2 : 0;
    while (i < size) {
        const void* nl = std::memchr(data + i, '\n', size - i);
        if (nl == nullptr) break;
        i = static_cast<std::size_t>(static_cast<const char*>(nl) - data) + 1;
        if (i < size && data[i] == '\n') return i + 1;  // bare LF: the parser will refuse it
        if (i + 1 < size && data[i] == '\r' && data[i + 1] == '\n') return i + 2;
    }
    scanned_ = size;
    return 0;
}

read_outcome request_reader::read(const char* data, std::size_t size) {
    read_outcome out;
    if (size > 0 && !is_tchar(static_cast<unsigned char>(data[0]))) {
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
    auto& p = parser_->beast.emplace();
    p.header_limit(static_cast<std::uint32_t>(max_header_bytes_));
    p.max_fields = max_header_fields_;
    p.input_begin = data;
    p.input_end = data + header_end;
    p.body_limit(boost::none);
    beast::error_code ec;
    const std::size_t used = p.put(boost::asio::buffer(data, header_end), ec);
    if ((ec && ec != http::error::body_limit) || (!ec && !p.is_done())) {
        out.what = read_outcome::kind::reject;
        out.status = ec == http::error::bad_version ? classify_version(data, header_end)
                     : ec                            ? classify(ec)
                                                     : status_code::bad_request_400;
        if (out.status == status_code::header_fields_too_large_431) {
            const void* eol = std::memchr(data, '\n', header_end);
            const auto line = static_cast<std::size_t>(static_cast<const char*>(eol) - data);
            if (line >= max_header_bytes_) out.status = status_code::uri_too_long_414;
        }
        return out;
    }
    out.what = read_outcome::kind::request;
    out.consumed = used;
    out.request = p.view;
    if (ec == http::error::body_limit) {
        // The body is never read: the handler answers and the connection closes.
        out.request.has_body = true;
        out.request.keep_alive = false;
    }
    return out;
}

}  // namespace registry_redirector
