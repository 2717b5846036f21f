#include <gtest/gtest.h>

#include <algorithm>

#include "registry_redirector/config/config.hpp"
#include "registry_redirector/data/config_error.hpp"
#include "test_files.hpp"

namespace registry_redirector {
namespace {

using testing::temp_dir;

const std::string real_asns = std::string(TEST_DATA_DIR) + "/asns";

TEST(ProviderConfigTest, LoadsTheRealProviderFilesWithTheirQuirks) {
    const auto providers = load_providers(real_asns);
    ASSERT_EQ(providers.size(), 9u);
    std::vector<std::string> names;
    for (const auto& p : providers) names.push_back(p.name);
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));  // file-name order breaks ties
    auto find = [&](const std::string& n) {
        return *std::find_if(providers.begin(), providers.end(), [&](const auto& p) { return p.name == n; });
    };
    const auto amazon = find("amazon");
    ASSERT_TRUE(amazon.redirects_to);
    EXPECT_EQ(amazon.redirects_to->registry, "kubernetes.ecr.io");
    EXPECT_EQ(amazon.asns.size(), 10u);  // 11 entries, 16509 twice
    EXPECT_TRUE(std::any_of(amazon.warnings.begin(), amazon.warnings.end(),
                            [](const std::string& w) { return w.find("16509") != std::string::npos; }));
    EXPECT_EQ(find("equinixmetal").asns.size(), 44u);  // 51 entries
    EXPECT_FALSE(find("baidu").redirects_to);
    const auto google = find("google");
    const auto microsoft = find("microsoft");
    EXPECT_TRUE(std::binary_search(google.asns.begin(), google.asns.end(), 16550u));
    EXPECT_TRUE(std::binary_search(microsoft.asns.begin(), microsoft.asns.end(), 16550u));
}

TEST(ProviderConfigTest, AcceptsExplicitCidrs) {
    temp_dir dir;
    const auto f = dir.write("p/acme.yaml",
                             "name: acme\nredirectsTo:\n  registry: reg.acme.example\n  artifacts: art.acme.example:8443\n"
                             "asns: []\ncidrs:\n  - 192.0.2.0/24\n  - 2001:db8::/32\n");
    const auto p = load_provider_file(f);
    EXPECT_EQ(p.cidrs.size(), 2u);
    EXPECT_EQ(p.redirects_to->artifacts, "art.acme.example:8443");
}

struct bad_provider {
    const char* yaml;
    int line;
    const char* reason_part;
};

TEST(ProviderConfigTest, RejectsBrokenFilesWithLineAndReason) {
    for (const auto& c : {
             bad_provider{"name: a\nasns: [1, 2\n", 3, "invalid YAML"},
             bad_provider{"name: a\nasn:\n  - 1\n", 2, "unknown key \"asn\""},
             bad_provider{"name: a\nasns:\n  - 1\n  - x\n", 4, "ASN"},
             bad_provider{"name: a\nasns:\n  - 0\n", 3, "out of range"},
             bad_provider{"name: a\nasns:\n  - 4294967295\n", 3, "out of range"},
             bad_provider{"name: a\nasns: 5\n", 2, "must be a list"},
             bad_provider{"asns: [1]\n", 1, "missing key \"name\""},
             bad_provider{"name: [a]\n", 1, "must be a string"},
             bad_provider{"name: a b\n", 1, "must be 1-63"},
             bad_provider{"name: a\ncidrs:\n  - 192.0.2.1/24\n", 3, "host bits"},
             bad_provider{"name: a\ncidrs:\n  - 192.0.2.0/40\n", 3, "0 to 32"},
             bad_provider{"name: a\nredirectsTo:\n  registry: x.example\n", 3, "missing \"artifacts\""},
             bad_provider{"name: a\nredirectsTo:\n  registry: \"x.example\\r\\nSet-Cookie: a\"\n  artifacts: y.example\n", 3,
                          "not a DNS host name"},
             bad_provider{"name: a\nredirectsTo:\n  registry: https://x.example/\n  artifacts: y.example\n", 3,
                          "not a DNS host name"},
             bad_provider{"name: a\nredirectsTo:\n  registry: x.example:99999\n  artifacts: y.example\n", 3,
                          "not a DNS host name"},
         }) {
        temp_dir dir;
        const auto f = dir.write("a.yaml", c.yaml);
        try {
            load_provider_file(f);
            ADD_FAILURE() << "accepted: " << c.yaml;
        } catch (const config_error& e) {
            EXPECT_EQ(e.file(), f);
            EXPECT_EQ(e.line(), c.line) << c.yaml << " -> " << e.what();
            EXPECT_NE(e.reason().find(c.reason_part), std::string::npos) << c.yaml << " -> " << e.what();
        }
    }
}

