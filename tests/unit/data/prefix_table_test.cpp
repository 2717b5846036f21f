#include <gtest/gtest.h>

#include <fstream>

#include "registry_redirector/data/config_error.hpp"
#include "registry_redirector/data/prefix_table.hpp"
#include "test_files.hpp"

namespace registry_redirector {
namespace {

using testing::temp_dir;

/// Loads `content` and expects a config_error at `line` whose reason holds `reason_part`.
void expect_rejected(const std::string& content, int line, const std::string& reason_part,
                     const prefix_file_limits& limits = {}) {
    temp_dir dir;
    const auto path = dir.write("table.tsv", content);
    origin_table t;
    try {
        load_prefix_file(path, t, limits);
        FAIL() << "accepted: " << content;
    } catch (const config_error& e) {
        EXPECT_EQ(e.file(), path);
        EXPECT_EQ(e.line(), line) << e.what();
        EXPECT_NE(e.reason().find(reason_part), std::string::npos) << e.what();
    }
}

TEST(PrefixTableTest, ReadsPfx2asnWithCommentsAndMultiOrigin) {
    temp_dir dir;
    const auto path = dir.write("t.dat",
                                "; IP-ASN32-DAT file\n"
                                "# another comment\n"
                                "\n"
                                "192.0.2.0/24\t64500\n"
                                "192.0.2.0/24\t64501\n"
                                "2001:db8::/32\t64502\r\n"
                                "198.51.100.0/24 64503\n");  // spaces work too
    origin_table t;
    const auto stats = load_prefix_file(path, t);
    EXPECT_EQ(stats.format, prefix_format::pfx2asn);
    EXPECT_EQ(stats.lines, 7u);
    ASSERT_EQ(t.v4.size(), 3u);
    ASSERT_EQ(t.v6.size(), 1u);
    EXPECT_EQ(t.v4[1].asn, 64501u);
    EXPECT_EQ(t.v6[0].length, 32);
}

TEST(PrefixTableTest, ReadsCaidaWithMultiOriginAndAsSets) {
    temp_dir dir;
    const auto path = dir.write("t.pfx2as",
                                "2001:db8::\t32\t64500\n"
                                "2001:db8:1::\t48\t64501_64502\n"
                                "192.0.2.0\t24\t64503,64504\n"
                                "198.51.100.0\t24\t64505_64506,64507\n");
    origin_table t;
    const auto stats = load_prefix_file(path, t);
    EXPECT_EQ(stats.format, prefix_format::caida);
    EXPECT_EQ(t.v6.size(), 3u);
    EXPECT_EQ(t.v4.size(), 5u);
}

TEST(PrefixTableTest, ReadsGzipTransparently) {
    temp_dir dir;
    const auto path = dir.write_gz("t.tsv.gz", "192.0.2.0/24\t64500\n2001:db8::/32\t64501");  // no final newline
    origin_table t;
    load_prefix_file(path, t);
    EXPECT_EQ(t.v4.size(), 1u);
    EXPECT_EQ(t.v6.size(), 1u);
}

TEST(PrefixTableTest, RejectsTruncatedGzip) {
    temp_dir dir;
    std::string lines;
    for (int i = 0; i < 5000; ++i) lines += "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24\t64500\n";
    const auto path = dir.write_gz("t.tsv.gz", lines);
    std::string bytes;
    {
        std::ifstream in(path, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    bytes.resize(bytes.size() / 2);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    origin_table t;
    try {
        load_prefix_file(path, t);
        FAIL() << "a truncated gzip was accepted";
    } catch (const config_error& e) {
        EXPECT_NE(e.reason().find("truncated"), std::string::npos) << e.what();
    }
}

TEST(PrefixTableTest, RejectsEachBadLineWithLineAndReason) {
    expect_rejected("192.0.2.0/24\t64500\n192.0.2.1/24\t64500\n", 2, "host bits");
    expect_rejected("192.0.2.0/24\t64500\n192.0.2.0/33\t64500\n", 2, "0 to 32");
    expect_rejected("192.0.2.0/24\t64500\n192.0.2.0/24\tAS-FOO\n", 2, "origin ASN");
    expect_rejected("192.0.2.0/24\t64500\n192.0.2.0/24\t4294967296\n", 2, "origin ASN");
    expect_rejected("192.0.2.0/24\t64500\n192.0.2.0/24\n", 2, "expected 2 fields");
    expect_rejected("192.0.2.0/24\t64500\n192.0.2.0/24\t1\t2\n", 2, "expected 2 fields");
    expect_rejected("hello world again and again\n", 1, "unrecognised format");
    expect_rejected("2001:db8::\t32\t64500\n2001:db8::\t32\t64500_x\n", 2, "bad origin");
    expect_rejected("2001:db8::\t32\t64500\n2001:db8::1\t32\t64500\n", 2, "host bits");
    expect_rejected("# only comments\n", 0, "holds no prefixes");
    expect_rejected("::ffff:192.0.2.0/120\t64500\n", 1, "IPv4-mapped");
}

TEST(PrefixTableTest, BoundsLineLengthAndEntryCount) {
    expect_rejected("192.0.2.0/24\t64500\n" + std::string(5000, 'x') + "\n", 2, "longer than");
    prefix_file_limits small;
    small.max_entries = 2;
    expect_rejected("192.0.2.0/24\t1\n198.51.100.0/24\t2\n203.0.113.0/24\t3\n", 3, "more than 2", small);
}

TEST(PrefixTableTest, MissingFileNamesThePath) {
    origin_table t;
    try {
        load_prefix_file("/nonexistent/table.gz", t);
        FAIL();
    } catch (const config_error& e) {
        EXPECT_EQ(e.file(), "/nonexistent/table.gz");
        EXPECT_NE(e.reason().find("cannot open"), std::string::npos);
    }
}

TEST(PrefixTableTest, DataTimeFromTheHeader) {
    temp_dir dir;
    origin_table t;
    EXPECT_EQ(load_prefix_file(dir.write("a", "# data time: 2014-05-23T06:00:00Z (1400824800)\n1.0.0.0/24\t1\n"), t).data_time,
              1400824800u);
    EXPECT_EQ(load_prefix_file(dir.write("b", "# source date: 2026-06-19\n1.0.0.0/24\t1\n"), t).data_time, 1781827200u);
    EXPECT_EQ(load_prefix_file(dir.write("c", "# source date: unknown\n1.0.0.0/24\t1\n"), t).data_time, 0u);
    EXPECT_EQ(load_prefix_file(dir.write("d", "1.0.0.0/24\t1\n"), t).data_time, 0u);
}

}  // namespace
}  // namespace registry_redirector
