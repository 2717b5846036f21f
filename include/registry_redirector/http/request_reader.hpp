#pragma once
/// Reads HTTP/1.x requests out of a connection's byte buffer. A request is
/// handed to Beast's parser only once its whole header has arrived, so each
/// request is parsed by one put() into views of the buffer: no header
/// container, no allocation, no parser state kept across reads.
///
/// Grammar beyond Beast's: up to `max_empty_lines` empty lines (CRLF or bare
/// LF) before a request line are skipped (RFC 9112 section 2.2); the request
/// line must be exactly `method SP request-target SP HTTP/D.D` (section 3);
/// a bare LF ends a line like CRLF (section 2.2 allows it).
/// Thread safety: one reader per connection. Beast's parser (one per request)
/// belongs to the calling thread, not the connection, so an idle connection
/// holds none; a request whose header uses bare LF is parsed from a copy
/// owned by the calling thread.

#include <cstddef>

#include "registry_redirector/http/request_handler.hpp"

namespace registry_redirector {

struct read_outcome {
    enum class kind : std::uint8_t {
        need_more,  ///< the header is not complete yet
        request,    ///< `request` is valid until the buffer changes
        reject,     ///< answer `status` and close
    };
    kind what = kind::need_more;
    /// request: bytes of the buffer that the request used (empty lines before
    /// it included). need_more: empty lines skipped so far, which the caller
    /// drops before the next call.
    std::size_t consumed = 0;
    request_view request;
    status_code status = status_code::bad_request_400;
};

class request_reader {
public:
    request_reader(std::size_t max_header_bytes, std::size_t max_header_fields);

    /// Empty lines tolerated before one request line; one more is a 400.
    static constexpr unsigned max_empty_lines = 4;

    /// `data` starts at the first byte of a request; `size` is everything
    /// received so far (it may hold more requests). Always advance the buffer
    /// by `consumed` before the next call (after need_more too: it is the
    /// empty lines skipped, usually 0), then call again with more bytes.
    /// A request's views are valid until the buffer changes or, for a header
    /// with bare LF line ends, until the next read() on this thread.
    read_outcome read(const char* data, std::size_t size);

private:
    std::size_t find_header_end(const char* data, std::size_t size) noexcept;
    std::size_t max_header_bytes_;
    std::size_t max_header_fields_;
    std::size_t scanned_ = 0;     // the header's end was searched for up to here
    unsigned empty_lines_ = 0;    // skipped before the current request
    bool bare_lf_ = false;        // a line of the current header ends in LF alone
};

}  // namespace registry_redirector
