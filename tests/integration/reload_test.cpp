// Reload under load: SIGHUP, inotify and a ConfigMap-style ..data swap, with
// valid and broken configs, against the real binary.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "server_process.hpp"

namespace registry_redirector::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// Writes through a rename, as a deploy tool would, so a reader never sees
/// half a file.
void write_atomically(const fs::path& file, const std::string& content) {
    const fs::path tmp = file.string() + ".tmp~";
    std::ofstream(tmp) << content;
    fs::rename(tmp, file);
}

std::string config_generation(unsigned short admin_port) {
    const auto r = http_get(admin_port, "/metrics");
    if (!r) return "";
    const auto at = r->body.find("registry_redirector_config_info{generation=\"");
    if (at == std::string::npos) return "";
    const auto start = at + std::string("registry_redirector_config_info{generation=\"").size();
    return r->body.substr(start, r->body.find('"', start) - start);
}

std::string bigcloud_file(int asn) {
    return "name: bigcloud\nredirectsTo:\n  registry: reg.bigcloud.example\n  artifacts: art.bigcloud.example\nasns: [" +
           std::to_string(asn) + "]\n";
}

class ReloadTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("redirector-reload-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_ / "asns");
        std::ofstream(dir_ / "asns/google.yaml") << "name: google\nredirectsTo:\n  registry: k8s.gcr.io\n"
                                                    "  artifacts: kubernetes-release.storage.googleapis.com\nasns: [64520]\n";
        std::ofstream(dir_ / "asns/bigcloud.yaml") << bigcloud_file(64500);
        std::ofstream(dir_ / "prefixes.tsv") << "203.0.113.0/24\t64500\n";
        std::ofstream(dir_ / "r.yaml") << "providers_dir: asns\nprefixes: [prefixes.tsv]\nthreads: 2\n"
                                          "trusted_proxies: [127.0.0.0/8]\nshutdown_delay: 0s\n";
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string answer(unsigned short port) {
        const auto r = http_get(port, "/v2/", "X-Real-Ip: 203.0.113.7\r\n");
        return r ? r->header("location") : "<none>";
    }

    fs::path dir_;
};

TEST_F(ReloadTest, HundredReloadsUnderLoadNeverGiveAWrongAnswer) {
    server_process server((dir_ / "r.yaml").string());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    ASSERT_EQ(answer(server.port()), to_bigcloud);

    // Load: keep-alive clients asking all the time. Every answer must be a
    // 302 to one of the two valid targets, whatever is being reloaded.
    std::atomic<bool> stop{false};
    std::atomic<int> answered{0};
    std::atomic<int> wrong{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 2; ++t) {
        clients.emplace_back([&] {
            while (!stop) {
                http_client c(server.port());
                for (int i = 0; i < 200 && !stop; ++i) {
                    c.send("GET /v2/ HTTP/1.1\r\nHost: t\r\nX-Real-Ip: 203.0.113.7\r\n\r\n");
                    const auto r = c.read_response();
                    if (!r || r->status != 302 ||
                        (r->header("location") != to_bigcloud && r->header("location") != to_google)) {
                        ++wrong;
                        break;
                    }
                    ++answered;
                }
            }
        });
    }

    std::string expected = to_bigcloud;
    int generation = std::stoi(config_generation(server.admin_port()));
    for (int step = 0; step < 100; ++step) {
        if (step % 2 == 0) {  // broken: the old table keeps serving
            const double failures = scrape_metric(server.admin_port(), "registry_redirector_config_reloads_total{result=\"failure\"}");
            write_atomically(dir_ / "asns/bigcloud.yaml", "name: bigcloud\nasns: [64500\n");
            server.send_signal(SIGHUP);
            ASSERT_TRUE(wait_for([&] {
                return scrape_metric(server.admin_port(), "registry_redirector_config_reloads_total{result=\"failure\"}") > failures;
            })) << "step " << step << "\n" << server.output();
            ASSERT_EQ(answer(server.port()), expected) << "step " << step;
        } else {  // valid: alternately moves 203.0.113.0/24 away from bigcloud and back
            expected = expected == to_bigcloud ? to_google : to_bigcloud;
            write_atomically(dir_ / "asns/bigcloud.yaml", bigcloud_file(expected == to_bigcloud ? 64500 : 64501));
            server.send_signal(SIGHUP);
            ++generation;
            ASSERT_TRUE(wait_for([&] { return config_generation(server.admin_port()) == std::to_string(generation); }))
                << "step " << step << "\n" << server.output();
            ASSERT_EQ(answer(server.port()), expected) << "step " << step;
        }
    }
    stop = true;
    for (auto& c : clients) c.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_GT(answered.load(), 100);
    EXPECT_EQ(server.stop(SIGTERM), 0);
}

