// check, lookup, reduce, --help and --version on the shipped configuration.

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "server_process.hpp"

namespace registry_redirector::testing {
namespace {

namespace fs = std::filesystem;

const std::string shipped = SHIPPED_CONFIG;
const std::string shipped_dir = fs::path(SHIPPED_CONFIG).parent_path().string();

TEST(CliTest, CheckAcceptsTheShippedConfig) {
    const auto r = run_binary({"check", "--config", shipped});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    for (const char* part : {"amazon", "google", "microsoft", "kubernetes.ecr.io", "(default)",
                             "AS16550 is listed by google and microsoft", "OK"})
        EXPECT_NE(r.output.find(part), std::string::npos) << part;
}

TEST(CliTest, LookupExplainsRealCloudAddresses) {
    const auto r = run_binary({"lookup", "--config", shipped, "3.5.140.1", "8.8.8.8", "13.107.42.14", "2600:1f18::1",
                               "192.0.2.1"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("3.5.140.1\tprefix=3.5.140.0/24 origins=AS16509 provider=amazon redirect=amazon "
                            "registry=kubernetes.ecr.io artifacts=kubernetes.s3.amazon.com"),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("8.8.8.8\tprefix=8.8.8.0/24 origins=AS15169 provider=google"), std::string::npos);
    EXPECT_NE(r.output.find("13.107.42.14\tprefix=13.107.42.0/24 origins=AS8068 provider=microsoft redirect=microsoft"),
              std::string::npos);
    EXPECT_NE(r.output.find("2600:1f18::1\tprefix=2600:1f18::/35 origins=AS14618 provider=amazon"), std::string::npos);
    EXPECT_NE(r.output.find("192.0.2.1\tprefix=none origins=- provider=none redirect=google"), std::string::npos);
}

TEST(CliTest, LookupRejectsBadAddresses) {
    const auto r = run_binary({"lookup", "--config", shipped, "not-an-ip"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("not-an-ip\terror"), std::string::npos);
}

TEST(CliTest, CheckRejectsABrokenProviderFileWithFileAndLine) {
    const auto dir = fs::temp_directory_path() / ("redirector-cli-" + std::to_string(::getpid()));
    fs::create_directories(dir / "asns");
    std::ofstream(dir / "asns/google.yaml") << "name: google\nredirectsTo:\n  registry: r.example\n  artifacts: a.example\n"
                                               "asns:\n  - 15169\n  - notanumber\n";
    std::ofstream(dir / "r.yaml") << "providers_dir: asns\nprefixes: []\n";
    const auto r = run_binary({"check", "--config", (dir / "r.yaml").string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("asns/google.yaml:7: ASN must be an integer"), std::string::npos) << r.output;
    fs::remove_all(dir);
}

TEST(CliTest, UsageErrors) {
    EXPECT_EQ(run_binary({"frobnicate", "--config", shipped}).exit_code, 2);
    EXPECT_EQ(run_binary({"serve"}).exit_code, 2);
    EXPECT_EQ(run_binary({"check", "--config", shipped, "--bogus", "1"}).exit_code, 2);
    const auto help = run_binary({"--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.output.find("registry-redirector serve"), std::string::npos);
    const auto version = run_binary({"--version"});
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_EQ(version.output.rfind("registry-redirector ", 0), 0u);
}

TEST(CliTest, ReduceKeepsProviderPrefixesAndTheirHoles) {
    const auto dir = fs::temp_directory_path() / ("redirector-reduce-" + std::to_string(::getpid()));
    fs::create_directories(dir / "asns");
    std::ofstream(dir / "asns/google.yaml") << "name: google\nredirectsTo:\n  registry: r.example\n  artifacts: a.example\nasns: [64500]\n";
    std::ofstream(dir / "r.yaml") << "providers_dir: asns\nprefixes: []\n";
    std::ofstream(dir / "full.tsv") << "10.0.0.0/8\t65000\n192.0.2.0/24\t64500\n192.0.2.128/25\t65001\n198.51.100.0/24\t65002\n";
    const auto out = (dir / "reduced.tsv.gz").string();
    const auto r = run_binary({"reduce", "--config", (dir / "r.yaml").string(), "--source", (dir / "full.tsv").string(),
                               "--source-date", "2026-06-19", "--out", out});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    const auto text = run_binary({"lookup", "--config", (dir / "r.yaml").string(), "192.0.2.1"});  // config unchanged
    EXPECT_EQ(text.exit_code, 0);
    std::ofstream(dir / "r2.yaml") << "providers_dir: asns\nprefixes: [reduced.tsv.gz]\n";
    const auto after = run_binary({"lookup", "--config", (dir / "r2.yaml").string(), "192.0.2.1", "192.0.2.200", "10.1.1.1"});
    EXPECT_NE(after.output.find("192.0.2.1\tprefix=192.0.2.0/24 origins=AS64500"), std::string::npos) << after.output;
    EXPECT_NE(after.output.find("192.0.2.200\tprefix=192.0.2.128/25 origins=AS65001 provider=none"), std::string::npos)
        << after.output;
    EXPECT_NE(after.output.find("10.1.1.1\tprefix=none"), std::string::npos) << after.output;
    fs::remove_all(dir);
}

/// "A server that redirects real Amazon, Google and Microsoft addresses":
/// the shipped provider files and table, behind a trusted proxy.
TEST(CliTest, ShippedDataRedirectsRealCloudAddresses) {
    const auto dir = fs::temp_directory_path() / ("redirector-real-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "r.yaml") << "providers_dir: " << shipped_dir << "/asns\nprefixes: [" << shipped_dir
                                  << "/prefixes/provider-prefixes-20260619.pfx2asn.tsv.gz]\nthreads: 1\n"
                                     "trusted_proxies: [127.0.0.1/32]\n";
    server_process server((dir / "r.yaml").string());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    struct c {
        const char* ip;
        const char* target;
        const char* location;
    };
    for (const auto& x : {c{"3.5.140.1", "/v2/pause/manifests/3.9", "https://kubernetes.ecr.io/v2/pause/manifests/3.9"},
                          c{"52.95.110.1", "/release/stable.txt", "https://kubernetes.s3.amazon.com/release/stable.txt"},
                          c{"2600:1f18::1", "/v2/", "https://kubernetes.ecr.io/v2/"},
                          c{"13.107.42.14", "/v2/", "https://kubernetes.acr.io/v2/"},
                          c{"20.33.0.1", "/x", "https://k8s-artifacts.acr.io/x"},
                          c{"8.8.8.8", "/v2/", "https://k8s.gcr.io/v2/"},
                          c{"34.64.0.1", "/bin", "https://kubernetes-release.storage.googleapis.com/bin"},
                          c{"192.0.2.1", "/v2/", "https://k8s.gcr.io/v2/"}}) {
        const auto r = http_get(server.port(), x.target, std::string("X-Real-Ip: ") + x.ip + "\r\n");
        ASSERT_TRUE(r) << x.ip;
        EXPECT_EQ(r->header("location"), x.location) << x.ip;
    }
    fs::remove_all(dir);
}

}  // namespace
}  // namespace registry_redirector::testing
