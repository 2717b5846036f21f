#include "registry_redirector/data/sha256.hpp"

#include <gtest/gtest.h>

#include <string>

namespace registry_redirector {
namespace {

// Checks how we call OpenSSL (init, several updates, final, hex), not SHA-256 itself.
TEST(Sha256Test, KnownAnswers) {
    // FIPS 180-4 examples.
    sha256 empty;
    EXPECT_EQ(empty.hex_digest(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256 abc;
    abc.update("abc");
    EXPECT_EQ(abc.hex_digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256 two_blocks;
    two_blocks.update("abcdbcdecdefdefgefghfghighijhi");
    two_blocks.update("jkijkljklmklmnlmnomnopnopq");  // split across updates
    EXPECT_EQ(two_blocks.hex_digest(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    sha256 million;
    const std::string a(1000, 'a');
    for (int i = 0; i < 1000; ++i) million.update(a);
    EXPECT_EQ(million.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace registry_redirector