TEST(ProviderConfigTest, FolderRules) {
    temp_dir dir;
    EXPECT_THROW(load_providers((dir.path() / "missing").string()), config_error);
    dir.write("empty/README.md", "not a provider");
    try {
        load_providers((dir.path() / "empty").string());
        FAIL();
    } catch (const config_error& e) {
        EXPECT_NE(e.reason().find("no *.yaml"), std::string::npos);
    }
    dir.write("dup/a.yaml", "name: same\nasns: [1]\n");
    dir.write("dup/b.yml", "name: same\nasns: [2]\n");
    try {
        load_providers((dir.path() / "dup").string());
        FAIL();
    } catch (const config_error& e) {
        EXPECT_NE(e.reason().find("already used"), std::string::npos);
    }
    // Hidden entries (a ConfigMap's ..data) are skipped.
    dir.write("cm/..2026_11_24/x.yaml", "name: x\nasns: [1]\n");
    dir.write("cm/.hidden.yaml", "broken: [");
    dir.write("cm/x.yaml", "name: x\nasns: [1]\n");
    EXPECT_EQ(load_providers((dir.path() / "cm").string()).size(), 1u);
}

TEST(ServerConfigTest, DefaultsAndRelativePaths) {
    temp_dir dir;
    const auto f = dir.write("etc/redirector.yaml", "providers_dir: asns\nprefixes: [data/t.gz, /abs/t2.gz]\n");
    const auto c = load_server_config(f);
    EXPECT_EQ(c.listen.host, "0.0.0.0");
    EXPECT_EQ(c.listen.port, 8080);
    EXPECT_EQ(c.admin_listen.port, 9090);
    EXPECT_EQ(c.threads, 0u);
    EXPECT_EQ(c.default_provider, "google");
    EXPECT_TRUE(c.trusted_proxies.empty());
    EXPECT_EQ(c.providers_dir, (dir.path() / "etc/asns").string());
    EXPECT_EQ(c.prefix_files[0], (dir.path() / "etc/data/t.gz").string());
    EXPECT_EQ(c.prefix_files[1], "/abs/t2.gz");
    EXPECT_EQ(c.mrt.min_peers, 2u);
    EXPECT_FALSE(c.mrt.keep_long);
}

