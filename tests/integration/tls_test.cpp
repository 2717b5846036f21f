// HTTPS on the redirect port, against the real binary over loopback: the
// redirects, what a verifying client sees, resumption, certificate rotation
// under a running server, and hostile clients. Certificates come from a CA
// made at run time (tls_support.hpp).

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "server_process.hpp"
#include "tls_support.hpp"

namespace registry_redirector::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string server_name = "registry.test";

class TlsTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("redirector-tls-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        write_file(dir_ / "asns/google.yaml", "name: google\nredirectsTo:\n  registry: k8s.gcr.io\n"
                                              "  artifacts: kubernetes-release.storage.googleapis.com\nasns: [64520]\n");
        write_file(dir_ / "asns/bigcloud.yaml", "name: bigcloud\nredirectsTo:\n  registry: reg.bigcloud.example\n"
                                                "  artifacts: art.bigcloud.example\nasns: [64500]\n");
        write_file(dir_ / "t.tsv", "203.0.113.0/24\t64500\n");
        first_ = ca_.issue(server_name, {"DNS:" + server_name, "IP:127.0.0.1"}, 1001);
        tls_port_ = free_port();
    }
    void TearDown() override { fs::remove_all(dir_); }

    /// A config with tls_listen on tls_port_ and the pair at tls/tls.crt +
    /// tls/tls.key (written from `pair` unless `write_pair` is false).
    std::string config(const std::string& extra = "", bool write_pair = true, unsigned threads = 1) {
        if (write_pair) {
            write_file(dir_ / "tls/tls.crt", first_.certificate);
            write_file(dir_ / "tls/tls.key", first_.key);
        }
        write_file(dir_ / "r.yaml", "providers_dir: asns\nprefixes: [t.tsv]\nthreads: " + std::to_string(threads) +
                                    "\nshutdown_delay: 0s\n"
                                    "tls_listen: \"127.0.0.1:" + std::to_string(tls_port_) + "\"\n"
                                    "tls:\n  certificate: tls/tls.crt\n  private_key: tls/tls.key\n" + extra);
        return (dir_ / "r.yaml").string();
    }

    tls_options verifying() const {
        tls_options o;
        o.ca_pem = ca_.certificate();
        o.verify_name = server_name;
        o.sni = server_name;
        return o;
    }

    static double handshakes(const server_process& s, const std::string& result, const std::string& version) {
        return scrape_metric(s.admin_port(), "registry_redirector_tls_handshakes_total{result=\"" + result +
                                                 "\",version=\"" + version + "\"}");
    }

    /// The serial a fresh verifying connection sees ("" if it fails).
    std::string serial_now() const {
        tls_client c(tls_port_, verifying());
        return c.handshake_ok() ? c.peer_serial() : "";
    }

    test_ca ca_;
    pem_pair first_;
    fs::path dir_;
    unsigned short tls_port_ = 0;
};

TEST_F(TlsTest, CheckPrintsTheCertificateAndRejectsBrokenPairs) {
    const std::string cfg = config();
    auto r = run_binary({"check", "--config", cfg});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    for (const std::string& part : std::vector<std::string>{"subject CN=registry.test", "names   DNS:registry.test, IP:127.0.0.1",
                                                            "serial  " + first_.serial, "the key matches", "days left)", "OK"})
        EXPECT_NE(r.output.find(part), std::string::npos) << part << "\n" << r.output;

    const pem_pair other = ca_.issue(server_name, {"DNS:" + server_name}, 77);
    write_file(dir_ / "tls/tls.key", other.key);
    r = run_binary({"check", "--config", cfg});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("tls/tls.key: private key does not match the certificate"), std::string::npos) << r.output;
    // serve refuses to start with it, naming the file.
    r = run_binary({"serve", "--config", cfg, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("tls/tls.key: private key does not match the certificate"), std::string::npos) << r.output;

    write_file(dir_ / "tls/tls.key", "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");
    r = run_binary({"check", "--config", cfg});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("tls/tls.key: no usable PEM private key"), std::string::npos) << r.output;
    fs::remove(dir_ / "tls/tls.crt");
    r = run_binary({"check", "--config", cfg});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("tls/tls.crt: cannot open"), std::string::npos) << r.output;
    write_file(dir_ / "tls/tls.crt", first_.certificate);
    write_file(dir_ / "tls/tls.key", first_.key);
    write_file(dir_ / "tls/ticket.key", "short");
    r = run_binary({"check", "--config", config("  session_ticket_key_file: tls/ticket.key\n", false)});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("tls/ticket.key: a session ticket key file holds exactly 80 bytes"), std::string::npos)
        << r.output;
    r = run_binary({"check", "--config", config("  ciphers: NOT-A-CIPHER\n", false)});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("r.yaml: tls.ciphers \"NOT-A-CIPHER\" selects no cipher"), std::string::npos) << r.output;
}

