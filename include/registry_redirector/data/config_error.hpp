#pragma once
/// The one exception type of the control plane: a rejected input file.

#include <stdexcept>
#include <string>

namespace registry_redirector {

/// A configuration or data file was rejected. what() reads
/// "FILE:LINE: REASON" (LINE omitted when unknown, i.e. 0).
class config_error : public std::runtime_error {
public:
    config_error(std::string file, int line, std::string reason)
        : std::runtime_error(format(file, line, reason)),
          file_(std::move(file)),
          line_(line),
          reason_(std::move(reason)) {}

    const std::string& file() const noexcept { return file_; }
    int line() const noexcept { return line_; }
    const std::string& reason() const noexcept { return reason_; }

private:
    static std::string format(const std::string& file, int line, const std::string& reason) {
        return line > 0 ? file + ":" + std::to_string(line) + ": " + reason : file + ": " + reason;
    }
    std::string file_;
    int line_;
    std::string reason_;
};

}  // namespace registry_redirector
