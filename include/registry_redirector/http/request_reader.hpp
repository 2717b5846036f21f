#pragma once
/// Reads HTTP/1.x requests out of a connection's byte buffer. A request is
/// handed to Beast's parser only once its whole header has arrived, so each
/// request is parsed by one put() into views of the buffer: no header
/// container, no allocation, no parser state kept across reads.
/// Thread safety: one reader per connection.

#include <cstddef>
#include <memory>

#include "registry_redirector/http/request_handler.hpp"

namespace registry_redirector {

struct read_outcome {
    enum class kind : std::uint8_t {
        need_more,  ///< the header is not complete yet
        request,    ///< `request` is valid until the buffer changes
        reject,     ///< answer `status` and close
    };
    kind what = kind::need_more;
    std::size_t consumed = 0;  ///< bytes of the buffer that the request used
    request_view request;
    status_code status = status_code::bad_request_400;
};

class request_reader {
public:
    request_reader(std::size_t max_header_bytes, std::size_t max_header_fields);
    ~request_reader();
    request_reader(request_reader&&) noexcept;

    /// `data` starts at the first byte of a request; `size` is everything
    /// received so far (it may hold more requests). Call again with the same
    /// start and more bytes after need_more, and after a request with the
    /// buffer advanced by `consumed`.
    read_outcome read(const char* data, std::size_t size);

private:
    struct parser;
    std::size_t find_header_end(const char* data, std::size_t size) noexcept;
    std::size_t max_header_bytes_;
    std::size_t max_header_fields_;
    std::size_t scanned_ = 0;  // the header's end was searched for up to here
    std::unique_ptr<parser> parser_;
};

}  // namespace registry_redirector