TEST_F(ReloadTest, FileChangeReloadsWithoutASignal) {
    server_process server((dir_ / "r.yaml").string());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    write_atomically(dir_ / "asns/bigcloud.yaml", bigcloud_file(64501));
    EXPECT_TRUE(wait_for([&] { return answer(server.port()) == to_google; }, 15s)) << server.output();
    // The main config is watched too: trusting nobody makes X-Real-Ip moot.
    write_atomically(dir_ / "asns/bigcloud.yaml", bigcloud_file(64500));
    EXPECT_TRUE(wait_for([&] { return answer(server.port()) == to_bigcloud; }, 15s)) << server.output();
    write_atomically(dir_ / "r.yaml", "providers_dir: asns\nprefixes: [prefixes.tsv]\nthreads: 2\nshutdown_delay: 0s\n");
    EXPECT_TRUE(wait_for([&] { return answer(server.port()) == to_google; }, 15s)) << server.output();
}

TEST_F(ReloadTest, ConfigMapDataSymlinkSwapReloads) {
    // What a ConfigMap volume looks like: files are links into ..data,
    // which links to a timestamped folder; an update swaps ..data.
    const fs::path cm = dir_ / "cm";
    fs::create_directories(cm / "..v1");
    fs::copy(dir_ / "asns/google.yaml", cm / "..v1/google.yaml");
    std::ofstream(cm / "..v1/bigcloud.yaml") << bigcloud_file(64500);
    fs::create_directory_symlink("..v1", cm / "..data");
    fs::create_symlink("..data/google.yaml", cm / "google.yaml");
    fs::create_symlink("..data/bigcloud.yaml", cm / "bigcloud.yaml");
    std::ofstream(dir_ / "r.yaml") << "providers_dir: cm\nprefixes: [prefixes.tsv]\nthreads: 1\n"
                                      "trusted_proxies: [127.0.0.0/8]\nshutdown_delay: 0s\n";
    server_process server((dir_ / "r.yaml").string());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    ASSERT_EQ(answer(server.port()), to_bigcloud);

    fs::create_directories(cm / "..v2");
    fs::copy(dir_ / "asns/google.yaml", cm / "..v2/google.yaml");
    std::ofstream(cm / "..v2/bigcloud.yaml") << bigcloud_file(64501);
    fs::create_directory_symlink("..v2", cm / "..data_tmp");
    fs::rename(cm / "..data_tmp", cm / "..data");  // the atomic swap
    fs::remove_all(cm / "..v1");
    EXPECT_TRUE(wait_for([&] { return answer(server.port()) == to_google; }, 15s)) << server.output();
}

