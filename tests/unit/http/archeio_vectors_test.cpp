// The shipped example config/examples/registry-k8s-io against every vector
// of archeio's behaviour (../shared/data/archeio/expected-behaviour.yaml):
// each answer is archeio's, or one of the differences listed in README
// "Differences from archeio", checked here as such.

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <set>

#include "registry_redirector/http/request_handler.hpp"

namespace registry_redirector {
namespace {

namespace fs = std::filesystem;

const std::string example = std::string(EXAMPLE_DIR) + "/redirector.yaml";
const std::string vectors = std::string(ARCHEIO_DIR) + "/expected-behaviour.yaml";

/// Where the Google load balancer connects from (trusted_proxies).
const ip_address lb_peer = *parse_ip_address("35.191.0.10");

class ArcheioVectorsTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        const server_config config = load_server_config(example);
        routing_options options;
        options.clouds = load_cloud_sources(config);
        options.routes = config.routes;
        snapshot_ = new serving_snapshot{
            build_routing_table(load_providers(config.providers_dir), config.default_provider, {}, options),
            client_ip_policy{trusted_proxy_set(config.trusted_proxies), config.client_ip_headers, config.trusted_hops},
            {0, 1, 2},
            1};
    }
    static void TearDownTestSuite() { delete snapshot_; }

    void SetUp() override {
        if (!fs::exists(vectors)) GTEST_SKIP() << vectors << " is not there (../shared beside the clone)";
        root_ = YAML::LoadFile(vectors);
    }

    struct answer {
        unsigned status = 0;
        std::string location;
        std::string head;  // the whole response
    };

    /// One request through the pure handler and the serializer.
    answer ask(const std::string& method, const std::string& path, const std::string& xff, const ip_address& peer) {
        request_view r;
        r.method = method;
        r.target = path;
        if (!xff.empty()) r.proxy.x_forwarded_for.add(xff);
        std::string out;
        write_response(handle_request(r, peer, snapshot_), r, "Tue, 24 Nov 2026 10:00:00 GMT", out);
        answer a;
        a.head = out;
        a.status = static_cast<unsigned>(std::stoul(out.substr(9, 3)));
        const auto at = out.find("\r\nLocation: ");
        if (at != std::string::npos) a.location = out.substr(at + 12, out.find("\r\n", at + 12) - at - 12);
        return a;
    }

    std::string region_of(const char* ip) {
        const auto& t = snapshot_->routes;
        return std::string(t.region_name(t.networks()[t.network_for(*parse_ip_address(ip))].region));
    }

    static serving_snapshot* snapshot_;
    YAML::Node root_;
};

serving_snapshot* ArcheioVectorsTest::snapshot_ = nullptr;

/// The vectors where we differ on purpose (README "Differences from archeio"),
/// with our answer.
struct difference {
    unsigned status;
    std::string location;  // empty: none
};

TEST_F(ArcheioVectorsTest, EveryHttpCase) {
    const std::string upstream = "https://us-central1-docker.pkg.dev/v2/k8s-artifacts-prod/images";
    const std::string cdn = "https://d1be1w964nk82h.cloudfront.net/containers/images/";
    const std::string pause = "sha256:da86e6ba6ca197bf6bc5e9d900febd906b133eaa4750e6bed647b0fbe50ed43e";
    const std::map<std::string, difference> differences{
        // Query kept (archeio PR #327).
        {"tags-list-query-dropped", {307, upstream + "/pause/tags/list?n=1000&last=v1.2.3"}},
        // No blob existence check (HEAD to the bucket): the mirror is chosen by region alone.
        {"blob-no-xff-local-client", {307, cdn + pause}},
        {"blob-aws-eu-west-3-client-blob-missing",
         {307, "https://prod-registry-k8s-io-eu-west-3.s3.dualstack.eu-west-3.amazonaws.com/containers/images/"
               "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1234567"}},
        // Longest prefix: 15.193.0.1 is ap-south-1, inside AWS GLOBAL 15.193.0.0/19.
        {"blob-aws-global-range-shadows-region",
         {307, "https://prod-registry-k8s-io-ap-south-1.s3.dualstack.ap-south-1.amazonaws.com/containers/images/" + pause}},
        // A single X-Forwarded-For value is unusable: the peer (the balancer, external) decides; no 400.
        {"blob-single-xff-value-rejected", {307, cdn + pause}},
        // "/v2foo" is not an OCI path: an artifact, and artifacts are not_found here.
        {"v2-prefix-quirk", {404, ""}},
        // ".." in a /v2 path is refused, not cleaned.
        {"dot-dot-escapes-upstream-path", {400, ""}},
    };
    std::set<std::string> seen;
    for (const char* section : {"http_cases", "signature_cases"}) {
        for (const auto& c : root_[section]) {
            const std::string name = c["name"].as<std::string>();
            const std::string method = c["method"].as<std::string>();
            const std::string path = c["path"].as<std::string>();
            const std::string xff = c["x_forwarded_for"] ? c["x_forwarded_for"].as<std::string>() : "";
            ip_address peer = lb_peer;
            if (c["remote_addr"]) {
                const std::string remote = c["remote_addr"].as<std::string>();
                peer = *parse_ip_address(remote.substr(0, remote.rfind(':')));
            }
            const answer got = ask(method, path, xff, peer);
            const auto& expect = c["expect"];
            const auto diff = differences.find(name);
            if (diff != differences.end()) {
                seen.insert(name);
                EXPECT_EQ(got.status, diff->second.status) << name << "\n" << got.head;
                EXPECT_EQ(got.location, diff->second.location) << name;
                continue;
            }
            EXPECT_EQ(got.status, expect["status"].as<unsigned>()) << name << "\n" << got.head;
            if (expect["location"]) EXPECT_EQ(got.location, expect["location"].as<std::string>()) << name;
            if (expect["headers"])
                for (const auto& h : expect["headers"])
                    EXPECT_NE(got.head.find("\r\n" + h.first.as<std::string>() + ": " + h.second.as<std::string>() + "\r\n"),
                              std::string::npos)
                        << name << "\n" << got.head;
            if (expect["body"] && name != "catalog") {  // our 404 body is the same for every path
                const std::string body = expect["body"].as<std::string>();
                if (method != "HEAD") EXPECT_EQ(got.head.substr(got.head.find("\r\n\r\n") + 4), body) << name;
            }
        }
    }
    EXPECT_EQ(seen.size(), differences.size()) << "a listed difference has no vector";
}