TEST(ServerConfigTest, ParsesEveryKey) {
    temp_dir dir;
    const auto f = dir.write("r.yaml",
                             "listen: \"[::]:8081\"\nadmin_listen: 127.0.0.1:9091\nthreads: 3\nlog_level: debug\n"
                             "providers_dir: p\nprefixes: []\ndefault_provider: acme\n"
                             "trusted_proxies: [10.0.0.0/8, 2001:db8::/32, 192.0.2.7]\n"
                             "limits:\n  max_connections: 50\n  header_timeout: 2s\n  idle_timeout: 1000ms\n"
                             "  write_timeout: 1m\n  max_requests_per_connection: 7\n  max_header_bytes: 4096\n"
                             "shutdown_delay: 0s\nshutdown_timeout: 45s\naccess_log: json\n"
                             "access_log_ipv4_prefix_length: 32\naccess_log_ipv6_prefix_length: 56\n"
                             "mrt: {min_peers: 3, keep_long: true}\n");
    const auto c = load_server_config(f);
    EXPECT_EQ(c.listen.host, "::");
    EXPECT_EQ(c.listen.port, 8081);
    EXPECT_EQ(c.admin_listen.host, "127.0.0.1");
    EXPECT_EQ(c.threads, 3u);
    EXPECT_EQ(c.default_provider, "acme");
    ASSERT_EQ(c.trusted_proxies.size(), 3u);
    EXPECT_EQ(c.trusted_proxies[2].length, 32);
    EXPECT_EQ(c.limits.max_connections, 50u);
    EXPECT_EQ(c.limits.header_timeout.count(), 2000);
    EXPECT_EQ(c.limits.max_requests_per_connection, 7u);
    EXPECT_EQ(c.limits.idle_timeout.count(), 1000);
    EXPECT_EQ(c.limits.write_timeout.count(), 60000);
    EXPECT_EQ(c.shutdown_delay.count(), 0);
    EXPECT_EQ(c.shutdown_timeout.count(), 45000);
    EXPECT_EQ(c.access_log, access_log_format::json);
    EXPECT_EQ(c.access_log_ipv4_prefix, 32);
    EXPECT_EQ(c.access_log_ipv6_prefix, 56);
    EXPECT_EQ(c.mrt.min_peers, 3u);
    EXPECT_TRUE(c.mrt.keep_long);
}

TEST(ServerConfigTest, RejectsBadValuesWithLine) {
    for (const auto& c : {
             bad_provider{"providers_dir: p\nprefixes: []\nlisten_port: 1\n", 3, "unknown key \"listen_port\""},
             bad_provider{"prefixes: []\n", 1, "missing key \"providers_dir\""},
             bad_provider{"providers_dir: p\n", 1, "missing key \"prefixes\""},
             bad_provider{"providers_dir: p\nprefixes: []\nlisten: 8080\n", 3, "IPV4:PORT"},
             bad_provider{"providers_dir: p\nprefixes: []\nlisten: 1.2.3.4:70000\n", 3, "port"},
             bad_provider{"providers_dir: p\nprefixes: []\nthreads: -1\n", 3, "integer"},
             bad_provider{"providers_dir: p\nprefixes: []\ntrusted_proxies: [10.0.0.1/8]\n", 3, "host bits"},
             bad_provider{"providers_dir: p\nprefixes: []\nlog_level: loud\n", 3, "log_level"},
             bad_provider{"providers_dir: p\nprefixes: []\nlimits:\n  idle_timeout_ms: 5\n", 4, "unknown key"},
             bad_provider{"providers_dir: p\nprefixes: []\nlimits:\n  idle_timeout: 5\n", 4, "duration"},
             bad_provider{"providers_dir: p\nprefixes: []\nshutdown_delay: 5 s\n", 3, "duration"},
             bad_provider{"providers_dir: p\nprefixes: []\nlimits:\n  header_timeout: 1ms\n", 4, "out of range"},
             bad_provider{"providers_dir: p\nprefixes: []\naccess_log: yes\n", 3, "access_log"},
             bad_provider{"providers_dir: p\nprefixes: []\ndefault_provider: \"\"\n", 3, "default_provider"},
             bad_provider{"providers_dir: p\nprefixes: []\nmrt:\n  min_peers: 0\n", 4, "mrt.min_peers is out of range"},
             bad_provider{"providers_dir: p\nprefixes: []\nmrt:\n  keep_long: yes\n", 4, "mrt.keep_long must be true or false"},
             bad_provider{"providers_dir: p\nprefixes: []\nmrt:\n  peers: 2\n", 4, "unknown key \"peers\" in mrt"},
         }) {
        temp_dir dir;
        const auto f = dir.write("r.yaml", c.yaml);
        try {
            load_server_config(f);
            ADD_FAILURE() << "accepted: " << c.yaml;
        } catch (const config_error& e) {
            EXPECT_EQ(e.line(), c.line) << c.yaml << " -> " << e.what();
            EXPECT_NE(e.reason().find(c.reason_part), std::string::npos) << c.yaml << " -> " << e.what();
        }
    }
}

