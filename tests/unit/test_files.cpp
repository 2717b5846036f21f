#include "test_files.hpp"

#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace registry_redirector::testing {

temp_dir::temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "redirector-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

temp_dir::~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::string temp_dir::write(const std::string& name, const std::string& content) const {
    const auto file = path_ / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << content;
    return file.string();
}

std::string temp_dir::write_gz(const std::string& name, const std::string& content) const {
    const auto file = path_ / name;
    std::filesystem::create_directories(file.parent_path());
    gzFile out = gzopen(file.string().c_str(), "wb");
    gzwrite(out, content.data(), static_cast<unsigned>(content.size()));
    gzclose(out);
    return file.string();
}

}  // namespace registry_redirector::testing