TEST_F(ArcheioVectorsTest, IpClassificationIsTheLongestPrefixAnswer) {
    for (const auto& c : root_["ip_classification_cases"]) {
        const std::string ip = c["ip"].as<std::string>();
        const auto& lpm = c["lpm"];
        const auto& t = snapshot_->routes;
        const auto address = *parse_ip_address(ip);
        const std::string provider = t.providers()[t.redirect_for(address)].name;
        if (lpm.IsNull()) {
            EXPECT_EQ(provider, "external") << ip;
            EXPECT_EQ(region_of(ip.c_str()), "") << ip;
            continue;
        }
        const std::string cloud = lpm[0].as<std::string>();
        const std::string region = lpm[1].as<std::string>();
        if (cloud == "Azure") {  // archeio routes Azure clients as external; no Azure file is shipped
            EXPECT_EQ(provider, "external") << ip;
            continue;
        }
        EXPECT_EQ(provider, cloud == "AWS" ? "amazon" : "google") << ip;
        EXPECT_EQ(region_of(ip.c_str()), region) << ip;
    }
}

/// Each region of archeio's bucket table: a client address in that region
/// gets the bucket's blob URL; a region without a bucket gets the CDN.
TEST_F(ArcheioVectorsTest, EveryAwsRegionToItsBucket) {
    const auto ranges = load_cloud_ranges(std::string(EXAMPLE_DIR) + "/ranges/aws-ip-ranges.json.gz", cloud_format::aws);
    const std::string digest = root_["pause_blob_digest"].as<std::string>();
    std::map<std::string, std::string> bucket;
    for (const auto& kv : root_["aws_region_to_blob_base_url"]) bucket[kv.first.as<std::string>()] = kv.second.as<std::string>();
    const std::string cdn = root_["config"]["default_aws_base_url"].as<std::string>();
    std::set<std::string> checked;
    const auto& t = snapshot_->routes;
    for (const auto& e : ranges.prefixes) {
        const std::string& region = ranges.regions[e.region];
        if (checked.count(region)) continue;
        // The prefix's first address, if no more specific label overrides it.
        const ip_address a = e.prefix.family == ip_family::v4 ? ip_address::from_v4(e.prefix.v4)
                                                              : ip_address::from_v6(e.prefix.v6);
        if (t.region_name(t.networks()[t.network_for(a)].region) != region) continue;
        checked.insert(region);
        const std::string text = to_string(a);
        const answer got = ask("GET", "/v2/pause/blobs/" + digest, text + ",34.107.244.51", lb_peer);
        const auto it = bucket.find(region);
        const std::string base = it == bucket.end() ? cdn : it->second;
        EXPECT_EQ(got.location, base + "/containers/images/" + digest) << region << " " << text;
    }
    for (const auto& [region, url] : bucket)
        if (region.rfind("cn-", 0) != 0) EXPECT_TRUE(checked.count(region)) << region << " has no address in the AWS file";
    EXPECT_TRUE(checked.count("GLOBAL"));
}

TEST_F(ArcheioVectorsTest, ClientIpCasesWithTheGoogleLoadBalancerPolicy) {
    for (const auto& c : root_["client_ip_cases"]) {
        const std::string name = c["name"].as<std::string>();
        const std::string remote = c["remote_addr"].as<std::string>();
        const auto colon = remote.rfind(':');
        const auto peer_ip = parse_ip_address(remote.substr(0, colon));
        if (!peer_ip) continue;  // a bogus socket address cannot reach us
        proxy_header_lines headers;
        const std::string xff = c["x_forwarded_for"] ? c["x_forwarded_for"].as<std::string>() : "";
        if (!xff.empty()) headers.x_forwarded_for.add(xff);
        // The load balancer is trusted here, as in production.
        client_ip_policy policy{trusted_proxy_set({parse_ip_prefix("127.0.0.0/8").prefix}),
                                {client_ip_header::x_forwarded_for}, 2};
        const client_ip got = resolve_client_ip(*peer_ip, headers, policy, client_ip_source::peer);
        if (c["expect_error"] && c["expect_error"].as<bool>()) {
            // archeio answers 400; we use the peer and count the bad header.
            EXPECT_EQ(got.source, xff.empty() ? client_ip_source::peer : client_ip_source::invalid_header) << name;
            EXPECT_EQ(got.address, *peer_ip) << name;
        } else {
            EXPECT_EQ(to_string(got.address), c["expect_ip"].as<std::string>()) << name;
        }
    }
}

}  // namespace
}  // namespace registry_redirector
