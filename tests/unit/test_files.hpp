#pragma once
// Temporary files and folders for tests, removed when the test ends.

#include <filesystem>
#include <string>

namespace registry_redirector::testing {

class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }
    /// Writes `content` to `name` (folders created) and returns the full path.
    std::string write(const std::string& name, const std::string& content) const;
    /// Same, gzip-compressed.
    std::string write_gz(const std::string& name, const std::string& content) const;

private:
    std::filesystem::path path_;
};

}  // namespace registry_redirector::testing
