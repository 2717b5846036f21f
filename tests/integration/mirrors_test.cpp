// The registry.k8s.io example (mirrors, regions, OCI routes) on the real
// binary over real sockets: answers, explain header, metrics, /debug/route,
// and `check`/`lookup` on it.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "server_process.hpp"

namespace registry_redirector::testing {
namespace {

namespace fs = std::filesystem;

const std::string example_dir = EXAMPLE_DIR;
const std::string example = example_dir + "/redirector.yaml";
const std::string pause = "sha256:da86e6ba6ca197bf6bc5e9d900febd906b133eaa4750e6bed647b0fbe50ed43e";

class MirrorsTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("redirector-mirrors-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
        // The example, with this host as the trusted balancer and the explain header on.
        std::ifstream in(example);
        std::string text((std::istreambuf_iterator<char>(in)), {});
        auto replace = [&](const std::string& from, const std::string& to) {
            const auto at = text.find(from);
            ASSERT_NE(at, std::string::npos) << from;
            text.replace(at, from.size(), to);
        };
        replace("providers_dir: providers", "providers_dir: " + example_dir + "/providers");
        replace("file: ranges/aws", "file: " + example_dir + "/ranges/aws");
        replace("file: ranges/gcp", "file: " + example_dir + "/ranges/gcp");
        replace("trusted_proxies: [35.191.0.0/16, 130.211.0.0/22]", "trusted_proxies: [127.0.0.0/8]\nexplain_header: true");
        std::ofstream(dir_ / "r.yaml") << text;
        server_ = std::make_unique<server_process>((dir_ / "r.yaml").string());
        ASSERT_TRUE(server_->wait_ready()) << server_->output();
    }
    void TearDown() override {
        server_.reset();
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    std::optional<http_response> get(const std::string& target, const std::string& client = "") {
        return http_get(server_->port(), target,
                        client.empty() ? std::string() : "X-Forwarded-For: " + client + ",34.107.244.51\r\n");
    }

    fs::path dir_;
    std::unique_ptr<server_process> server_;
};

TEST_F(MirrorsTest, ArcheioAnswersOnTheRealBinary) {
    auto r = get("/v2/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("docker-distribution-api-version"), "registry/2.0");

    r = get("/v2/pause/manifests/3.9", "35.180.1.1");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 307);
    EXPECT_EQ(r->header("location"), "https://us-central1-docker.pkg.dev/v2/k8s-artifacts-prod/images/pause/manifests/3.9");
    EXPECT_EQ(r->header("x-redirect-reason"), "provider=amazon; region=eu-west-3; mirror=-; class=manifest");

    r = get("/v2/pause/blobs/" + pause, "35.180.1.1");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 307);
    EXPECT_EQ(r->header("location"),
              "https://prod-registry-k8s-io-eu-west-3.s3.dualstack.eu-west-3.amazonaws.com/containers/images/" + pause);
    EXPECT_EQ(r->header("x-redirect-reason"), "provider=amazon; region=eu-west-3; mirror=s3-eu-west-3; class=blob");

    r = get("/v2/pause/blobs/" + pause, "35.220.26.1");  // Google Cloud: stays on Artifact Registry
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("location"), "https://us-central1-docker.pkg.dev/v2/k8s-artifacts-prod/images/pause/blobs/" + pause);

    r = get("/v2/pause/blobs/" + pause, "2600:9000:5201::1");  // IPv6, AWS us-east-1 inside GLOBAL
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("location"),
              "https://prod-registry-k8s-io-us-east-1.s3.dualstack.us-east-1.amazonaws.com/containers/images/" + pause);

    r = get("/v2/pause/tags/list?n=1000&last=v1.2.3");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("location"),
              "https://us-central1-docker.pkg.dev/v2/k8s-artifacts-prod/images/pause/tags/list?n=1000&last=v1.2.3");

    r = get("/privacy");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("location"), "https://www.linuxfoundation.org/privacy-policy/");
    r = get("/v3/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(r->body, "404 page not found\n");
    r = get("/v2/a/%2e%2e/b/manifests/x");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);

    const unsigned short admin = server_->admin_port();
    EXPECT_EQ(scrape_metric(admin, "registry_redirector_mirror_requests_total{class=\"blob\",mirror=\"s3-eu-west-3\"}"), 1);
    EXPECT_EQ(scrape_metric(admin, "registry_redirector_path_class_total{action=\"mirror\",class=\"blob\"}"), 3);
    EXPECT_EQ(scrape_metric(admin, "registry_redirector_path_class_total{action=\"ok\",class=\"ping\"}"), 1);
    EXPECT_EQ(scrape_metric(admin, "registry_redirector_requests_total{code=\"404\",provider=\"none\",route=\"not_found\"}"), 1);
    EXPECT_GE(scrape_metric(admin, "registry_redirector_requests_total{code=\"307\",provider=\"amazon\",route=\"registry\"}"), 3);
}

TEST_F(MirrorsTest, DebugRouteExplainsAsJson) {
    auto r = http_get(server_->admin_port(), "/debug/route?ip=35.180.1.1&path=/v2/pause/blobs/" + pause);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("content-type"), "application/json");
    for (const char* part : {"\"provider\":\"amazon\"", "\"region\":\"eu-west-3\"", "\"class\":\"blob\"",
                             "\"mirror\":\"s3-eu-west-3\"", "\"tier\":1", "\"status\":307",
                             "\"verdict\":\"chosen (tier 1)\"", "\"oncall\":[\"#sig-k8s-infra\"]"})
        EXPECT_NE(r->body.find(part), std::string::npos) << part << "\n" << r->body;
    r = http_get(server_->admin_port(), "/debug/route?ip=nope");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_NE(r->body.find("\"error\""), std::string::npos);
}