TEST(ServerConfigTest, RedirectHostValidation) {
    for (const char* ok : {"k8s.gcr.io", "a.example:8443", "localhost", "x-y.example.", "registry.k8s.io"})
        EXPECT_TRUE(is_valid_redirect_host(ok)) << ok;
    for (const char* bad : {"", "-a.example", "a-.example", "a..example", "a.example:0", "a.example:", "a b",
                            "a.example/x", "a\r\nb", "user@a.example", "[2001:db8::1]"})
        EXPECT_FALSE(is_valid_redirect_host(bad)) << bad;
}

}  // namespace
}  // namespace registry_redirector

namespace registry_redirector {
namespace {

const std::string tls_base = "providers_dir: asns\nprefixes: []\n";

TEST(TlsConfigTest, PathsResolveAgainstTheConfigFileAndListenMayBeOff) {
    const server_config c = parse_server_config(
        "/etc/redirector/r.yaml", tls_base + "listen: off\ntls_listen: \"[::]:8443\"\ntls:\n  certificate: tls/tls.crt\n"
                                             "  private_key: /keys/tls.key\n  session_ticket_key_file: ticket.key\n"
                                             "  ciphers: ECDHE-ECDSA-AES128-GCM-SHA256\n");
    EXPECT_FALSE(c.listen_enabled);
    ASSERT_TRUE(c.tls_listen);
    EXPECT_EQ(c.tls_listen->host, "::");
    EXPECT_EQ(c.tls_listen->port, 8443);
    EXPECT_EQ(c.tls.certificate, "/etc/redirector/tls/tls.crt");
    EXPECT_EQ(c.tls.private_key, "/keys/tls.key");
    EXPECT_EQ(c.tls.session_ticket_key_file, "/etc/redirector/ticket.key");
    EXPECT_EQ(c.tls.ciphers, "ECDHE-ECDSA-AES128-GCM-SHA256");
    EXPECT_TRUE(c.tls.ciphersuites.empty());  // the built-in default
    const server_config plain = parse_server_config("/etc/r.yaml", tls_base);
    EXPECT_TRUE(plain.listen_enabled);
    EXPECT_FALSE(plain.tls_listen);
}

TEST(TlsConfigTest, RejectsIncompleteTlsSettings) {
    struct bad {
        std::string yaml;
        const char* reason_part;
    };
    for (const auto& c : {
             bad{"tls_listen: \"0.0.0.0:8443\"\n", "needs a \"tls\" mapping"},
             bad{"tls:\n  certificate: a\n  private_key: b\n", "tls_listen is not"},
             bad{"tls_listen: \"0.0.0.0:8443\"\ntls:\n  certificate: a\n", "missing \"private_key\""},
             bad{"tls_listen: \"0.0.0.0:8443\"\ntls:\n  certificate: a\n  private_key: b\n  ca_file: c\n",
                 "unknown key \"ca_file\""},
             bad{"tls_listen: \"0.0.0.0:8443\"\ntls:\n  certificate: \"\"\n  private_key: b\n", "must name a file"},
             bad{"tls_listen: \"0.0.0.0:8443\"\ntls:\n  certificate: a\n  private_key: b\n  ciphers: \"\"\n",
                 "must not be empty"},
             bad{"tls_listen: \"localhost:8443\"\ntls:\n  certificate: a\n  private_key: b\n", "tls_listen:"},
             bad{"listen: off\n", "listen: off needs tls_listen"},
         }) {
        try {
            parse_server_config("r.yaml", tls_base + c.yaml);
            ADD_FAILURE() << "accepted: " << c.yaml;
        } catch (const config_error& e) {
            EXPECT_NE(std::string(e.what()).find(c.reason_part), std::string::npos) << e.what();
            EXPECT_GT(e.line(), 0) << e.what();
        }
    }
}

}  // namespace
}  // namespace registry_redirector