TEST_F(TlsTest, HttpsRedirectsKeepAliveHeadHttp10AndPipelining) {
    server_process server(config());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    tls_client c(tls_port_, verifying());
    ASSERT_TRUE(c.handshake_ok()) << c.error();
    EXPECT_EQ(c.alpn(), "http/1.1");
    EXPECT_EQ(c.peer_serial(), first_.serial);
    for (int i = 0; i < 3; ++i) {  // keep-alive
        c.send("GET /v2/ HTTP/1.1\r\nHost: " + server_name + "\r\n\r\n");
        const auto r = c.read_response();
        ASSERT_TRUE(r) << i;
        EXPECT_EQ(r->status, 302);
        EXPECT_EQ(r->header("location"), to_google);
    }
    c.send("HEAD /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto head = c.read_response(true);
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 302);
    // Three pipelined requests in one record, three answers in order.
    c.send("GET /v2/a HTTP/1.1\r\nHost: x\r\n\r\nGET /v2/b HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /v2/c HTTP/1.1\r\nHost: x\r\n\r\n");
    for (const char* path : {"a", "b", "c"}) {
        const auto r = c.read_response();
        ASSERT_TRUE(r) << path;
        EXPECT_EQ(r->header("location"), std::string("https://k8s.gcr.io/v2/") + path);
    }
    // HTTP/1.0 without keep-alive: answered, then closed (with close_notify).
    c.send("GET /v2/ HTTP/1.0\r\n\r\n");
    const auto r10 = c.read_response();
    ASSERT_TRUE(r10);
    EXPECT_EQ(r10->status, 302);
    EXPECT_TRUE(c.closed_by_server());
    EXPECT_EQ(handshakes(server, "ok", "TLSv1.3"), 1);
}

TEST_F(TlsTest, VerifyingClientChecksTheNameAndSniIsIgnored) {
    server_process server(config());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    {  // The IP SAN verifies too.
        tls_options o = verifying();
        o.verify_name = "127.0.0.1";
        o.sni.clear();
        tls_client c(tls_port_, o);
        EXPECT_TRUE(c.handshake_ok()) << c.error();
    }
    {  // A name the certificate does not hold fails the client's verification.
        tls_options o = verifying();
        o.verify_name = "other.test";
        tls_client c(tls_port_, o);
        EXPECT_FALSE(c.handshake_ok());
        EXPECT_NE(c.error().find("certificate verify failed"), std::string::npos) << c.error();
    }
    // SNI is ignored: one certificate for every name, and for none.
    for (const std::string& sni : {std::string(), std::string("elsewhere.example"), server_name}) {
        tls_options o;
        o.sni = sni;
        tls_client c(tls_port_, o);
        ASSERT_TRUE(c.handshake_ok()) << sni << ": " << c.error();
        EXPECT_EQ(c.peer_serial(), first_.serial);
    }
    {  // HTTP/1.0 clients offer only http/1.0 in ALPN (curl --http1.0).
        tls_options o;
        o.alpn = {"http/1.0"};
        tls_client c(tls_port_, o);
        ASSERT_TRUE(c.handshake_ok()) << c.error();
        EXPECT_EQ(c.alpn(), "http/1.0");
    }
}