/// A changed cloud range file is a reload like any other input: a prefix
/// that moves to another region moves its clients to that region's mirror,
/// and a broken file keeps the old ranges serving.
TEST(MirrorsReloadTest, ARangeFileChangeMovesClientsBetweenRegions) {
    const fs::path dir = fs::temp_directory_path() / ("redirector-ranges-reload-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const auto aws = [](const std::string& region) {
        return R"({"syncToken":"1","createDate":"2026-11-01-00-00-00","prefixes":[{"ip_prefix":"35.180.0.0/16","region":")" +
               region + R"(","service":"AMAZON","network_border_group":")" + region + R"("}],"ipv6_prefixes":[]})";
    };
    const auto write_aws = [&](const std::string& text) {
        std::ofstream(dir / "aws.json.tmp") << text;
        fs::rename(dir / "aws.json.tmp", dir / "aws.json");
    };
    write_aws(aws("eu-west-3"));
    std::ifstream in(example);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    for (const auto& [from, to] : {std::pair<std::string, std::string>{"providers_dir: providers", "providers_dir: " + example_dir + "/providers"},
                                   {"file: ranges/aws-ip-ranges.json.gz", "file: " + (dir / "aws.json").string()},
                                   {"file: ranges/gcp", "file: " + example_dir + "/ranges/gcp"},
                                   {"trusted_proxies: [35.191.0.0/16, 130.211.0.0/22]",
                                    "trusted_proxies: [127.0.0.0/8]\nexplain_header: true"}}) {
        const auto at = text.find(from);
        ASSERT_NE(at, std::string::npos) << from;
        text.replace(at, from.size(), to);
    }
    std::ofstream(dir / "r.yaml") << text;
    server_process server((dir / "r.yaml").string());
    ASSERT_TRUE(server.wait_ready()) << server.output();
    const auto reason = [&] {
        const auto r = http_get(server.port(), "/v2/pause/blobs/" + pause, "X-Forwarded-For: 35.180.1.1,34.107.244.51\r\n");
        return r ? r->header("x-redirect-reason") : std::string("no answer");
    };
    EXPECT_NE(reason().find("region=eu-west-3; mirror=s3-eu-west-3"), std::string::npos) << reason();

    write_aws(aws("eu-west-2"));
    EXPECT_TRUE(wait_for([&] { return reason().find("region=eu-west-2; mirror=s3-eu-west-2") != std::string::npos; },
                         std::chrono::seconds(15)))
        << reason() << "\n" << server.output();

    const double failures =
        scrape_metric(server.admin_port(), "registry_redirector_config_reloads_total{result=\"failure\"}");
    write_aws(R"({"prefixes":[{"ip_prefix":"35.180.0.0/16")");  // cut off
    EXPECT_TRUE(wait_for([&] {
        return scrape_metric(server.admin_port(), "registry_redirector_config_reloads_total{result=\"failure\"}") > failures;
    }, std::chrono::seconds(15))) << server.output();
    EXPECT_NE(server.output().find("aws.json"), std::string::npos);  // the log names the file
    EXPECT_NE(reason().find("region=eu-west-2; mirror=s3-eu-west-2"), std::string::npos) << reason();
    std::error_code ignored;
    fs::remove_all(dir, ignored);
}

TEST(MirrorsCliTest, CheckAndLookupOnTheShippedExample) {
    const auto check = run_binary({"check", "--config", example});
    EXPECT_EQ(check.exit_code, 0) << check.output;
    EXPECT_NE(check.output.find("routes: status 307"), std::string::npos) << check.output;
    EXPECT_NE(check.output.find("mirror s3-eu-west-3: regions eu-west-3"), std::string::npos) << check.output;
    const auto lookup = run_binary({"lookup", "--config", example, "--path", "/v2/pause/blobs/" + pause, "15.193.0.1"});
    EXPECT_EQ(lookup.exit_code, 0) << lookup.output;
    EXPECT_NE(lookup.output.find("region=ap-south-1"), std::string::npos) << lookup.output;
    EXPECT_NE(lookup.output.find("mirror s3-ap-south-1 (amazon): chosen (tier 1)"), std::string::npos) << lookup.output;
    EXPECT_NE(lookup.output.find("answer: 307 to https://prod-registry-k8s-io-ap-south-1"), std::string::npos)
        << lookup.output;
}

TEST(MirrorsCliTest, BadTemplateIsAStartupErrorWithFileAndLine) {
    const auto dir = fs::temp_directory_path() / ("redirector-mirrors-bad-" + std::to_string(::getpid()));
    fs::create_directories(dir / "p");
    std::ofstream(dir / "p/google.yaml") << "name: google\nasns: [15169]\nmirrors:\n  - name: g\n"
                                            "    registry: 'https://g.example/{tag}'\n";
    std::ofstream(dir / "r.yaml") << "providers_dir: p\nprefixes: []\n";
    const auto r = run_binary({"check", "--config", (dir / "r.yaml").string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("google.yaml:5: mirror g registry unknown variable {tag}"), std::string::npos) << r.output;
    fs::remove_all(dir);
}

}  // namespace
}  // namespace registry_redirector::testing
