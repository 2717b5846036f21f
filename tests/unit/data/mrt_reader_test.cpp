// The MRT reader on crafted records: one test per record type and attribute
// rule, and the malformed and truncated cases.
#include <gtest/gtest.h>

#include <zlib.h>

#include "mrt_test_bytes.hpp"
#include "registry_redirector/data/byte_source.hpp"
#include "registry_redirector/data/mrt_reader.hpp"
#include "test_files.hpp"

namespace registry_redirector {
namespace {

using namespace testing::mrt;

struct seen_route {
    mrt_route_kind kind;
    std::string prefix;
    std::string peer;
    std::uint32_t peer_asn;
    std::string path;
    std::vector<std::uint32_t> origins;
    std::optional<std::uint32_t> path_id;
    std::optional<std::uint16_t> peer_index;
    std::uint32_t timestamp;
    std::uint32_t microseconds;
};

class collector final : public mrt_visitor {
public:
    void on_peer_index_table(const mrt_peer_index_table& t) override { tables.push_back(t); }
    void on_route(const mrt_route& r) override {
        routes.push_back({r.kind, to_string(r.prefix), to_string(r.peer->address), r.peer->asn, to_string(*r.path),
                          std::vector<std::uint32_t>(r.origins.begin(), r.origins.end()), r.path_id, r.peer_index,
                          r.timestamp, r.microseconds});
    }
    std::vector<mrt_peer_index_table> tables;
    std::vector<seen_route> routes;
};

mrt_read_stats read(const std::string& bytes, collector& c, mrt_read_options options = {}) {
    options.read_ahead = false;
    const auto source = byte_source::from_memory("test.mrt", bytes);
    return read_mrt(*source, c, options);
}

/// Reads `bytes` and expects an mrt_error at (record, offset) naming `reason_part`.
void expect_malformed(const std::string& bytes, std::uint64_t record, std::uint64_t offset, const std::string& reason_part) {
    collector c;
    try {
        read(bytes, c);
        FAIL() << "accepted";
    } catch (const mrt_error& e) {
        EXPECT_EQ(e.file(), "test.mrt");
        EXPECT_EQ(e.record(), record) << e.what();
        EXPECT_EQ(e.offset(), offset) << e.what();
        EXPECT_NE(std::string(e.what()).find(reason_part), std::string::npos) << e.what();
    }
}

const std::string two_peers = record(
    1400000000, 13, 1,
    peer_index_table(0xc0000201, "view", {{v4(192, 0, 2, 1), 64500, 1}, {v6_db8(1), 4200000001u, 2}}));

TEST(MrtReaderTest, RibIpv4AndIpv6Entries) {
    const std::string file =
        two_peers +
        record(1400000000, 13, 2,
               rib(0, nlri(v4(198, 51, 100, 0), 24),
                   {{0, origin_igp() + as_path_attr({seq({64500, 64501, 64502})})},
                    {1, as_path_attr({seq({4200000001u, 64502})})}})) +
        record(1400000001, 13, 4, rib(1, nlri(v6_db8(0x10), 48), {{1, as_path_attr({seq({4200000001u, 4200000002u})})}}));
    collector c;
    const auto stats = read(file, c);
    ASSERT_EQ(c.tables.size(), 1u);
    EXPECT_EQ(c.tables[0].collector_bgp_id, 0xc0000201u);
    EXPECT_EQ(c.tables[0].view_name, "view");
    EXPECT_EQ(c.tables[0].timestamp, 1400000000u);
    ASSERT_EQ(c.routes.size(), 3u);
    EXPECT_EQ(c.routes[0].prefix, "198.51.100.0/24");
    EXPECT_EQ(c.routes[0].peer, "192.0.2.1");
    EXPECT_EQ(c.routes[0].peer_asn, 64500u);
    EXPECT_EQ(c.routes[0].peer_index, std::optional<std::uint16_t>(0));
    EXPECT_EQ(c.routes[0].path, "64500 64501 64502");
    EXPECT_EQ(c.routes[0].origins, std::vector<std::uint32_t>{64502});
    EXPECT_EQ(c.routes[1].peer, "2001:db8:1::");
    EXPECT_EQ(c.routes[1].peer_asn, 4200000001u);
    EXPECT_EQ(c.routes[2].prefix, "2001:db8:10::/48");
    EXPECT_EQ(c.routes[2].origins, std::vector<std::uint32_t>{4200000002u});
    EXPECT_EQ(c.routes[2].timestamp, 1400000001u);
    EXPECT_FALSE(c.routes[2].path_id);
    EXPECT_EQ(stats.records, 3u);
    EXPECT_EQ(stats.rib_entries, 3u);
    EXPECT_EQ(stats.rib_records, 2u);
    EXPECT_EQ(stats.first_timestamp, 1400000000u);
    EXPECT_EQ(stats.last_timestamp, 1400000001u);
    EXPECT_FALSE(stats.truncated);
}

TEST(MrtReaderTest, OriginRule) {
    struct row {
        std::vector<segment> path;
        std::vector<std::uint32_t> origins;
        std::string text;
    };
    const std::vector<row> rows{
        {{seq({1, 2, 3})}, {3}, "1 2 3"},
        {{seq({1, 2}), set({9, 7, 9})}, {7, 9}, "1 2 {9,7,9}"},  // trailing AS_SET: every member, once
        {{seq({1}), set({5})}, {5}, "1 {5}"},
        {{set({4, 3}), seq({1, 2})}, {2}, "{4,3} 1 2"},  // a set before the end changes nothing
        {{{3, {65001, 65002}}, seq({1, 2})}, {2}, "(65001 65002) 1 2"},
        {{seq({1, 2}), {3, {65001}}}, {2}, "1 2 (65001)"},  // confederation segments are never the origin
        {{seq({1, 2}), {4, {65001, 65002}}}, {2}, "1 2 [65001,65002]"},
        {{{3, {65001}}}, {}, "(65001)"},
        {{}, {}, ""},  // locally originated: no origin
        {{seq({1, 2}), set({})}, {2}, "1 2 {}"},
    };
    for (const auto& r : rows) {
        const std::string file = two_peers + record(1, 13, 2, rib(0, nlri(v4(192, 0, 2, 0), 24), {{0, as_path_attr(r.path)}}));
        collector c;
        read(file, c);
        ASSERT_EQ(c.routes.size(), 1u);
        EXPECT_EQ(c.routes[0].path, r.text);
        EXPECT_EQ(c.routes[0].origins, r.origins) << r.text;
    }
}

TEST(MrtReaderTest, AddPathRibCarriesPathIds) {
    const std::string file =
        two_peers + record(5, 13, 8,
                           rib(0, nlri(v4(203, 0, 113, 0), 24),
                               {{0, as_path_attr({seq({64500, 1})}), 7}, {0, as_path_attr({seq({64500, 2})}), 9}}, true)) +
        record(5, 13, 10, rib(1, nlri(v6_db8(0), 32), {{1, as_path_attr({seq({3})}), 11}}, true));
    collector c;
    read(file, c);
    ASSERT_EQ(c.routes.size(), 3u);
    EXPECT_EQ(c.routes[0].path_id, std::optional<std::uint32_t>(7));
    EXPECT_EQ(c.routes[0].origins, std::vector<std::uint32_t>{1});
    EXPECT_EQ(c.routes[1].path_id, std::optional<std::uint32_t>(9));
    EXPECT_EQ(c.routes[1].origins, std::vector<std::uint32_t>{2});
    EXPECT_EQ(c.routes[2].prefix, "2001:db8::/32");
    EXPECT_EQ(c.routes[2].path_id, std::optional<std::uint32_t>(11));
}

TEST(MrtReaderTest, MulticastGenericAndUnknownAreSkippedAndCounted) {
    const std::string entry = rib(0, nlri(v4(192, 0, 2, 0), 24), {{0, as_path_attr({seq({1})})}});
    const std::string file = two_peers + record(1, 13, 3, entry) + record(1, 13, 5, entry) + record(1, 13, 9, entry) +
                             record(1, 13, 6, "anything") + record(1, 13, 12, "x") + record(1, 99, 0, "opaque") +
                             record(1, 13, 2, entry);
    collector c;
    const auto stats = read(file, c);
    EXPECT_EQ(c.routes.size(), 1u);
    EXPECT_EQ(stats.skipped_multicast, 3u);
    EXPECT_EQ(stats.skipped_generic, 2u);
    EXPECT_EQ(stats.skipped_other_records, 1u);
    EXPECT_EQ(stats.records, 8u);
}

/// A legacy TABLE_DUMP record (RFC 6396 4.2): 2-byte peer AS and AS path.
std::string table_dump_v1(bool v6, const std::string& prefix16or4, unsigned length, const std::string& peer,
                          unsigned peer_as, const std::string& attributes) {
    return record(1000, 12, v6 ? 2 : 1,
                  be16(0) + be16(1) + prefix16or4 + u8(length) + u8(1) + be32(999) + peer + be16(peer_as) +
                      be16(static_cast<unsigned>(attributes.size())) + attributes);
}

TEST(MrtReaderTest, TableDumpV1Ipv4AndIpv6) {
    const std::string file =
        table_dump_v1(false, v4(192, 0, 2, 0), 24, v4(198, 51, 100, 1), 64500, as_path_attr({seq({64500, 64510})}, 2)) +
        table_dump_v1(true, v6_db8(0x20), 48, v6_db8(0xff), 64501, as_path_attr({seq({64501, 64511})}, 2));
    collector c;
    const auto stats = read(file, c);
    ASSERT_EQ(c.routes.size(), 2u);
    EXPECT_EQ(c.routes[0].kind, mrt_route_kind::rib);
    EXPECT_EQ(c.routes[0].prefix, "192.0.2.0/24");
    EXPECT_EQ(c.routes[0].peer, "198.51.100.1");
    EXPECT_EQ(c.routes[0].peer_asn, 64500u);
    EXPECT_FALSE(c.routes[0].peer_index);
    EXPECT_EQ(c.routes[0].origins, std::vector<std::uint32_t>{64510});
    EXPECT_EQ(c.routes[1].prefix, "2001:db8:20::/48");
    EXPECT_EQ(c.routes[1].peer, "2001:db8:ff::");
    EXPECT_EQ(c.routes[1].origins, std::vector<std::uint32_t>{64511});
    EXPECT_EQ(stats.rib_entries, 2u);
}

TEST(MrtReaderTest, As4PathMerge) {
    // RFC 6793 4.2.3, with AS_TRANS = 23456 standing in for 4-byte ASNs.
    struct row {
        std::vector<segment> as_path2;
        std::vector<segment> as4;
        std::string merged;
        std::vector<std::uint32_t> origins;
    };
    const std::vector<row> rows{
        {{seq({64500, 23456, 23456})}, {seq({4200000001u, 4200000002u})}, "64500 4200000001 4200000002", {4200000002u}},
        // AS4_PATH longer than AS_PATH: ignored.
        {{seq({64500, 23456})}, {seq({1, 2, 4200000002u})}, "64500 23456", {23456}},
        // Equal lengths: AS4_PATH replaces all of it.
        {{seq({23456, 23456})}, {seq({4200000001u, 4200000002u})}, "4200000001 4200000002", {4200000002u}},
        // An AS_SET counts one; the merged path ends in AS4_PATH's set.
        {{seq({64500, 64501}), set({23456, 64502})}, {seq({64501}), set({4200000003u, 64502})},
         "64500 64501 {4200000003,64502}", {64502, 4200000003u}},
        // Confederation segments in AS4_PATH are discarded (RFC 6793 6).
        {{seq({64500, 23456})}, {{3, {65001}}, seq({4200000009u})}, "64500 4200000009", {4200000009u}},
    };
    for (const auto& r : rows) {
        const std::string attrs = as_path_attr(r.as_path2, 2) + as4_path_attr(r.as4);
        const std::string file = table_dump_v1(false, v4(192, 0, 2, 0), 24, v4(198, 51, 100, 1), 64500, attrs);
        collector c;
        read(file, c);
        ASSERT_EQ(c.routes.size(), 1u);
        EXPECT_EQ(c.routes[0].path, r.merged);
        EXPECT_EQ(c.routes[0].origins, r.origins) << r.merged;
    }
}

TEST(MrtReaderTest, As4PathIsIgnoredNextToAFourByteAsPath) {
    const std::string file =
        two_peers + record(1, 13, 2,
                           rib(0, nlri(v4(192, 0, 2, 0), 24),
                               {{0, as_path_attr({seq({64500, 4200000001u})}) + as4_path_attr({seq({7})})}}));
    collector c;
    read(file, c);
    ASSERT_EQ(c.routes.size(), 1u);
    EXPECT_EQ(c.routes[0].path, "64500 4200000001");
}

TEST(MrtReaderTest, Bgp4mpUpdatesAnnounceAndWithdraw) {
    // IPv4 withdrawn routes and NLRI, plus MP_REACH/MP_UNREACH for IPv6 (RFC 4760).
    const std::string mp_reach = attribute(14, be16(2) + u8(1) + u8(16) + v6_db8(0xaa) + u8(0) + nlri(v6_db8(0x30), 48) +
                                                   nlri(v6_db8(0x31), 48));
    const std::string mp_unreach = attribute(15, be16(2) + u8(1) + nlri(v6_db8(0x4000), 40));
    const std::string attrs = origin_igp() + as_path_attr({seq({64500, 64520})}) + mp_reach + mp_unreach;
    const std::string msg = update(nlri(v4(203, 0, 113, 0), 24), attrs, nlri(v4(198, 51, 100, 0), 23) + nlri(v4(192, 0, 2, 128), 25));
    const std::string file = record(1427846430, 16, 4, bgp4mp_message(true, 64500, v4(192, 0, 2, 9), msg)) +
                             record(1427846431, 17, 4, be32(250000) + bgp4mp_message(true, 64500, v4(192, 0, 2, 9), msg));
    collector c;
    const auto stats = read(file, c);
    ASSERT_EQ(c.routes.size(), 12u);
    std::vector<std::string> got;
    for (std::size_t i = 0; i < 6; ++i) {
        const auto& r = c.routes[i];
        got.push_back(std::string(r.kind == mrt_route_kind::withdraw ? "W " : "A ") + r.prefix +
                      (r.origins.empty() ? "" : " " + std::to_string(r.origins[0])));
        EXPECT_EQ(r.peer, "192.0.2.9");
        EXPECT_EQ(r.peer_asn, 64500u);
    }
    const std::vector<std::string> expected{"W 203.0.113.0/24", "W 2001:db8:4000::/40", "A 198.51.100.0/23 64520",
                                            "A 192.0.2.128/25 64520", "A 2001:db8:30::/48 64520",
                                            "A 2001:db8:31::/48 64520"};
    EXPECT_EQ(got, expected);
    EXPECT_EQ(c.routes[0].microseconds, 0u);
    EXPECT_EQ(c.routes[6].microseconds, 250000u);  // BGP4MP_ET
    EXPECT_EQ(c.routes[6].timestamp, 1427846431u);
    EXPECT_EQ(c.routes[11].prefix, "2001:db8:31::/48");
    EXPECT_EQ(stats.update_messages, 2u);
    EXPECT_EQ(stats.announcements, 8u);
    EXPECT_EQ(stats.withdrawals, 4u);
}

TEST(MrtReaderTest, Bgp4mpTwoByteMessageMergesAs4Path) {
    const std::string attrs = as_path_attr({seq({64500, 23456})}, 2) + as4_path_attr({seq({4200000005u})});
    const std::string file =
        record(1, 16, 1, bgp4mp_message(false, 64500, v4(192, 0, 2, 9), update("", attrs, nlri(v4(192, 0, 2, 0), 24))));
    collector c;
    read(file, c);
    ASSERT_EQ(c.routes.size(), 1u);
    EXPECT_EQ(c.routes[0].path, "64500 4200000005");
    EXPECT_EQ(c.routes[0].origins, std::vector<std::uint32_t>{4200000005u});
}

TEST(MrtReaderTest, Bgp4mpAddPathAndSkippedMessages) {
    const std::string ap_msg = update(be32(3) + nlri(v4(203, 0, 113, 0), 24), as_path_attr({seq({1, 2})}),
                                      be32(4) + nlri(v4(198, 51, 100, 0), 24));
    const std::string keepalive = std::string(16, '\xff') + be16(19) + u8(4);
    const std::string file = record(1, 16, 9, bgp4mp_message(true, 64500, v4(192, 0, 2, 9), ap_msg)) +
                             record(1, 16, 4, bgp4mp_message(true, 64500, v4(192, 0, 2, 9), keepalive)) +
                             record(1, 16, 5, be32(64500) + be32(1) + be16(0) + be16(1) + v4(1, 1, 1, 1) + v4(2, 2, 2, 2) + be16(1) + be16(6)) +
                             record(1, 16, 7, bgp4mp_message(true, 64500, v4(192, 0, 2, 9), ap_msg));
    collector c;
    const auto stats = read(file, c);
    ASSERT_EQ(c.routes.size(), 2u);
    EXPECT_EQ(c.routes[0].kind, mrt_route_kind::withdraw);
    EXPECT_EQ(c.routes[0].path_id, std::optional<std::uint32_t>(3));
    EXPECT_EQ(c.routes[1].path_id, std::optional<std::uint32_t>(4));
    EXPECT_EQ(c.routes[1].origins, std::vector<std::uint32_t>{2});
    EXPECT_EQ(stats.state_changes, 1u);
    EXPECT_EQ(stats.skipped_bgp_messages, 2u);  // the KEEPALIVE and the locally sent message
}

TEST(MrtReaderTest, RecordOver64KiB) {
    std::vector<rib_entry> entries;
    for (unsigned i = 0; i < 1000; ++i) entries.push_back({i % 2, origin_igp() + as_path_attr({seq({64500, 64501, 64502, 64503, 64504, 64505, 64506, 64507, 64508, 64509, 64510, 64511, 64512, 100 + i})})});
    const std::string body = rib(0, nlri(v4(192, 0, 2, 0), 24), entries);
    ASSERT_GT(body.size(), 65535u);
    collector c;
    const auto stats = read(two_peers + record(1, 13, 2, body), c);
    ASSERT_EQ(c.routes.size(), 1000u);
    EXPECT_EQ(c.routes[999].origins, std::vector<std::uint32_t>{1099});
    EXPECT_EQ(stats.rib_entries, 1000u);
}

TEST(MrtReaderTest, MalformedRecordsNameRecordOffsetAndReason) {
    const std::size_t first = two_peers.size();
    expect_malformed(two_peers + record(1, 13, 2, rib(0, u8(33) + v4(192, 0, 2, 0) + u8(0), {})), 2, first,
                     "prefix length 33 is over 32");
    expect_malformed(two_peers + record(1, 13, 4, rib(0, u8(129) + std::string(17, '\0'), {})), 2, first,
                     "prefix length 129 is over 128");
    expect_malformed(record(1, 13, 2, rib(0, nlri(v4(192, 0, 2, 0), 24), {{0, ""}})), 1, 0,
                     "before any PEER_INDEX_TABLE");
    expect_malformed(two_peers + record(1, 13, 2, rib(0, nlri(v4(192, 0, 2, 0), 24), {{2, ""}})), 2, first,
                     "peer index 2 is not in the PEER_INDEX_TABLE (2 peers)");
    // An attribute whose length runs past the attribute block.
    std::string bad_attr = u8(0x40) + u8(2) + u8(40) + std::string(6, '\0');
    expect_malformed(two_peers + record(1, 13, 2, rib(0, nlri(v4(192, 0, 2, 0), 24), {{0, bad_attr}})), 2, first,
                     "AS_PATH: needs 40 bytes, only 6 left");
    // The attribute block's length runs past the record.
    std::string body = rib(0, nlri(v4(192, 0, 2, 0), 24), {{0, as_path_attr({seq({1})})}});
    body[body.size() - as_path_attr({seq({1})}).size() - 1] = 100;
    expect_malformed(two_peers + record(1, 13, 2, body), 2, first, "attributes: needs 100 bytes");
    expect_malformed(two_peers + record(1, 13, 2, rib(0, nlri(v4(192, 0, 2, 0), 24), {{0, attribute(2, u8(9) + u8(1) + be32(1))}})),
                     2, first, "segment type 9");
    // Trailing bytes after the entries of a RIB record.
    expect_malformed(two_peers + record(1, 13, 2, rib(0, nlri(v4(192, 0, 2, 0), 24), {}) + "xy"), 2, first,
                     "2 bytes after the last of 0 entries");
    expect_malformed(record(1, 12, 3, ""), 1, 0, "subtype (AFI) 3");
    expect_malformed(record(1, 16, 4, be32(1) + be32(2) + be16(0) + be16(7)), 1, 0, "address family 7");
    expect_malformed(record(1, 16, 4, bgp4mp_message(true, 1, v4(1, 2, 3, 4), std::string(16, '\xff') + be16(5) + u8(2))),
                     1, 0, "BGP message length 5");
    // A declared record length over the limit is refused before any allocation.
    expect_malformed(two_peers + be32(1) + be16(13) + be16(2) + be32(0xfffffff0u), 2, first, "over the limit");
}

TEST(MrtReaderTest, TruncatedRecordIsReportedAndKeptOnlyWhenAllowed) {
    const std::string complete = two_peers + record(1, 13, 2, rib(0, nlri(v4(192, 0, 2, 0), 24), {{0, as_path_attr({seq({1})})}}));
    const std::string next = record(2, 13, 2, rib(0, nlri(v4(198, 51, 100, 0), 24), {{0, as_path_attr({seq({2})})}}));
    for (const std::size_t cut : {std::size_t{5}, std::size_t{12}, next.size() - 1}) {
        const std::string file = complete + next.substr(0, cut);
        expect_malformed(file, 3, complete.size(), "truncated");
        collector c;
        mrt_read_options allow;
        allow.allow_truncated = true;
        const auto stats = read(file, c, allow);
        ASSERT_TRUE(stats.truncated);
        EXPECT_NE(stats.truncated->find("record 3 at byte offset " + std::to_string(complete.size())), std::string::npos)
            << *stats.truncated;
        EXPECT_EQ(stats.records, 2u);
        ASSERT_EQ(c.routes.size(), 1u);
        EXPECT_EQ(c.routes[0].prefix, "192.0.2.0/24");
    }
}

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

TEST(MrtReaderTest, CutCompressedStreamIsTruncatedEvenAtARecordBoundary) {
    // The complete records are all there, but the gzip trailer is missing.
    const std::string plain = two_peers + record(1, 13, 2, rib(0, nlri(v4(192, 0, 2, 0), 24), {{0, as_path_attr({seq({1})})}}));
    const std::string gz = gzip_bytes(plain);
    const std::string cut = gz.substr(0, gz.size() - 8);
    collector c;
    EXPECT_THROW(read(cut, c), mrt_error);
    collector kept;
    mrt_read_options allow;
    allow.allow_truncated = true;
    const auto stats = read(cut, kept, allow);
    ASSERT_TRUE(stats.truncated);
    EXPECT_NE(stats.truncated->find("gzip stream ends without its end marker"), std::string::npos) << *stats.truncated;
    EXPECT_EQ(kept.routes.size(), 1u);
    collector whole;
    EXPECT_FALSE(read(gz, whole).truncated);
    EXPECT_EQ(whole.routes.size(), 1u);
}

TEST(MrtReaderTest, LooksLikeMrtTellsDumpsFromTextTables) {
    const testing::temp_dir dir;
    const auto write = [&](const std::string& name, const std::string& bytes) { return dir.write(name, bytes); };
    EXPECT_TRUE(looks_like_mrt_file(write("rib", two_peers)));
    EXPECT_TRUE(looks_like_mrt_file(write("rib.txt", gzip_bytes(two_peers))));  // by content, not name
    EXPECT_FALSE(looks_like_mrt_file(write("table.mrt", "192.0.2.0/24\t64500\n203.0.113.0/24\t64501\n")));
    EXPECT_FALSE(looks_like_mrt_file(write("short", "abc")));
}

}  // namespace
}  // namespace registry_redirector
