#pragma once
/// SHA-256 (FIPS 180-4), to name the configuration that is serving
/// (config_info{sha256}) without pulling in a crypto library.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace registry_redirector {

/// Incremental hash. Not thread-safe; one instance per computation.
class sha256 {
public:
    sha256();
    void update(std::string_view data);
    /// Finishes and returns the lower-case hex digest; the object is then spent.
    std::string hex_digest();

private:
    void compress(const unsigned char* block);
    std::array<std::uint32_t, 8> state_;
    std::array<unsigned char, 64> buffer_{};
    std::size_t buffered_ = 0;
    std::uint64_t length_ = 0;
};

}  // namespace registry_redirector