TEST_F(TlsTest, TheCertificateFileMayHoldTheChain) {
    // A leaf issued by an intermediate: a client that trusts only the root
    // verifies it when the certificate file holds leaf + intermediate (the
    // server sends the chain as written), and not from the leaf alone (no
    // chain is built or guessed on the server).
    const std::unique_ptr<test_ca> intermediate = ca_.intermediate("registry-redirector test intermediate");
    const pem_pair leaf = intermediate->issue(server_name, {"DNS:" + server_name, "IP:127.0.0.1"}, 2001);
    write_file(dir_ / "tls/tls.crt", leaf.certificate + intermediate->certificate());
    write_file(dir_ / "tls/tls.key", leaf.key);
    {
        server_process server(config("", false));
        ASSERT_TRUE(server.wait_ready()) << server.output();
        tls_client c(tls_port_, verifying());
        ASSERT_TRUE(c.handshake_ok()) << c.error();
        EXPECT_EQ(c.peer_serial(), leaf.serial);
    }
    write_file(dir_ / "tls/tls.crt", leaf.certificate);
    server_process server(config("", false));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    tls_client c(tls_port_, verifying());
    EXPECT_FALSE(c.handshake_ok());
    EXPECT_NE(c.error().find("certificate verify failed"), std::string::npos) << c.error();
}

