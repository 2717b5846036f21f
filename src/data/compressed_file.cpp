#include "registry_redirector/data/compressed_file.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "registry_redirector/data/config_error.hpp"

namespace registry_redirector {

namespace {
struct gz_closer {
    void operator()(gzFile f) const noexcept { gzclose(f); }
};
}  // namespace

std::string read_plain_or_gzip(const std::string& path, std::size_t max_bytes) {
    // gzread reads plain files transparently, as load_prefix_file relies on.
    std::unique_ptr<gzFile_s, gz_closer> file(gzopen(path.c_str(), "rb"));
    if (!file) throw config_error(path, 0, std::string("cannot open: ") + std::strerror(errno));
    gzbuffer(file.get(), 1 << 16);
    std::string out;
    constexpr std::size_t chunk = 1 << 16;
    while (true) {
        const std::size_t at = out.size();
        out.resize(at + chunk);
        const int n = gzread(file.get(), out.data() + at, static_cast<unsigned>(chunk));
        int err = Z_OK;
        const char* message = gzerror(file.get(), &err);
        if (n < 0 || (n == 0 && err != Z_OK && err != Z_STREAM_END))
            throw config_error(path, 0, std::string("read failed (truncated or corrupt gzip?): ") +
                                            (message ? message : "unknown error"));
        out.resize(at + static_cast<std::size_t>(n));
        if (out.size() > max_bytes)
            throw config_error(path, 0, "content is larger than " + std::to_string(max_bytes >> 20) + " MiB");
        if (n == 0) break;
    }
    return out;
}

}  // namespace registry_redirector
