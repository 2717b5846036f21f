// Cross-check of the MRT reader against an independent parser: for every
// sample in ../shared/data/mrt/, the (kind, prefix, peer, origin) rows we read
// equal the ones in bgpdump -m's output stored beside it (as multisets).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "registry_redirector/data/byte_source.hpp"
#include "registry_redirector/data/mrt_reader.hpp"
#include "registry_redirector/net/ip_prefix.hpp"

namespace registry_redirector {
namespace {

const std::filesystem::path data_dir{MRT_DATA_DIR};

std::string canonical_prefix(const std::string& text) {
    const auto p = parse_ip_prefix(text);
    return p.ok() ? to_string(p.prefix) : "unparsed:" + text;
}

std::string canonical_address(const std::string& text) {
    const auto a = parse_ip_address(text);
    return a ? to_string(*a) : "unparsed:" + text;
}

/// Origins of a path in bgpdump's notation, by the rule under test, worked
/// out here from the text: the last segment outside "(...)"/"[...]"
/// (confederations) decides; a sequence gives its last ASN, "{a,b}" each member.
std::vector<std::string> origins_of_text(const std::string& path) {
    std::vector<std::string> tokens;  // segments: "123", "{1,2}", "(1 2)"...
    std::size_t i = 0;
    while (i < path.size()) {
        if (path[i] == ' ') {
            ++i;
            continue;
        }
        const char open = path[i];
        const char close = open == '{' ? '}' : open == '(' ? ')' : open == '[' ? ']' : 0;
        std::size_t end = close ? path.find(close, i) : path.find(' ', i);
        if (end == std::string::npos) end = path.size() - (close ? 1 : 0);
        tokens.push_back(path.substr(i, end - i + (close ? 1 : 0)));
        i = end + 1;
    }
    for (auto it = tokens.rbegin(); it != tokens.rend(); ++it) {
        if ((*it)[0] == '(' || (*it)[0] == '[') continue;
        if ((*it)[0] != '{') return {*it};
        std::vector<std::string> members;
        std::string inner = it->substr(1, it->size() - 2);
        std::size_t start = 0;
        while (start <= inner.size()) {
            std::size_t comma = inner.find(',', start);
            if (comma == std::string::npos) comma = inner.size();
            if (comma > start) members.push_back(inner.substr(start, comma - start));
            start = comma + 1;
        }
        std::sort(members.begin(), members.end());
        members.erase(std::unique(members.begin(), members.end()), members.end());
        if (members.empty()) continue;
        return members;
    }
    return {"-"};
}

std::vector<std::string> split(const std::string& line, char sep) {
    std::vector<std::string> f;
    std::size_t start = 0;
    while (true) {
        const std::size_t at = line.find(sep, start);
        f.push_back(line.substr(start, at - start));
        if (at == std::string::npos) return f;
        start = at + 1;
    }
}

/// Rows "KIND|prefix|peer|origin" from a gzipped bgpdump -m output.
std::vector<std::string> bgpdump_rows(const std::filesystem::path& file) {
    const auto source = byte_source::open(file.string());
    std::string text;
    std::string chunk(1 << 16, '\0');
    while (const std::size_t n = source->read(chunk.data(), chunk.size())) text.append(chunk, 0, n);
    std::vector<std::string> rows;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t eol = text.find('\n', start);
        if (eol == std::string::npos) eol = text.size();
        const auto f = split(text.substr(start, eol - start), '|');
        start = eol + 1;
        if (f.size() < 6) continue;
        const std::string& kind = f[2];
        const std::string head = kind + "|" + canonical_prefix(f[5]) + "|" + canonical_address(f[3]) + "|";
        if (kind == "W") {
            rows.push_back(head + "-");
        } else if (kind == "B" || kind == "A") {
            for (const auto& origin : origins_of_text(f.at(6))) rows.push_back(head + origin);
        }
    }
    std::sort(rows.begin(), rows.end());
    return rows;
}

class row_collector final : public mrt_visitor {
public:
    void on_route(const mrt_route& r) override {
        const char* kind = r.kind == mrt_route_kind::rib ? "B" : r.kind == mrt_route_kind::announce ? "A" : "W";
        const std::string head = std::string(kind) + "|" + to_string(r.prefix) + "|" + to_string(r.peer->address) + "|";
        if (r.origins.empty()) rows.push_back(head + "-");
        for (auto asn : r.origins) rows.push_back(head + std::to_string(asn));
    }
    std::vector<std::string> rows;
};

struct sample {
    const char* file;
    bool truncated;
    std::uint64_t records;  ///< complete MRT records, from the fixtures' README
};

void PrintTo(const sample& s, std::ostream* os) { *os << s.file; }

class MrtBgpdumpTest : public ::testing::TestWithParam<sample> {};

TEST_P(MrtBgpdumpTest, RowsEqualBgpdumps) {
    if (!std::filesystem::is_directory(data_dir))
        GTEST_SKIP() << data_dir << " is missing (it sits beside the source tree in CI)";
    const sample s = GetParam();
    const auto path = (data_dir / s.file).string();
    row_collector ours;
    mrt_read_options options;
    options.allow_truncated = s.truncated;
    const mrt_read_stats stats = read_mrt_file(path, ours, options);
    EXPECT_EQ(stats.records, s.records);
    EXPECT_EQ(stats.truncated.has_value(), s.truncated) << stats.truncated.value_or("");
    std::sort(ours.rows.begin(), ours.rows.end());
    const auto theirs = bgpdump_rows(data_dir / (std::string(s.file) + ".bgpdump-m.txt.gz"));
    ASSERT_FALSE(theirs.empty());
    EXPECT_EQ(ours.rows.size(), theirs.size());
    std::vector<std::string> only_ours, only_theirs;
    std::set_difference(ours.rows.begin(), ours.rows.end(), theirs.begin(), theirs.end(), std::back_inserter(only_ours));
    std::set_difference(theirs.begin(), theirs.end(), ours.rows.begin(), ours.rows.end(), std::back_inserter(only_theirs));
    EXPECT_TRUE(only_ours.empty()) << only_ours.size() << " rows only we read, e.g. " << only_ours.front();
    EXPECT_TRUE(only_theirs.empty()) << only_theirs.size() << " rows only bgpdump read, e.g. " << only_theirs.front();
}

INSTANTIATE_TEST_SUITE_P(
    Samples, MrtBgpdumpTest,
    ::testing::Values(sample{"rib.20140523.0600_firstMB.bz2", true, 9073},
                      sample{"rib6.20151101.0600_firstMB.bz2", true, 6871},
                      sample{"routeviews.route-views.jinx.updates.1427846400.bz2", false, 1756},
                      sample{"ris.rrc06.updates.1427846400.gz", false, 795},
                      sample{"185.186.nlix.mrt", false, 24},
                      sample{"bview.64k_stream_overflow.gz", false, 2},
                      sample{"quagga_rib", false, 7}),
    [](const ::testing::TestParamInfo<sample>& info) {
        std::string name;
        for (const char* c = info.param.file; *c; ++c)
            if (std::isalnum(static_cast<unsigned char>(*c))) name += *c;
        return name;
    });

TEST(MrtSamplesTest, TruncatedRibIsAnErrorUnlessAllowed) {
    if (!std::filesystem::is_directory(data_dir)) GTEST_SKIP() << data_dir << " is missing";
    const auto path = (data_dir / "rib.20140523.0600_firstMB.bz2").string();
    row_collector rows;
    mrt_read_options strict;
    strict.allow_truncated = false;
    try {
        read_mrt_file(path, rows, strict);
        FAIL() << "a truncated file was accepted";
    } catch (const mrt_error& e) {
        // Record 9,074 is the cut one; the complete records end at 15,273,283.
        EXPECT_EQ(e.record(), 9074u) << e.what();
        EXPECT_EQ(e.offset(), 15273283u) << e.what();
        EXPECT_EQ(e.file(), path);
        EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("9073 complete records"), std::string::npos) << e.what();
    }
}