TEST_F(TlsTest, SessionsResumeWithTicketsAndSharedKeys) {
    std::string key(80, '\0');
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<char>(i * 7 + 3);
    write_file(dir_ / "tls/ticket.key", key);
    const std::string cfg = config("  session_ticket_key_file: tls/ticket.key\n");
    server_process a(cfg);
    ASSERT_TRUE(a.wait_ready()) << a.output();
    for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
        tls_options o = verifying();
        o.max_version = version;
        SSL_SESSION* session = nullptr;
        {
            tls_client c(tls_port_, o);
            ASSERT_TRUE(c.handshake_ok()) << c.error();
            c.send("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
            ASSERT_TRUE(c.read_response());  // TLS 1.3 tickets arrive after the handshake
            session = c.session();
        }
        ASSERT_NE(session, nullptr);
        o.resume = session;
        tls_client again(tls_port_, o);
        EXPECT_TRUE(again.handshake_ok()) << again.error();
        EXPECT_TRUE(again.resumed()) << version;
        SSL_SESSION_free(session);
    }
    EXPECT_EQ(handshakes(a, "resumed", "TLSv1.3"), 1);
    EXPECT_EQ(handshakes(a, "resumed", "TLSv1.2"), 1);

    // A second replica with the same key file resumes the first one's sessions.
    tls_options o = verifying();
    SSL_SESSION* session = nullptr;
    {
        tls_client c(tls_port_, o);
        ASSERT_TRUE(c.handshake_ok());
        c.send("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
        ASSERT_TRUE(c.read_response());
        session = c.session();
    }
    a.stop(SIGTERM);
    tls_port_ = free_port();
    server_process b(config("  session_ticket_key_file: tls/ticket.key\n"));
    ASSERT_TRUE(b.wait_ready()) << b.output();
    o.resume = session;
    tls_client again(tls_port_, o);
    EXPECT_TRUE(again.handshake_ok()) << again.error();
    EXPECT_TRUE(again.resumed());
    SSL_SESSION_free(session);
}

TEST_F(TlsTest, ProxyProtocolComesBeforeTheHandshake) {
    server_process server(config("trusted_proxies: [127.0.0.0/8]\nproxy_protocol: required\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    tls_options o = verifying();
    o.preamble = "PROXY TCP4 203.0.113.9 192.0.2.1 40000 443\r\n";
    tls_client c(tls_port_, o);
    ASSERT_TRUE(c.handshake_ok()) << c.error();
    c.send("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("location"), to_bigcloud);  // the balancer's client, not 127.0.0.1
    // Without the header the connection is refused before any TLS.
    tls_client bare(tls_port_, verifying());
    EXPECT_FALSE(bare.handshake_ok());
}

TEST_F(TlsTest, ListenOffServesOnlyTls) {
    server_process server(config("listen: off\n"), {"--listen", "off"});
    ASSERT_TRUE(server.wait_ready()) << server.output();
    EXPECT_EQ(serial_now(), first_.serial);
    http_client plain(server.port());
    EXPECT_FALSE(plain.connected());
}

/// Replaces the pair by rename, the way an editor or `mv` does.
TEST_F(TlsTest, RotationByAtomicRename) {
    server_process server(config());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    tls_client before(tls_port_, verifying());
    ASSERT_TRUE(before.handshake_ok()) << before.error();
    EXPECT_EQ(before.peer_serial(), first_.serial);

    // Written beside under temporary names, then renamed over: key first,
    // then certificate; the reload after the last event sees a matching pair.
    const pem_pair renewed = ca_.issue(server_name, {"DNS:" + server_name}, 1002);
    write_file(dir_ / "tls/.tls.key.tmp", renewed.key);
    write_file(dir_ / "tls/.tls.crt.tmp", renewed.certificate);
    const auto swapped = std::chrono::steady_clock::now();
    fs::rename(dir_ / "tls/.tls.key.tmp", dir_ / "tls/tls.key");
    fs::rename(dir_ / "tls/.tls.crt.tmp", dir_ / "tls/tls.crt");
    EXPECT_TRUE(wait_for([&] { return serial_now() == renewed.serial; }, 2s)) << server.output();
    EXPECT_LT(std::chrono::steady_clock::now() - swapped, 2500ms);

    // The connection opened before the swap goes on, with the old certificate.
    before.send("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto r = before.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 302);
    EXPECT_EQ(before.peer_serial(), first_.serial);
    EXPECT_EQ(scrape_metric(server.admin_port(), "registry_redirector_config_reloads_total{result=\"success\"}") >= 1, true);
}

/// The way a Kubernetes Secret volume updates: tls.crt -> ..data/tls.crt,
/// and ..data is a symlink swapped by rename to a new timestamped folder.
class SecretVolume {
public:
    explicit SecretVolume(fs::path dir) : dir_(std::move(dir)) {}
    void publish(const pem_pair& pair) {
        const std::string stamp = "..2026_11_29_" + std::to_string(++version_);
        write_file(dir_ / stamp / "tls.crt", pair.certificate);
        write_file(dir_ / stamp / "tls.key", pair.key);
        fs::create_directory_symlink(stamp, dir_ / "..data_tmp");
        fs::rename(dir_ / "..data_tmp", dir_ / "..data");
        if (version_ == 1) {
            fs::create_symlink("..data/tls.crt", dir_ / "tls.crt");
            fs::create_symlink("..data/tls.key", dir_ / "tls.key");
        }
    }

private:
    fs::path dir_;
    int version_ = 0;
};

TEST_F(TlsTest, RotationBySecretSymlinkSwapAndBrokenPairsKeepTheOld) {
    SecretVolume secret(dir_ / "tls");
    secret.publish(first_);
    server_process server(config("", false));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    tls_client before(tls_port_, verifying());
    ASSERT_TRUE(before.handshake_ok()) << before.error();

    const pem_pair second = ca_.issue(server_name, {"DNS:" + server_name}, 2002);
    secret.publish(second);
    EXPECT_TRUE(wait_for([&] { return serial_now() == second.serial; }, 2s)) << server.output();
    before.send("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(before.read_response());
    EXPECT_EQ(before.peer_serial(), first_.serial);
    const std::string expiry = "registry_redirector_tls_certificate_expiry_timestamp_seconds";
    const double second_expiry = scrape_metric(server.admin_port(), expiry);
    EXPECT_GT(second_expiry, static_cast<double>(std::time(nullptr)));

    const std::string failures = "registry_redirector_config_reloads_total{result=\"failure\"}";
    // A key that belongs to another certificate.
    const pem_pair other = ca_.issue(server_name, {"DNS:" + server_name}, 3003);
    secret.publish(pem_pair{other.certificate, second.key, other.serial});
    ASSERT_TRUE(wait_for([&] { return scrape_metric(server.admin_port(), failures) >= 1; }, 5s)) << server.output();
    EXPECT_NE(server.output().find("tls/tls.key: private key does not match the certificate"), std::string::npos)
        << server.output();
    EXPECT_EQ(serial_now(), second.serial);
    // An expired certificate.
    const pem_pair expired = ca_.issue(server_name, {"DNS:" + server_name}, 4004, -7200, -3600);
    secret.publish(expired);
    ASSERT_TRUE(wait_for([&] { return scrape_metric(server.admin_port(), failures) >= 2; }, 5s)) << server.output();
    EXPECT_NE(server.output().find("tls/tls.crt: certificate CN=registry.test expired"), std::string::npos);
    // Not PEM at all.
    secret.publish(pem_pair{"not a certificate\n", second.key, ""});
    ASSERT_TRUE(wait_for([&] { return scrape_metric(server.admin_port(), failures) >= 3; }, 5s)) << server.output();
    EXPECT_EQ(serial_now(), second.serial);
    EXPECT_EQ(scrape_metric(server.admin_port(), expiry), second_expiry);
    // A good pair again.
    const pem_pair fixed = ca_.issue(server_name, {"DNS:" + server_name}, 5005);
    secret.publish(fixed);
    EXPECT_TRUE(wait_for([&] { return serial_now() == fixed.serial; }, 2s)) << server.output();
}

TEST_F(TlsTest, SighupReloadsTheCertificate) {
    server_process server(config());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    const pem_pair next = ca_.issue(server_name, {"DNS:" + server_name}, 6006);
    // Written in place (no event the watcher would miss on a rename);
    // SIGHUP makes it explicit either way.
    write_file(dir_ / "tls/tls.key", next.key);
    write_file(dir_ / "tls/tls.crt", next.certificate);
    server.send_signal(SIGHUP);
    EXPECT_TRUE(wait_for([&] { return serial_now() == next.serial; }, 5s)) << server.output();
}

TEST_F(TlsTest, HostilePlainHttpToTheTlsPortGetsAnAlert) {
    server_process server(config());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    http_client c(tls_port_);
    c.send("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(c.closed_by_server());
    // What was received before the close is one fatal alert record.
    http_client raw(tls_port_);
    raw.send("GET / HTTP/1.0\r\n\r\n");
    const auto r = raw.read_response(false, 1s);
    EXPECT_FALSE(r);  // never an HTTP response
    EXPECT_TRUE(wait_for([&] { return handshakes(server, "protocol_error", "none") == 2; }, 5s));
}

TEST_F(TlsTest, HostileTlsToThePlainPortGets400) {
    server_process server(config());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    http_client c(server.port());
    c.send(client_hello());
    const auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
}

TEST_F(TlsTest, HostileSilentAndStalledHandshakesCloseAtHeaderTimeout) {
    server_process server(config("limits:\n  header_timeout: 500ms\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    const auto started = std::chrono::steady_clock::now();
    http_client silent(tls_port_);
    http_client stalled(tls_port_);
    stalled.send(client_hello().substr(0, 20));
    EXPECT_TRUE(silent.closed_by_server(5s));
    EXPECT_TRUE(stalled.closed_by_server(5s));
    EXPECT_GE(std::chrono::steady_clock::now() - started, 450ms);
    EXPECT_TRUE(wait_for([&] { return handshakes(server, "timeout", "none") == 2; }, 5s));
    // A connection that opens and closes without a byte (a TCP health
    // check) is no handshake at all.
    { http_client probe(tls_port_); }
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(handshakes(server, "other", "none"), 0);
}

TEST_F(TlsTest, HostileGarbageAfterClientHello) {
    server_process server(config());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    http_client c(tls_port_);
    std::string garbage(600, '\0');
    for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 131 + 17) & 0xff);
    c.send(client_hello() + garbage);
    EXPECT_TRUE(c.closed_by_server());
    EXPECT_TRUE(wait_for([&] { return handshakes(server, "protocol_error", "none") == 1; }, 5s));
    EXPECT_EQ(serial_now(), first_.serial);  // and the server is fine
}

TEST_F(TlsTest, HostileOldVersionsNoSharedCipherAndH2OnlyAreRefused) {
    server_process server(config("  ciphers: ECDHE-ECDSA-AES128-GCM-SHA256\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    for (int version : {TLS1_VERSION, TLS1_1_VERSION}) {
        tls_options o;
        o.min_version = version;
        o.max_version = version;
        o.ciphers = "DEFAULT:@SECLEVEL=0";
        tls_client c(tls_port_, o);
        EXPECT_FALSE(c.handshake_ok()) << version;
    }
    EXPECT_TRUE(wait_for([&] { return handshakes(server, "protocol_error", "none") == 2; }, 5s));
    {
        tls_options o;
        o.max_version = TLS1_2_VERSION;
        o.ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384";  // not the one the server allows
        tls_client c(tls_port_, o);
        EXPECT_FALSE(c.handshake_ok());
    }
    EXPECT_TRUE(wait_for([&] { return handshakes(server, "no_shared_cipher", "none") == 1; }, 5s));
    {
        tls_options o;
        o.alpn = {"h2"};
        const auto started = std::chrono::steady_clock::now();
        tls_client c(tls_port_, o);
        EXPECT_FALSE(c.handshake_ok());
        EXPECT_NE(c.error().find("no application protocol"), std::string::npos) << c.error();
        EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);  // an alert, not a hang
    }
    EXPECT_TRUE(wait_for([&] { return handshakes(server, "alpn", "none") == 1; }, 5s));
    EXPECT_EQ(handshakes(server, "ok", "TLSv1.2") + handshakes(server, "ok", "TLSv1.3"), 0);
}

/// How a connection ends after the response that closes it. A client that
/// asked to close (Connection: close, HTTP/1.0) and sent nothing more gets
/// its response and the server's close_notify, and the TCP connection ends
/// then: the server does not wait for the client's close_notify. When the
/// server chose to close (max_requests_per_connection), or the client left
/// bytes unread (pipelined after its close), the client may still be
/// sending, so the server waits for its close_notify (within the linger
/// bound) rather than risk a reset that could destroy the response.
TEST_F(TlsTest, AClientThatAskedToCloseIsClosedAtOnceOthersAreWaitedFor) {
    server_process server(config("limits:\n  max_requests_per_connection: 2\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    for (const char* request : {"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "GET /v2/ HTTP/1.0\r\n\r\n"}) {
        SCOPED_TRACE(request);
        tls_client c(tls_port_);
        ASSERT_TRUE(c.handshake_ok()) << c.error();
        c.send(request);
        const auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 302);
        EXPECT_TRUE(c.closed_by_server());     // close_notify
        EXPECT_TRUE(c.transport_closed(1s));  // and the TCP close, with no close_notify from us (linger: 2 s)
    }
    {
        SCOPED_TRACE("the server closes: the second request reaches max_requests_per_connection");
        tls_client c(tls_port_);
        ASSERT_TRUE(c.handshake_ok()) << c.error();
        for (int i = 0; i < 2; ++i) {
            c.send("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
            const auto r = c.read_response();
            ASSERT_TRUE(r) << i;
            EXPECT_EQ(r->header("connection"), i == 0 ? "" : "close");
        }
        EXPECT_TRUE(c.closed_by_server());
        EXPECT_FALSE(c.transport_closed(500ms));  // waiting for our close_notify
    }
    {
        SCOPED_TRACE("asked to close, but sent more after it");
        tls_client c(tls_port_);
        ASSERT_TRUE(c.handshake_ok()) << c.error();
        c.send("GET /v2/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /v2/b HTTP/1.1\r\nHost: x\r\n\r\n");
        const auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->header("location"), "https://k8s.gcr.io/v2/a");
        EXPECT_TRUE(c.closed_by_server());
        EXPECT_FALSE(c.transport_closed(500ms));
    }
}

/// Every worker accepts on the listeners itself (one thread: no hand-off at
/// all). With one and with two I/O threads: keep-alive connections held
/// open while new connections come and go, each with one request and a
/// close_notify exchange that ends the TCP connection; both listeners
/// answer; then a drain closes the idle ones and stops accepting on both.
TEST_F(TlsTest, EveryWorkerAcceptsAndDrains) {
    for (unsigned threads : {1u, 2u}) {
        SCOPED_TRACE("threads: " + std::to_string(threads));
        server_process server(config("", true, threads));
        ASSERT_TRUE(server.wait_ready()) << server.output();
        const unsigned short plain_port = server.port();
        std::vector<std::unique_ptr<tls_client>> held;
        for (int i = 0; i < 4; ++i) {
            held.push_back(std::make_unique<tls_client>(tls_port_));
            ASSERT_TRUE(held.back()->handshake_ok()) << i << ": " << held.back()->error();
            held.back()->send("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
            ASSERT_TRUE(held.back()->read_response()) << i;
        }
        for (int i = 0; i < 16; ++i) {
            tls_client c(tls_port_, verifying());
            ASSERT_TRUE(c.handshake_ok()) << i << ": " << c.error();
            c.send("GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            const auto r = c.read_response();
            ASSERT_TRUE(r) << i;
            EXPECT_EQ(r->status, 302);
            EXPECT_TRUE(c.closed_by_server()) << i;
            const auto p = http_get(plain_port, "/v2/");
            ASSERT_TRUE(p) << i;
            EXPECT_EQ(p->status, 302);
        }
        EXPECT_EQ(handshakes(server, "ok", "TLSv1.3") + handshakes(server, "resumed", "TLSv1.3"), 20);
        EXPECT_TRUE(wait_for([&] { return scrape_metric(server.admin_port(), "registry_redirector_connections") == 4; }));
        server.send_signal(SIGTERM);
        for (auto& c : held) EXPECT_TRUE(c->closed_by_server(5s));  // idle: closed by the drain
        EXPECT_EQ(server.wait_exit(10s), 0) << server.output();
        EXPECT_FALSE(tls_client(tls_port_).handshake_ok());
        EXPECT_FALSE(http_client(plain_port).connected());
    }
}

TEST_F(TlsTest, HostileManyIdleTlsConnectionsWithinTheCap) {
    constexpr int cap = 1000;
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    if (limit.rlim_cur < cap + 200) GTEST_SKIP() << "open-file limit " << limit.rlim_cur << " is too low";
    server_process server(config("limits:\n  max_connections: " + std::to_string(cap) + "\n"));
    ASSERT_TRUE(server.wait_ready()) << server.output();
    std::vector<std::unique_ptr<tls_client>> idle;
    for (int i = 0; i < cap; ++i) {
        idle.push_back(std::make_unique<tls_client>(tls_port_));
        ASSERT_TRUE(idle.back()->handshake_ok()) << i << ": " << idle.back()->error();
    }
    EXPECT_TRUE(wait_for([&] { return scrape_metric(server.admin_port(), "registry_redirector_connections") == cap; }));
    tls_client over(tls_port_);
    EXPECT_FALSE(over.handshake_ok());
    EXPECT_GE(scrape_metric(server.admin_port(), "registry_redirector_connections_rejected_total"), 1);
    // Every idle connection still answers.
    for (int i = 0; i < cap; i += 97) {
        idle[i]->send("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n");
        const auto r = idle[i]->read_response();
        ASSERT_TRUE(r) << i;
        EXPECT_EQ(r->status, 302);
    }
}

}  // namespace
}  // namespace registry_redirector::testing
