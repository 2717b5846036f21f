#include "registry_redirector/mirrors/blob_checker.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <future>
#include <thread>

#include "registry_redirector/mirrors/http_probe.hpp"
#include "test_mirror.hpp"
#include "test_pki.hpp"

namespace registry_redirector {
namespace {

using test_support::mirror_mode;
using test_support::test_mirror;
using clock_type = blob_existence_cache::clock;

/// Runs the checker's io_context on a thread, as the server's mirrors thread does.
struct checker_fixture {
    boost::asio::io_context mirrors;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{mirrors.get_executor()};
    std::thread thread{[this] { mirrors.run(); }};
    boost::asio::io_context caller;  // the "I/O thread"
    blob_checker checker{mirrors};

    ~checker_fixture() {
        work.reset();
        mirrors.stop();
        thread.join();
    }

    std::vector<blob_verdict> check_concurrently(const std::shared_ptr<blob_existence_cache>& cache,
                                                 const blob_check_config& config, const std::string& url, int n,
                                                 std::shared_ptr<boost::asio::ssl::context> tls = {}) {
        std::vector<blob_verdict> verdicts;
        for (int i = 0; i < n; ++i)
            checker.check(cache, config, tls, url, caller.get_executor(),
                          [&](blob_verdict v) { verdicts.push_back(v); });
        while (static_cast<int>(verdicts.size()) < n) {
            caller.restart();
            caller.run_for(std::chrono::milliseconds(10));
        }
        return verdicts;
    }
};

TEST(BlobCheckerTest, SingleFlightAndCaching) {
    test_mirror mirror;
    mirror.set_delay_ms(100);  // the HEADs overlap
    checker_fixture f;
    auto cache = std::make_shared<blob_existence_cache>(1000);
    blob_check_config config;
    const std::string url = mirror.base_url() + "/v2/pause/blobs/sha256:aa";
    const auto verdicts = f.check_concurrently(cache, config, url, 20);
    for (auto v : verdicts) EXPECT_EQ(v, blob_verdict::exists);
    EXPECT_EQ(mirror.head_requests(), 1u);
    EXPECT_EQ(cache->find(url, clock_type::now()), blob_verdict::exists);

    // A second URL on the same mirror reuses the keep-alive connection.
    f.check_concurrently(cache, config, mirror.base_url() + "/v2/pause/blobs/sha256:bb", 1);
    EXPECT_EQ(mirror.head_requests(), 2u);
    EXPECT_EQ(mirror.connections(), 1u);
    EXPECT_EQ(f.checker.connections_opened(), 1u);
}

TEST(BlobCheckerTest, MissingIsCachedBrieflyErrorsAreNot) {
    test_mirror mirror;
    mirror.set_mode(mirror_mode::not_found);
    checker_fixture f;
    auto cache = std::make_shared<blob_existence_cache>(1000);
    blob_check_config config;
    config.negative_ttl = std::chrono::milliseconds(200);
    const std::string url = mirror.base_url() + "/v2/x/blobs/sha256:cc";
    EXPECT_EQ(f.check_concurrently(cache, config, url, 1)[0], blob_verdict::missing);
    EXPECT_EQ(cache->find(url, clock_type::now()), blob_verdict::missing);
    EXPECT_EQ(cache->find(url, clock_type::now() + std::chrono::milliseconds(300)), blob_verdict::unknown);

    mirror.set_mode(mirror_mode::hang);
    config.timeout = std::chrono::milliseconds(200);
    const std::string other = mirror.base_url() + "/v2/x/blobs/sha256:dd";
    EXPECT_EQ(f.check_concurrently(cache, config, other, 3)[0], blob_verdict::unknown);
    EXPECT_EQ(cache->find(other, clock_type::now()), blob_verdict::unknown);
}

TEST(BlobCheckerTest, HttpsWithTheProbeTrust) {
    const auto pki = test_support::test_pki::create();
    test_mirror mirror(pki.server_cert, pki.server_key);
    checker_fixture f;
    auto cache = std::make_shared<blob_existence_cache>(1000);
    const auto verdicts = f.check_concurrently(cache, {}, mirror.base_url() + "/b", 1, make_probe_tls_context(pki.ca_cert));
    EXPECT_EQ(verdicts[0], blob_verdict::exists);
    test_mirror rogue(pki.rogue_cert, pki.rogue_key);
    EXPECT_EQ(f.check_concurrently(cache, {}, rogue.base_url() + "/b", 1, make_probe_tls_context(pki.ca_cert))[0],
              blob_verdict::unknown);
}

}  // namespace
}  // namespace registry_redirector
