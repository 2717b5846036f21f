// resolve on the real MRT samples, and a server whose prefixes: is an MRT dump.

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "../unit/data/mrt_test_bytes.hpp"
#include "server_process.hpp"

namespace registry_redirector::testing {
namespace {

namespace fs = std::filesystem;
using namespace mrt;

const fs::path samples{MRT_DATA_DIR};
const std::string shipped = SHIPPED_CONFIG;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

struct scratch {
    fs::path dir = fs::temp_directory_path() / ("redirector-mrt-" + std::to_string(::getpid()) + "-" +
                                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
    scratch() { fs::create_directories(dir); }
    ~scratch() { fs::remove_all(dir); }
};

/// asns/amazon.yaml (AS16509) and asns/google.yaml (AS15169), both with redirectsTo.
void write_providers(const fs::path& dir) {
    fs::create_directories(dir / "asns");
    std::ofstream(dir / "asns/amazon.yaml") << "name: amazon\nredirectsTo:\n  registry: r.amazon.example\n"
                                               "  artifacts: a.amazon.example\nasns: [16509]\n";
    std::ofstream(dir / "asns/google.yaml") << "name: google\nredirectsTo:\n  registry: r.google.example\n"
                                               "  artifacts: a.google.example\nasns: [15169]\n";
}

TEST(MrtCliTest, ResolveRealDumpsIsDeterministicAndAtomic) {
    if (!fs::is_directory(samples)) GTEST_SKIP() << samples << " is missing";
    scratch s;
    const auto rib4 = (samples / "rib.20140523.0600_firstMB.bz2").string();
    const auto rib6 = (samples / "rib6.20151101.0600_firstMB.bz2").string();
    const auto out = (s.dir / "table.gz").string();
    std::ofstream(out) << "old";
    // Truncated dumps: an error naming file, record and offset; --out untouched.
    const auto refused = run_binary({"resolve", "--rib", rib4, rib6, "--out", out});
    EXPECT_EQ(refused.exit_code, 1) << refused.output;
    EXPECT_NE(refused.output.find(rib4 + ": record 9074 at byte offset 15273283: truncated"), std::string::npos)
        << refused.output;
    EXPECT_EQ(slurp(out), "old");
    EXPECT_EQ(std::distance(fs::directory_iterator(s.dir), fs::directory_iterator()), 1);

    const auto first = run_binary({"resolve", "--rib", rib4, "--rib", rib6, "--out", out, "--allow-truncated"});
    ASSERT_EQ(first.exit_code, 0) << first.output;
    const std::string bytes = slurp(out);
    ASSERT_TRUE(run_binary({"resolve", "--rib", rib4, rib6, "--out", out, "--allow-truncated"}).exit_code == 0);
    EXPECT_EQ(slurp(out), bytes);  // byte-identical
    // Served through a config: 8.8.8.0/24 (AS15169) is in the first MiB.
    std::ofstream(s.dir / "r.yaml") << "providers_dir: " << fs::path(shipped).parent_path().string()
                                    << "/asns\nprefixes: [table.gz]\n";
    const auto lookup = run_binary({"lookup", "--config", (s.dir / "r.yaml").string(), "8.8.8.8", "2001:db8::1"});
    EXPECT_NE(lookup.output.find("8.8.8.8\tprefix=8.8.8.0/24 origins=AS15169 provider=google"), std::string::npos)
        << lookup.output;
    // --config keeps only what can matter for it.
    const auto reduced = (s.dir / "reduced.gz").string();
    const auto r = run_binary({"resolve", "--rib", rib4, "--out", reduced, "--allow-truncated", "--config", shipped});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_LT(fs::file_size(reduced), fs::file_size(out));
    std::ofstream(s.dir / "r2.yaml") << "providers_dir: " << fs::path(shipped).parent_path().string()
                                     << "/asns\nprefixes: [reduced.gz]\n";
    const auto lookup2 = run_binary({"lookup", "--config", (s.dir / "r2.yaml").string(), "8.8.8.8"});
    EXPECT_NE(lookup2.output.find("8.8.8.8\tprefix=8.8.8.0/24 origins=AS15169 provider=google"), std::string::npos)
        << lookup2.output;
}

TEST(MrtCliTest, ResolveUsageAndInputErrors) {
    scratch s;
    EXPECT_EQ(run_binary({"resolve", "--out", (s.dir / "t.gz").string()}).exit_code, 2);
    EXPECT_EQ(run_binary({"resolve", "--rib", "--out", (s.dir / "t.gz").string()}).exit_code, 2);
    EXPECT_EQ(run_binary({"resolve", "--rib", "x", "--out", "y", "--min-peers", "0"}).exit_code, 2);
    const auto text = (s.dir / "table.tsv").string();
    std::ofstream(text) << "1.0.0.0/24\t1\n";
    const auto r = run_binary({"resolve", "--rib", text, "--out", (s.dir / "t.gz").string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find(text + ": record 1 at byte offset 0"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(s.dir / "t.gz"));
}

/// The issue's integration test: a config whose prefixes: is an MRT file.
TEST(MrtCliTest, ServerAcceptsAnMrtDumpAsPrefixes) {
    scratch s;
    write_providers(s.dir);
    // 1.0.0.0/24: AS16509 at two sessions (kept); 1.0.4.0/22: AS16509 at one
    // (a leak: dropped at min_peers 2); 2a00:1450::/32: AS16509 at three.
    std::vector<peer_entry> peers;
    for (unsigned i = 0; i < 3; ++i) peers.push_back({v4(192, 0, 2, i + 1), 64500 + i, i + 1});
    const auto entry = [](unsigned peer, std::uint32_t origin) {
        return rib_entry{peer, origin_igp() + as_path_attr({seq({64500 + peer, origin})})};
    };
    const std::string rib_bytes =
        record(1700000000, 13, 1, peer_index_table(0x0a000001, "", peers)) +
        record(1700000000, 13, 2, rib(0, nlri(v4(1, 0, 0, 0), 24), {entry(0, 16509), entry(1, 16509)})) +
        record(1700000000, 13, 2, rib(1, nlri(v4(1, 0, 4, 0), 22), {entry(2, 16509)})) +
        record(1700000000, 13, 4,
               rib(2, nlri(be16(0x2a00) + be16(0x1450) + std::string(12, '\0'), 32), {entry(0, 16509), entry(1, 16509), entry(2, 16509)}));
    std::ofstream(s.dir / "rib.bin", std::ios::binary) << rib_bytes;
    std::ofstream(s.dir / "r.yaml") << "providers_dir: asns\nprefixes: [rib.bin]\nmrt: {min_peers: 2}\nthreads: 1\n"
                                       "trusted_proxies: [127.0.0.1/32]\ndefault_provider: google\n";
    const auto check = run_binary({"check", "--config", (s.dir / "r.yaml").string()});
    EXPECT_EQ(check.exit_code, 0) << check.output;
    EXPECT_NE(check.output.find("MRT dump (resolved)"), std::string::npos) << check.output;

    server_process server((s.dir / "r.yaml").string());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    struct c {
        const char* ip;
        const char* location;
    };
    for (const auto& x : {c{"1.0.0.7", "https://r.amazon.example/v2/"}, c{"1.0.5.1", "https://r.google.example/v2/"},
                          c{"2a00:1450::1", "https://r.amazon.example/v2/"}}) {
        const auto r = http_get(server.port(), "/v2/", std::string("X-Real-Ip: ") + x.ip + "\r\n");
        ASSERT_TRUE(r) << x.ip;
        EXPECT_EQ(r->header("location"), x.location) << x.ip;
    }
    // Freshness: the dump time, labelled with the file name.
    const auto metrics = http_get(server.admin_port(), "/metrics", "");
    ASSERT_TRUE(metrics);
    EXPECT_NE(metrics->body.find("registry_redirector_prefix_data_timestamp_seconds{source=\"rib.bin\"} 1700000000"),
              std::string::npos)
        << metrics->body.substr(0, 2000);
    // min_peers 1 keeps the one-session route.
    std::ofstream(s.dir / "r1.yaml") << "providers_dir: asns\nprefixes: [rib.bin]\nmrt: {min_peers: 1}\n";
    const auto lookup = run_binary({"lookup", "--config", (s.dir / "r1.yaml").string(), "1.0.5.1"});
    EXPECT_NE(lookup.output.find("1.0.5.1\tprefix=1.0.4.0/22 origins=AS16509 provider=amazon"), std::string::npos)
        << lookup.output;
}

TEST(MrtCliTest, DiffExitStatusGatesCi) {
    scratch s;
    write_providers(s.dir);
    std::ofstream(s.dir / "old.tsv") << "1.0.0.0/24\t16509\n9.9.9.0/24\t64500\n";
    std::ofstream(s.dir / "same.tsv") << "1.0.0.0/24\t16509\n";  // rows differ, answers do not
    std::ofstream(s.dir / "new.tsv") << "1.0.0.0/24\t15169\n";
    std::ofstream(s.dir / "r.yaml") << "providers_dir: asns\nprefixes: [old.tsv]\n";
    std::ofstream(s.dir / "r2.yaml") << "providers_dir: asns\nprefixes: [new.tsv]\n";
    const auto config = (s.dir / "r.yaml").string();
    const auto same = run_binary({"diff", "--config", config, (s.dir / "old.tsv").string(), (s.dir / "same.tsv").string()});
    EXPECT_EQ(same.exit_code, 0) << same.output;
    const auto changed = run_binary({"diff", "--config", config, (s.dir / "old.tsv").string(), (s.dir / "new.tsv").string()});
    EXPECT_EQ(changed.exit_code, 1) << changed.output;
    EXPECT_NE(changed.output.find("1.0.0.0/24 (AS16509) -> 1.0.0.0/24 (AS15169): amazon -> google, 1 /24s"), std::string::npos)
        << changed.output;
    const auto json = run_binary({"diff", "--old-config", config, "--new-config", (s.dir / "r2.yaml").string(), "--json"});
    EXPECT_EQ(json.exit_code, 1) << json.output;
    EXPECT_EQ(json.output.rfind("{\"answers_changed\":true", 0), 0u) << json.output;
    EXPECT_EQ(run_binary({"diff", "--config", config, (s.dir / "old.tsv").string(), (s.dir / "none.tsv").string()}).exit_code, 2);
    EXPECT_EQ(run_binary({"diff", "--config", config, (s.dir / "old.tsv").string()}).exit_code, 2);
}

/// Regions from cloud_ranges: a new ip-ranges.json (two configs) moving a
/// prefix between regions of one provider, and a new table (one config)
/// taking a /24 out of a labelled range.
TEST(MrtCliTest, DiffReportsRegionMoves) {
    scratch s;
    write_providers(s.dir);
    std::ofstream(s.dir / "old.tsv") << "1.0.0.0/24\t16509\n";
    std::ofstream(s.dir / "new.tsv") << "1.0.0.0/24\t15169\n";
    std::ofstream(s.dir / "aws-1.json") << R"({"prefixes":[{"ip_prefix":"1.0.0.0/16","region":"us-east-1"},)"
                                           R"({"ip_prefix":"3.5.0.0/16","region":"eu-west-1"}],"ipv6_prefixes":[]})";
    std::ofstream(s.dir / "aws-2.json") << R"({"prefixes":[{"ip_prefix":"1.0.0.0/16","region":"us-east-2"},)"
                                           R"({"ip_prefix":"3.5.0.0/16","region":"eu-west-1"}],"ipv6_prefixes":[]})";
    const auto config = [&](const char* name, const char* ranges) {
        std::ofstream(s.dir / name) << "providers_dir: asns\nprefixes: [old.tsv]\ndefault_provider: google\n"
                                       "cloud_ranges:\n  - {provider: amazon, format: aws, file: "
                                    << ranges << "}\n";
        return (s.dir / name).string();
    };
    const auto c1 = config("r1.yaml", "aws-1.json"), c1b = config("r1b.yaml", "aws-1.json"),
               c2 = config("r2.yaml", "aws-2.json");
    const auto same = run_binary({"diff", "--old-config", c1, "--new-config", c1b});
    EXPECT_EQ(same.exit_code, 0) << same.output;
    EXPECT_NE(same.output.find("no address changes provider or region"), std::string::npos) << same.output;

    const auto moved = run_binary({"diff", "--old-config", c1, "--new-config", c2});
    EXPECT_EQ(moved.exit_code, 1) << moved.output;
    EXPECT_NE(moved.output.find("1.0.0.0/16 (-) -> 1.0.0.0/16 (-): amazon/us-east-1 -> amazon/us-east-2, 255 /24s"),
              std::string::npos)
        << moved.output;
    EXPECT_NE(moved.output.find("1.0.0.0/24 (AS16509) -> 1.0.0.0/24 (AS16509): amazon/us-east-1 -> amazon/us-east-2, 1 /24s"),
              std::string::npos)
        << moved.output;
    EXPECT_NE(moved.output.find("\namazon/us-east-1         0         2            0          256"), std::string::npos)
        << moved.output;
    EXPECT_EQ(moved.output.find("eu-west-1"), std::string::npos) << moved.output;  // unchanged region
    const auto json = run_binary({"diff", "--old-config", c1, "--new-config", c2, "--json"});
    EXPECT_EQ(json.exit_code, 1) << json.output;
    EXPECT_NE(json.output.find("{\"provider\":\"amazon\",\"region\":\"us-east-2\",\"prefixes_gained\":2,"
                               "\"prefixes_lost\":0,\"ipv4_24s_gained\":256,"),
              std::string::npos)
        << json.output;
    EXPECT_NE(json.output.find("\"from\":{\"provider\":\"amazon\",\"region\":\"us-east-1\",\"redirect\":\"amazon\"},"
                               "\"to\":{\"provider\":\"amazon\",\"region\":\"us-east-2\",\"redirect\":\"amazon\"}"),
              std::string::npos)
        << json.output;

    // Two tables under one config: the /24 leaves amazon's us-east-1 range for google.
    const auto table = run_binary({"diff", "--config", c1, (s.dir / "old.tsv").string(), (s.dir / "new.tsv").string()});
    EXPECT_EQ(table.exit_code, 1) << table.output;
    EXPECT_NE(table.output.find("1.0.0.0/24 (AS16509) -> 1.0.0.0/24 (AS15169): amazon/us-east-1 -> google, 1 /24s"),
              std::string::npos)
        << table.output;
    // A bad range file is an error (exit 2), naming the file.
    std::ofstream(s.dir / "aws-2.json") << R"({"prefixes":[{"ip_prefix":"1.0.0.1/16","region":"us-east-2"}]})";
    const auto bad = run_binary({"diff", "--old-config", c1, "--new-config", c2});
    EXPECT_EQ(bad.exit_code, 2) << bad.output;
    EXPECT_NE(bad.output.find("aws-2.json"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace registry_redirector::testing
