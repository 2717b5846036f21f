// byte_source: compression chosen by content, concatenated members, cut and
// corrupt streams, read-ahead.
#include <gtest/gtest.h>

#include <bzlib.h>
#include <zlib.h>

#include "registry_redirector/data/byte_source.hpp"
#include "registry_redirector/data/config_error.hpp"
#include "test_files.hpp"

namespace registry_redirector {
namespace {

std::string gzip_bytes(const std::string& data) {
    z_stream z{};
    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&z, data.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

std::string bzip2_bytes(const std::string& data) {
    std::string out(data.size() + data.size() / 100 + 1024, '\0');
    auto size = static_cast<unsigned>(out.size());
    EXPECT_EQ(BZ2_bzBuffToBuffCompress(out.data(), &size, const_cast<char*>(data.data()),
                                       static_cast<unsigned>(data.size()), 1, 0, 0),
              BZ_OK);
    out.resize(size);
    return out;
}

/// Pseudo-random bytes that do not compress to nothing.
std::string sample(std::size_t n, std::uint32_t seed) {
    std::string s(n, '\0');
    for (auto& c : s) {
        seed = seed * 1103515245u + 12345u;
        c = static_cast<char>((seed >> 16) % 7 + 'a');
    }
    return s;
}

std::string read_all(byte_source& s, std::size_t step = 4093) {
    std::string out, chunk(step, '\0');
    while (const std::size_t n = s.read(chunk.data(), chunk.size())) out.append(chunk, 0, n);
    return out;
}

TEST(ByteSourceTest, DetectsCompressionByContent) {
    const std::string data = sample(300000, 1);
    for (const bool ahead : {false, true}) {
        byte_source_options o;
        o.read_ahead = ahead;
        const auto plain = byte_source::from_memory("x.gz", data, o);  // the name does not matter
        EXPECT_EQ(plain->kind(), compression::none);
        EXPECT_EQ(read_all(*plain), data);
        const auto gz = byte_source::from_memory("x", gzip_bytes(data), o);
        EXPECT_EQ(gz->kind(), compression::gzip);
        EXPECT_EQ(read_all(*gz), data);
        EXPECT_FALSE(gz->truncated());
        EXPECT_EQ(gz->position(), data.size());
        const auto bz = byte_source::from_memory("x", bzip2_bytes(data), o);
        EXPECT_EQ(bz->kind(), compression::bzip2);
        EXPECT_EQ(read_all(*bz), data);
        EXPECT_FALSE(bz->truncated());
    }
}

TEST(ByteSourceTest, ConcatenatedMembersAndStreamsReadAsOne) {
    const std::string a = sample(70000, 2), b = sample(5000, 3);
    EXPECT_EQ(read_all(*byte_source::from_memory("x", gzip_bytes(a) + gzip_bytes(b))), a + b);
    EXPECT_EQ(read_all(*byte_source::from_memory("x", bzip2_bytes(a) + bzip2_bytes(b))), a + b);
    // Zero padding after the last gzip member ends the stream (as gzip(1) does).
    const auto padded = byte_source::from_memory("x", gzip_bytes(a) + std::string(100, '\0'));
    EXPECT_EQ(read_all(*padded), a);
    EXPECT_FALSE(padded->truncated());
}

TEST(ByteSourceTest, CutStreamsAreTruncatedNotErrors) {
    const std::string data = sample(400000, 4);
    for (const std::string& packed : {gzip_bytes(data), bzip2_bytes(data)}) {
        const auto s = byte_source::from_memory("cut", packed.substr(0, packed.size() / 2));
        const std::string got = read_all(*s);
        ASSERT_TRUE(s->truncated());
        EXPECT_NE(s->truncated()->find("compressed byte offset"), std::string::npos) << *s->truncated();
        EXPECT_LT(got.size(), data.size());
        EXPECT_EQ(got, data.substr(0, got.size()));  // what came out is a true prefix
    }
}

TEST(ByteSourceTest, CorruptDataIsAnErrorNamingTheFile) {
    const std::string data = sample(200000, 5);
    for (std::string packed : {gzip_bytes(data), bzip2_bytes(data)}) {
        for (std::size_t i = packed.size() / 3; i < packed.size() / 3 + 64; ++i) packed[i] = static_cast<char>(packed[i] ^ 0x5a);
        const auto s = byte_source::from_memory("bad.bin", packed);
        try {
            read_all(*s);
            FAIL() << "corrupt data accepted";
        } catch (const config_error& e) {
            EXPECT_EQ(e.file(), "bad.bin");
            EXPECT_NE(e.reason().find("corrupt"), std::string::npos) << e.what();
        }
    }
}

TEST(ByteSourceTest, OpenNamesAMissingFile) {
    const testing::temp_dir dir;
    const auto path = (dir.path() / "none").string();
    try {
        byte_source::open(path);
        FAIL();
    } catch (const config_error& e) {
        EXPECT_EQ(e.file(), path);
        EXPECT_NE(e.reason().find("cannot open"), std::string::npos);
    }
    const auto file = dir.write("f.bz2", bzip2_bytes("hello"));
    byte_source_options o;
    o.read_ahead = true;
    EXPECT_EQ(read_all(*byte_source::open(file, o)), "hello");
}

}  // namespace
}  // namespace registry_redirector
