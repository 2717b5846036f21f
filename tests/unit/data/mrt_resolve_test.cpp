// resolve_mrt: thresholds, filters, several RIBs, update files, determinism.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "mrt_test_bytes.hpp"
#include "registry_redirector/data/config_error.hpp"
#include "registry_redirector/data/mrt_reader.hpp"
#include "registry_redirector/data/mrt_resolve.hpp"
#include "registry_redirector/net/ip_prefix.hpp"
#include "test_files.hpp"

namespace registry_redirector {
namespace {

using namespace testing::mrt;
using testing::temp_dir;

/// A TABLE_DUMP_V2 RIB with `peers` IPv4 peers (192.0.2.1, .2, ...; AS 64500+i)
/// and, per prefix, the peers that carry it and their paths.
struct rib_builder {
    std::uint32_t time = 1700000000;
    std::uint32_t collector = 0xc6336401;
    unsigned peers = 4;
    std::string records;
    std::uint32_t sequence = 0;

    rib_builder& add(const std::string& prefix_nlri, bool v6, const std::vector<std::pair<unsigned, std::vector<segment>>>& entries) {
        std::vector<rib_entry> e;
        for (const auto& [peer, path] : entries) e.push_back({peer, origin_igp() + as_path_attr(path)});
        records += record(time, 13, v6 ? 4 : 2, rib(sequence++, prefix_nlri, e));
        return *this;
    }
    std::string bytes() const {
        std::vector<peer_entry> list;
        for (unsigned i = 0; i < peers; ++i) list.push_back({v4(192, 0, 2, i + 1), 64500 + i, i + 1});
        return record(time, 13, 1, peer_index_table(collector, "", list)) + records;
    }
};

std::string rows_text(const origin_table& t) {
    std::ostringstream out;
    for (const auto& r : t.v4) out << to_string(ip_prefix{ip_family::v4, r.network, 0, r.length}) << " " << r.asn << "\n";
    for (const auto& r : t.v6) out << to_string(ip_prefix{ip_family::v6, 0, r.network, r.length}) << " " << r.asn << "\n";
    return out.str();
}

// Public, globally routed example space is scarce in the documentation ranges
// (which are bogons); these tests use 1.0.0.0/8-style and 2a00::/12 prefixes.
const std::string p_a = nlri(v4(1, 0, 0, 0), 24);
const std::string p_b = nlri(v4(1, 0, 4, 0), 22);
const std::string p_6 = nlri(be16(0x2a00) + be16(0x1450) + std::string(12, '\0'), 32);

TEST(MrtResolveTest, MinPeersCountsDistinctSessionsPerOrigin) {
    rib_builder b;
    b.add(p_a, false, {{0, {seq({64500, 15169})}}, {1, {seq({64501, 3356, 15169})}}, {2, {seq({64502, 666})}}});
    b.add(p_b, false, {{0, {seq({64500, 7})}}});
    b.add(p_6, true, {{0, {seq({64500, 15169})}}, {3, {seq({64503, 15169})}}});
    const temp_dir dir;
    const auto file = dir.write("rib", b.bytes());
    const auto two = resolve_mrt({file}, {}, {});
    EXPECT_EQ(rows_text(two.table), "1.0.0.0/24 15169\n2a00:1450::/32 15169\n");
    EXPECT_EQ(two.counts.pairs_seen, 4u);
    EXPECT_EQ(two.counts.dropped_min_peers, 2u);  // (1.0.0.0/24, 666) and (1.0.4.0/22, 7)
    EXPECT_EQ(two.counts.kept_v4, 1u);
    EXPECT_EQ(two.counts.kept_v6, 1u);
    EXPECT_EQ(two.data_time, 1700000000u);
    mrt_resolve_options one;
    one.min_peers = 1;
    EXPECT_EQ(rows_text(resolve_mrt({file}, {}, one).table),
              "1.0.0.0/24 666\n1.0.0.0/24 15169\n1.0.4.0/22 7\n2a00:1450::/32 15169\n");
    mrt_resolve_options three;
    three.min_peers = 3;
    EXPECT_EQ(rows_text(resolve_mrt({file}, {}, three).table), "");
}

TEST(MrtResolveTest, DropsDefaultBogonsAndLongPrefixes) {
    rib_builder b;
    const std::vector<std::pair<unsigned, std::vector<segment>>> both{{0, {seq({64500, 9})}}, {1, {seq({64501, 9})}}};
    b.add(nlri(v4(0, 0, 0, 0), 0), false, both);
    b.add(nlri(v4(10, 1, 0, 0), 16), false, both);
    b.add(nlri(v4(192, 168, 1, 0), 24), false, both);
    b.add(nlri(v4(198, 51, 100, 0), 24), false, both);
    b.add(nlri(v4(1, 0, 0, 128), 25), false, both);
    b.add(nlri(v4(1, 0, 1, 0), 24), false, both);
    b.add(nlri(be16(0xfd00) + std::string(14, '\0'), 8), true, both);
    b.add(nlri(be16(0x2001) + be16(0x0db8) + std::string(12, '\0'), 32), true, both);
    b.add(nlri(be16(0x2a00) + be16(0x1450) + std::string(12, '\0'), 49), true, both);
    b.add(nlri(be16(0x2a00) + be16(0x1450) + std::string(12, '\0'), 48), true, both);
    const temp_dir dir;
    const auto file = dir.write("rib", b.bytes());
    const auto r = resolve_mrt({file}, {}, {});
    EXPECT_EQ(rows_text(r.table), "1.0.1.0/24 9\n2a00:1450::/48 9\n");
    EXPECT_EQ(r.counts.dropped_default, 1u);
    EXPECT_EQ(r.counts.dropped_bogon, 5u);
    EXPECT_EQ(r.counts.dropped_long, 2u);
    mrt_resolve_options keep;
    keep.keep_long = true;
    EXPECT_EQ(rows_text(resolve_mrt({file}, {}, keep).table), "1.0.0.128/25 9\n1.0.1.0/24 9\n2a00:1450::/48 9\n2a00:1450::/49 9\n");
}

TEST(MrtResolveTest, AsSetOriginsAndSessionsAcrossFilesAdd) {
    rib_builder first;
    first.add(p_a, false, {{0, {seq({64500}), set({100, 200})}}});
    rib_builder second;
    second.collector = 0xc6336402;
    second.time = 1700000600;
    second.add(p_a, false, {{2, {seq({64502, 200})}}});
    const temp_dir dir;
    const auto a = dir.write("a.mrt", first.bytes());
    const auto b = dir.write("b.mrt", second.bytes());
    // One session per file carries (p_a, 200): two sessions in all.
    const auto r = resolve_mrt({a, b}, {}, {});
    EXPECT_EQ(rows_text(r.table), "1.0.0.0/24 200\n");
    EXPECT_EQ(r.counts.dropped_min_peers, 1u);  // (p_a, 100): one session
    EXPECT_EQ(r.data_time, 1700000600u);
    ASSERT_EQ(r.inputs.size(), 2u);
    EXPECT_EQ(r.inputs[0].collector_bgp_ids, std::vector<std::uint32_t>{0xc6336401});
    EXPECT_EQ(r.inputs[1].dump_time, 1700000600u);
    EXPECT_EQ(r.inputs[0].sha256.size(), 64u);
}

/// An update from peer i of rib_builder's table (192.0.2.(i+1), AS 64500+i).
std::string peer_update(std::uint32_t time, unsigned peer, const std::string& withdrawn, const std::vector<segment>& path,
                        const std::string& announced) {
    const std::string attrs = path.empty() && announced.empty() ? "" : origin_igp() + as_path_attr(path);
    return record(time, 16, 4, bgp4mp_message(true, 64500 + peer, v4(192, 0, 2, peer + 1), update(withdrawn, attrs, announced)));
}

TEST(MrtResolveTest, UpdatesApplyInTimeOrderToTheirSessions) {
    rib_builder b;
    b.add(p_a, false, {{0, {seq({64500, 15169})}}, {1, {seq({64501, 15169})}}});
    b.add(p_b, false, {{0, {seq({64500, 7})}}, {1, {seq({64501, 7})}}});
    const temp_dir dir;
    const auto rib = dir.write("rib", b.bytes());
    // File 1 (later): peer 1 withdraws p_a. File 2 (earlier): p_b moves to
    // origin 8 at both peers. An update from before the dump is skipped.
    const auto u1 = dir.write("u1", peer_update(1700000300, 1, p_a, {}, ""));
    const auto u2 = dir.write("u2", peer_update(1700000100, 0, "", {seq({64500, 8})}, p_b) +
                                        peer_update(1700000200, 1, "", {seq({64501, 8})}, p_b) +
                                        peer_update(1699999999, 0, p_b, {}, ""));
    const auto r = resolve_mrt({rib}, {u1, u2}, {});
    EXPECT_EQ(rows_text(r.table), "1.0.4.0/22 8\n");
    EXPECT_EQ(r.counts.updates_applied, 3u);
    EXPECT_EQ(r.counts.updates_before_dump, 1u);
    // Without the updates, the RIB alone.
    EXPECT_EQ(rows_text(resolve_mrt({rib}, {}, {}).table), "1.0.0.0/24 15169\n1.0.4.0/22 7\n");
    // A re-announcement after the withdrawal restores it (time order, not file order).
    const auto u3 = dir.write("u3", peer_update(1700000400, 1, "", {seq({64501, 15169})}, p_a));
    EXPECT_EQ(rows_text(resolve_mrt({rib}, {u3, u1}, {}).table), "1.0.0.0/24 15169\n1.0.4.0/22 7\n");
}

TEST(MrtResolveTest, OutputIsSortedAndByteIdenticalAcrossRuns) {
    rib_builder b;
    b.add(p_6, true, {{0, {seq({64500, 3})}}, {1, {seq({64501, 3})}}});
    b.add(p_b, false, {{0, {seq({64500, 2})}}, {1, {seq({64501, 2})}}, {2, {seq({64502, 1})}}, {3, {seq({64503, 1})}}});
    b.add(p_a, false, {{0, {seq({64500, 5})}}, {1, {seq({64501, 5})}}});
    const temp_dir dir;
    const auto rib = dir.write("rib", b.bytes());
    std::string outputs[2];
    for (int run = 0; run < 2; ++run) {
        const auto r = resolve_mrt({rib}, {}, {});
        const auto out = (dir.path() / ("t" + std::to_string(run) + ".gz")).string();
        write_prefix_table(out, resolve_table_header(r, {}), r.table);
        std::ifstream in(out, std::ios::binary);
        outputs[run] = std::string(std::istreambuf_iterator<char>(in), {});
        EXPECT_EQ(rows_text(r.table), "1.0.0.0/24 5\n1.0.4.0/22 1\n1.0.4.0/22 2\n2a00:1450::/32 3\n");
    }
    EXPECT_EQ(outputs[0], outputs[1]);
    // The table reads back, with its data time.
    origin_table back;
    const auto stats = load_prefix_file((dir.path() / "t0.gz").string(), back);
    EXPECT_EQ(rows_text(back), "1.0.0.0/24 5\n1.0.4.0/22 1\n1.0.4.0/22 2\n2a00:1450::/32 3\n");
    EXPECT_EQ(stats.data_time, 1700000000u);
    // No temporary files left beside it.
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
    EXPECT_EQ(files, 3u);
}

TEST(MrtResolveTest, WriteIsAtomic) {
    const temp_dir dir;
    const auto out = dir.write("t.gz", "old");
    EXPECT_THROW(write_prefix_table((dir.path() / "missing" / "t.gz").string(), "# h\n", {}), config_error);
    origin_table t;
    t.v4.push_back({0x01000000, 24, 1});
    write_prefix_table(out, "# h\n", t);
    origin_table back;
    load_prefix_file(out, back);
    EXPECT_EQ(rows_text(back), "1.0.0.0/24 1\n");
}

TEST(MrtResolveTest, LoadPrefixSourceTellsMrtFromText) {
    rib_builder b;
    b.add(p_a, false, {{0, {seq({64500, 5})}}, {1, {seq({64501, 5})}}});
    b.add(p_b, false, {{0, {seq({64500, 6})}}});
    const temp_dir dir;
    origin_table t;
    const auto mrt = load_prefix_source(dir.write("prefixes.txt", b.bytes()), t, {});
    EXPECT_EQ(mrt.format, prefix_format::mrt);
    EXPECT_EQ(mrt.data_time, 1700000000u);
    mrt_resolve_options one;
    one.min_peers = 1;
    const auto text = load_prefix_source(dir.write("t.mrt", "1.2.3.0/24\t9\n"), t, one);
    EXPECT_EQ(text.format, prefix_format::pfx2asn);
    EXPECT_EQ(rows_text(t), "1.0.0.0/24 5\n1.2.3.0/24 9\n");
    origin_table u;
    EXPECT_EQ(load_prefix_source(dir.write("rib2", b.bytes()), u, one).entries_v4, 2u);
}

TEST(MrtResolveTest, RejectsBadInputsWithFileAndReason) {
    const temp_dir dir;
    const auto updates_only = dir.write("u", peer_update(1, 0, "", {seq({1})}, p_a));
    try {
        resolve_mrt({updates_only}, {}, {});
        FAIL();
    } catch (const config_error& e) {
        EXPECT_EQ(e.file(), updates_only);
        EXPECT_NE(e.reason().find("--updates"), std::string::npos) << e.what();
    }
    rib_builder b;
    b.add(p_a, false, {{0, {seq({1})}}});
    const std::string bytes = b.bytes();
    const auto cut = dir.write("cut", bytes.substr(0, bytes.size() - 3));
    EXPECT_THROW(resolve_mrt({cut}, {}, {}), mrt_error);
    mrt_resolve_options allow;
    allow.allow_truncated = true;
    allow.min_peers = 1;
    const auto r = resolve_mrt({cut}, {}, allow);
    EXPECT_TRUE(r.inputs.at(0).truncated);
    EXPECT_NE(resolve_table_header(r, allow).find("TRUNCATED"), std::string::npos);
}

TEST(MrtResolveTest, BogonTable) {
    const std::vector<std::pair<const char*, bool>> rows{
        {"10.0.0.0/8", true},       {"10.2.0.0/16", true},       {"9.255.255.0/24", false}, {"11.0.0.0/8", false},
        {"100.64.0.0/10", true},    {"100.128.0.0/10", false},   {"127.0.0.1/32", true},    {"169.254.1.0/24", true},
        {"172.16.0.0/12", true},    {"172.32.0.0/12", false},    {"192.0.0.0/24", true},    {"192.0.2.0/24", true},
        {"192.168.0.0/16", true},   {"198.18.0.0/15", true},     {"198.20.0.0/15", false},  {"198.51.100.0/24", true},
        {"203.0.113.0/24", true},   {"224.0.0.0/4", true},       {"240.0.0.0/4", true},     {"0.0.0.0/8", true},
        {"8.8.8.0/24", false},      {"0.0.0.0/1", false},        {"2001:db8::/32", true},   {"2001:db8:1::/48", true},
        {"fc00::/7", true},         {"fd12::/16", true},         {"fe80::/10", true},       {"ff02::/16", true},
        {"2001:2::/48", true},      {"2001:4860::/32", false},   {"2a00:1450::/32", false}, {"100::/64", true},
        {"3fff::/20", true},        {"2002::/16", false},        {"::/128", true},          {"::1/128", true},
    };
    for (const auto& [text, bogon] : rows) {
        const auto p = parse_ip_prefix(text);
        ASSERT_TRUE(p.ok()) << text;
        EXPECT_EQ(is_bogon(p.prefix), bogon) << text;
    }
}

}  // namespace
}  // namespace registry_redirector