TEST_F(ReloadTest, GitSyncWorktreeSwapReloads) {
    // What git-sync v4 leaves in its --root: <root>/<link> -> .worktrees/<commit>,
    // swapped by renaming a new link over it; old worktrees may linger
    // (--stale-worktree-timeout) or be deleted. providers_dir points through
    // the link into the repository's folder (deploy/overlays/git-sync).
    const fs::path root = dir_ / "git";
    const auto commit = [&](const std::string& name, const std::string& bigcloud) {
        const fs::path asns = root / ".worktrees" / name / "registry.k8s.io/infra/meta/asns";
        fs::create_directories(asns);
        fs::copy(dir_ / "asns/google.yaml", asns / "google.yaml");
        std::ofstream(asns / "bigcloud.yaml") << bigcloud;
    };
    const auto swap_to = [&](const std::string& name) {
        fs::create_directory_symlink(".worktrees/" + name, root / "current.tmp");
        fs::rename(root / "current.tmp", root / "current");
    };
    commit("aaaa", bigcloud_file(64500));
    swap_to("aaaa");
    std::ofstream(dir_ / "r.yaml") << "providers_dir: git/current/registry.k8s.io/infra/meta/asns\n"
                                      "prefixes: [prefixes.tsv]\nthreads: 1\ntrusted_proxies: [127.0.0.0/8]\n"
                                      "shutdown_delay: 0s\n";
    server_process server((dir_ / "r.yaml").string());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    ASSERT_EQ(answer(server.port()), to_bigcloud);

    // A new commit; the old worktree stays.
    commit("bbbb", bigcloud_file(64501));
    swap_to("bbbb");
    EXPECT_TRUE(wait_for([&] { return answer(server.port()) == to_google; }, 15s)) << server.output();
    // Back again, and this time the old worktree is removed after the swap.
    commit("cccc", bigcloud_file(64500));
    swap_to("cccc");
    fs::remove_all(root / ".worktrees/bbbb");
    EXPECT_TRUE(wait_for([&] { return answer(server.port()) == to_bigcloud; }, 15s)) << server.output();
    // A bad commit upstream: rejected, the previous providers keep serving.
    const double failures = scrape_metric(server.admin_port(), "registry_redirector_config_reloads_total{result=\"failure\"}");
    commit("dddd", "name: bigcloud\nredirectsTo:\n  registry: reg.bigcloud.example\nasns: [notanumber]\n");
    swap_to("dddd");
    EXPECT_TRUE(wait_for([&] {
        return scrape_metric(server.admin_port(), "registry_redirector_config_reloads_total{result=\"failure\"}") > failures;
    }, 15s)) << server.output();
    EXPECT_EQ(answer(server.port()), to_bigcloud);
    // The fix lands upstream: served again.
    commit("eeee", bigcloud_file(64501));
    swap_to("eeee");
    EXPECT_TRUE(wait_for([&] { return answer(server.port()) == to_google; }, 15s)) << server.output();
}

TEST_F(ReloadTest, RestartOnlyKeysAreReported) {
    server_process server((dir_ / "r.yaml").string());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    write_atomically(dir_ / "r.yaml", "providers_dir: asns\nprefixes: [prefixes.tsv]\nthreads: 3\n"
                                      "trusted_proxies: [127.0.0.0/8]\nshutdown_delay: 0s\n");
    EXPECT_TRUE(wait_for([&] {
        return server.output().find("config key \"threads\" changed; it takes effect only after a restart") !=
               std::string::npos;
    }, 15s)) << server.output();
}

TEST_F(ReloadTest, BrokenReloadNamesFileAndLine) {
    server_process server((dir_ / "r.yaml").string());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    write_atomically(dir_ / "prefixes.tsv", "203.0.113.0/24\t64500\n203.0.113.9/24\t64500\n");
    EXPECT_TRUE(wait_for([&] { return server.output().find("prefixes.tsv:2: bad prefix") != std::string::npos; }, 10s))
        << server.output();
    EXPECT_EQ(answer(server.port()), to_bigcloud);
    EXPECT_EQ(scrape_metric(server.admin_port(), "registry_redirector_config_reloads_total{result=\"failure\"}"), 1);
}

}  // namespace
}  // namespace registry_redirector::testing
