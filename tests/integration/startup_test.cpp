// What an operator reads when the server starts: a listener that cannot be
// opened, and the configuration's warnings.

#include <gtest/gtest.h>
#include <signal.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "server_process.hpp"

namespace registry_redirector::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// A loopback port held by a listening socket of this test.
class busy_port {
public:
    busy_port() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        EXPECT_EQ(::listen(fd_, 1), 0);
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
    }
    ~busy_port() { ::close(fd_); }
    std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

private:
    int fd_ = -1;
    unsigned short port_ = 0;
};

class StartupTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("redirector-startup-" + std::to_string(::getpid()));
        fs::create_directories(dir_ / "asns");
        std::ofstream(dir_ / "asns/google.yaml") << "name: google\nredirectsTo:\n  registry: r.example\n"
                                                    "  artifacts: a.example\nasns: [64500]\n";
        std::ofstream(dir_ / "t.tsv") << "192.0.2.0/24\t64500\n";
        std::ofstream(dir_ / "r.yaml") << "providers_dir: asns\nprefixes: [t.tsv]\nthreads: 1\nshutdown_delay: 0s\n";
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string config() const { return (dir_ / "r.yaml").string(); }

    fs::path dir_;
};

TEST_F(StartupTest, BindFailureNamesTheListenerWithoutSourcePaths) {
    const busy_port busy;
    const std::string free = "127.0.0.1:" + std::to_string(free_port());
    const auto redirect = run_binary({"serve", "--config", config(), "--listen", busy.endpoint(), "--admin-listen", free});
    EXPECT_EQ(redirect.exit_code, 1);
    EXPECT_EQ(redirect.output, "error: cannot listen on " + busy.endpoint() + " (redirect port): address already in use\n");

    const auto admin = run_binary({"serve", "--config", config(), "--listen", free, "--admin-listen", busy.endpoint()});
    EXPECT_EQ(admin.exit_code, 1);
    EXPECT_EQ(admin.output, "error: cannot listen on " + busy.endpoint() + " (admin port): address already in use\n");

    // An address this host does not have, in IPv6 form.
    const auto foreign = run_binary({"serve", "--config", config(), "--listen", "[2001:db8::1]:1", "--admin-listen", free});
    EXPECT_EQ(foreign.exit_code, 1);
    EXPECT_EQ(foreign.output.rfind("error: cannot listen on [2001:db8::1]:1 (redirect port): ", 0), 0u) << foreign.output;
    EXPECT_EQ(foreign.output.find(".hpp"), std::string::npos) << foreign.output;
}

TEST_F(StartupTest, LogListsTheFirstTwentyWarningsThenTheRest) {
    // 25 providers whose ASNs originate nothing: one warning each.
    for (int i = 0; i < 25; ++i) {
        char name[16];
        std::snprintf(name, sizeof name, "empty%02d", i);
        std::ofstream(dir_ / "asns" / (std::string(name) + ".yaml"))
            << "name: " << name << "\nasns: [" << 65000 + i << "]\n";
    }
    server_process server(config());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    ASSERT_TRUE(wait_for([&] { return server.output().find("and 5 more") != std::string::npos; }, 5s))
        << server.output();
    const std::string log = server.output();
    std::size_t listed = 0;
    for (auto at = log.find("has no prefixes"); at != std::string::npos; at = log.find("has no prefixes", at + 1))
        ++listed;
    EXPECT_EQ(listed, 20u) << log;
    EXPECT_NE(log.find("provider empty00 ("), std::string::npos);
    EXPECT_NE(log.find("provider empty19 ("), std::string::npos);
    EXPECT_EQ(log.find("provider empty20 ("), std::string::npos);
    EXPECT_NE(log.find("and 5 more: run `registry-redirector check --config " + config() + "`"), std::string::npos)
        << log;
    EXPECT_EQ(server.stop(SIGTERM), 0);
}

}  // namespace
}  // namespace registry_redirector::testing
