#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "registry_redirector/data/cloud_ranges.hpp"
#include "registry_redirector/data/config_error.hpp"
#include "test_files.hpp"

namespace registry_redirector {
namespace {

using testing::temp_dir;

const std::string example_ranges = std::string(EXAMPLE_DIR) + "/ranges/";

std::string region_of(const cloud_ranges& r, const std::string& prefix) {
    const auto p = parse_ip_prefix(prefix);
    EXPECT_TRUE(p.ok()) << prefix;
    for (const auto& e : r.prefixes)
        if (e.prefix == p.prefix) return r.regions[e.region];
    return "(absent)";
}

void expect_rejected(cloud_format format, const std::string& json, int line, const std::string& reason_part) {
    temp_dir dir;
    const auto path = dir.write("ranges.json", json);
    try {
        load_cloud_ranges(path, format);
        FAIL() << "accepted: " << json;
    } catch (const config_error& e) {
        EXPECT_EQ(e.file(), path);
        EXPECT_EQ(e.line(), line) << e.what();
        EXPECT_NE(e.reason().find(reason_part), std::string::npos) << e.what();
    }
}

TEST(CloudRangesTest, ReadsTheRealAwsFileGzipped) {
    const auto r = load_cloud_ranges(example_ranges + "aws-ip-ranges.json.gz", cloud_format::aws);
    EXPECT_EQ(r.entries, 10'544u + 5'880u);
    EXPECT_EQ(r.prefixes.size(), 10'762u);  // AWS lists a prefix once per service
    EXPECT_EQ(r.regions.size(), 43u);
    EXPECT_TRUE(std::is_sorted(r.regions.begin(), r.regions.end()));
    EXPECT_EQ(region_of(r, "3.5.140.0/22"), "ap-northeast-2");
    EXPECT_EQ(region_of(r, "15.193.0.0/19"), "GLOBAL");
    EXPECT_EQ(region_of(r, "2406:daba:f000::/40"), "ap-southeast-4");
    EXPECT_TRUE(r.warnings.empty());
}

TEST(CloudRangesTest, ReadsTheRealGcpFile) {
    const auto r = load_cloud_ranges(example_ranges + "gcp-cloud.json.gz", cloud_format::gcp);
    EXPECT_EQ(r.prefixes.size(), 1'047u);
    EXPECT_EQ(r.regions.size(), 48u);
    EXPECT_EQ(region_of(r, "34.35.0.0/16"), "africa-south1");
}

TEST(CloudRangesTest, ReadsAzureServiceTagsRegionTagsOnly) {
    const auto r = load_cloud_ranges(std::string(TEST_DATA_DIR) + "/cloud/azure-service-tags.json", cloud_format::azure);
    EXPECT_EQ(r.regions, (std::vector<std::string>{"eastus", "westeurope"}));
    EXPECT_EQ(r.prefixes.size(), 7u);
    EXPECT_EQ(region_of(r, "4.156.0.0/15"), "eastus");
    EXPECT_EQ(region_of(r, "2603:1020:200::/46"), "westeurope");
    EXPECT_EQ(region_of(r, "4.0.0.0/8"), "(absent)");       // the region-less AzureCloud tag
    EXPECT_EQ(region_of(r, "20.38.98.0/24"), "(absent)");    // a service tag
}

TEST(CloudRangesTest, PlainAndGzipReadAlike) {
    temp_dir dir;
    const std::string json = R"({"prefixes":[{"ip_prefix":"192.0.2.0/24","region":"us-east-1"}],
                                 "ipv6_prefixes":[{"ipv6_prefix":"2001:db8::/32","region":"eu-west-1"}]})";
    const auto a = load_cloud_ranges(dir.write("a.json", json), cloud_format::aws);
    const auto b = load_cloud_ranges(dir.write_gz("b.json.gz", json), cloud_format::aws);
    ASSERT_EQ(a.prefixes.size(), 2u);
    EXPECT_EQ(a.regions, b.regions);
    EXPECT_EQ(region_of(b, "2001:db8::/32"), "eu-west-1");
}

TEST(CloudRangesTest, DuplicatePrefixWithTwoRegionsKeepsTheFirstAndWarns) {
    const auto r = parse_cloud_ranges("x.json",
                                      R"({"prefixes":[{"ipv4Prefix":"192.0.2.0/24","scope":"b-region"},
                                                      {"ipv4Prefix":"192.0.2.0/24","scope":"a-region"},
                                                      {"ipv4Prefix":"192.0.2.0/24","scope":"b-region"}]})",
                                      cloud_format::gcp);
    ASSERT_EQ(r.prefixes.size(), 1u);
    EXPECT_EQ(r.regions[r.prefixes[0].region], "b-region");
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_NE(r.warnings[0].find("192.0.2.0/24"), std::string::npos);
}

TEST(CloudRangesTest, RejectsBadFilesNamingFileAndReason) {
    expect_rejected(cloud_format::aws, "{\n\"prefixes\": [\n{,}\n]}", 3, "invalid JSON");
    expect_rejected(cloud_format::aws, "[]", 0, "must be a JSON object");
    expect_rejected(cloud_format::aws, R"({"ipv6_prefixes":[]})", 0, "missing array \"prefixes\"");
    expect_rejected(cloud_format::aws, R"({"prefixes":[{"ip_prefix":"192.0.2.1/24","region":"x"}]})", 0,
                    "prefixes[0].ip_prefix: \"192.0.2.1/24\"");
    expect_rejected(cloud_format::aws, R"({"prefixes":[{"ip_prefix":"192.0.2.0/24"}]})", 0,
                    "prefixes[0]: missing string \"region\"");
    expect_rejected(cloud_format::aws, R"({"prefixes":[{"ip_prefix":"192.0.2.0/24","region":"us east\r\n"}]})", 0,
                    "is not a label");
    expect_rejected(cloud_format::gcp, R"({"prefixes":[{"ipv4Prefix":"192.0.2.0/24","ipv6Prefix":"2001:db8::/32","scope":"x"}]})", 0,
                    "exactly one of");
    expect_rejected(cloud_format::gcp, R"({"prefixes":[]})", 0, "holds no prefixes");
    expect_rejected(cloud_format::azure, R"({"values":[{"name":"AzureCloud.x","properties":{}}]})", 0,
                    "values[0].properties: missing array \"addressPrefixes\"");
    expect_rejected(cloud_format::azure, R"({"values":[{"name":"AzureCloud.x","properties":{"addressPrefixes":[7]}}]})", 0,
                    "addressPrefixes[0]: missing prefix string");
}

TEST(CloudRangesTest, RejectsTruncatedGzipAndOversizedFiles) {
    temp_dir dir;
    std::string big = R"({"prefixes":[)";
    for (int i = 0; i < 200; ++i) big += R"({"ip_prefix":"192.0.2.0/24","region":"us-east-1"},)";
    big += R"({"ip_prefix":"192.0.2.0/24","region":"us-east-1"}]})";
    const auto gz = dir.write_gz("t.json.gz", big);
    std::string bytes;
    {
        std::ifstream in(gz, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    const auto cut = dir.write("cut.json.gz", bytes.substr(0, bytes.size() / 2));
    EXPECT_THROW(load_cloud_ranges(cut, cloud_format::aws), config_error);
    cloud_range_limits small;
    small.max_entries = 10;
    EXPECT_THROW(load_cloud_ranges(gz, cloud_format::aws, small), config_error);
    small = {};
    small.max_bytes = 1000;
    EXPECT_THROW(load_cloud_ranges(gz, cloud_format::aws, small), config_error);
}

}  // namespace
}  // namespace registry_redirector