TEST(MrtSamplesTest, RibWithoutPeerIndexTableIsRejected) {
    if (!std::filesystem::is_directory(data_dir)) GTEST_SKIP() << data_dir << " is missing";
    const auto path = (data_dir / "bview.20140112.1600_3samples.bz2").string();
    row_collector rows;
    try {
        read_mrt_file(path, rows);
        FAIL() << "RIB records without a PEER_INDEX_TABLE were accepted";
    } catch (const mrt_error& e) {
        EXPECT_EQ(e.record(), 1u);
        EXPECT_EQ(e.offset(), 0u);
        EXPECT_NE(std::string(e.what()).find("before any PEER_INDEX_TABLE"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(rows.rows.empty());
}

TEST(MrtSamplesTest, PeerIndexTablesNameCollectors) {
    if (!std::filesystem::is_directory(data_dir)) GTEST_SKIP() << data_dir << " is missing";
    struct tables final : mrt_visitor {
        void on_peer_index_table(const mrt_peer_index_table& t) override { seen.push_back(t); }
        std::vector<mrt_peer_index_table> seen;
    } v;
    read_mrt_file((data_dir / "185.186.nlix.mrt").string(), v);
    ASSERT_EQ(v.seen.size(), 1u);
    EXPECT_EQ(to_string(ip_address::from_v4(v.seen[0].collector_bgp_id)), "141.98.136.36");
    EXPECT_EQ(v.seen[0].view_name, "master4");
    EXPECT_EQ(v.seen[0].peers.size(), 21u);
}

}  // namespace
}  // namespace registry_redirector
