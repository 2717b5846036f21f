#pragma once
/// Whole-file reads of plain or gzip files (zlib detects which by content).

#include <cstddef>
#include <string>

namespace registry_redirector {

/// Reads `path`, inflating it if it is gzip, up to `max_bytes` of content.
/// Throws config_error naming the file on an unreadable or truncated file
/// or content over `max_bytes`. Thread safety: none shared.
std::string read_plain_or_gzip(const std::string& path, std::size_t max_bytes);

}  // namespace registry_redirector
