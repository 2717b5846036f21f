#include <gtest/gtest.h>

#include <map>

#include "registry_redirector/config/config.hpp"
#include "registry_redirector/config/otel_config.hpp"

namespace registry_redirector {
namespace {

otel_settings resolve(const otel_file_config& file, std::map<std::string, std::string> env,
                      std::vector<std::string>* warnings_out = nullptr) {
    std::vector<std::string> warnings;
    auto s = resolve_otel(file, [&](const char* name) -> const char* {
        const auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    }, warnings);
    if (warnings_out) *warnings_out = warnings;
    return s;
}

TEST(OtelConfigTest, OffWithoutAnEndpoint) {
    const auto s = resolve({}, {});
    EXPECT_FALSE(s.enabled);
    EXPECT_EQ(s.sampler, sampler_kind::parentbased_traceidratio);
    EXPECT_EQ(s.sample_ratio, 0);
    EXPECT_EQ(s.resource_attributes.at(0), (std::pair<std::string, std::string>{"service.name", "registry-redirector"}));
}

TEST(OtelConfigTest, EnvironmentAsTheSpecSays) {
    const auto s = resolve({}, {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"},
                                {"OTEL_SERVICE_NAME", "edge"},
                                {"OTEL_TRACES_SAMPLER", "traceidratio"},
                                {"OTEL_TRACES_SAMPLER_ARG", "0.5"},
                                {"OTEL_RESOURCE_ATTRIBUTES", "service.name=ignored,k8s.pod.name=pod%2D1, region = eu"}});
    EXPECT_TRUE(s.enabled);
    EXPECT_EQ(s.traces_url_text, "http://collector:4318/v1/traces");
    EXPECT_EQ(s.traces_url.host, "collector");
    EXPECT_EQ(s.traces_url.port, 4318);
    EXPECT_EQ(s.traces_url.path, "/v1/traces");
    EXPECT_EQ(s.service_name, "edge");  // OTEL_SERVICE_NAME wins over the attribute
    EXPECT_EQ(s.sampler, sampler_kind::traceidratio);
    EXPECT_EQ(s.sample_ratio, 0.5);
    EXPECT_EQ(s.resource_attributes,
              (attribute_list{{"service.name", "edge"}, {"k8s.pod.name", "pod-1"}, {"region", "eu"}}));
    // The signal-specific endpoint is used as given; a sampler without its
    // argument gets the spec's default ratio 1.
    const auto t = resolve({}, {{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://[::1]:9/custom"},
                                {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://other:4318/"},
                                {"OTEL_TRACES_SAMPLER", "parentbased_traceidratio"}});
    EXPECT_EQ(t.traces_url.host, "::1");
    EXPECT_EQ(t.traces_url.path, "/custom");
    EXPECT_EQ(t.sample_ratio, 1);
    EXPECT_FALSE(resolve({}, {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}, {"OTEL_SDK_DISABLED", "true"}}).enabled);
}

TEST(OtelConfigTest, TheFileWinsKeyByKey) {
    otel_file_config f;
    f.endpoint = "http://127.0.0.1:4318/base";
    f.sample_ratio = 0.1;
    f.resource_attributes = {{"region", "us"}};
    const auto s = resolve(f, {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"},
                               {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/x"},
                               {"OTEL_TRACES_SAMPLER", "always_on"},
                               {"OTEL_TRACES_SAMPLER_ARG", "0.9"},
                               {"OTEL_RESOURCE_ATTRIBUTES", "region=eu,zone=a"}});
    EXPECT_EQ(s.traces_url_text, "http://127.0.0.1:4318/base/v1/traces");
    EXPECT_EQ(s.sampler, sampler_kind::always_on);  // the file has no sampler: the environment's
    EXPECT_EQ(s.sample_ratio, 0.1);                 // the file's ratio
    EXPECT_EQ(s.resource_attributes,
              (attribute_list{{"service.name", "registry-redirector"}, {"region", "us"}, {"zone", "a"}}));
}

TEST(OtelConfigTest, BadEnvironmentIsWarnedAndSkipped) {
    std::vector<std::string> warnings;
    const auto s = resolve({}, {{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318"},
                                {"OTEL_TRACES_SAMPLER", "jaeger_remote"},
                                {"OTEL_TRACES_SAMPLER_ARG", "2"},
                                {"OTEL_RESOURCE_ATTRIBUTES", "a=1,broken"}},
                           &warnings);
    EXPECT_FALSE(s.enabled);
    EXPECT_EQ(s.sampler, sampler_kind::parentbased_traceidratio);
    EXPECT_EQ(s.resource_attributes.size(), 1u);  // a malformed list is dropped whole
    EXPECT_EQ(warnings.size(), 4u);
}

TEST(OtelConfigTest, FileKeysAreValidated) {
    auto parse = [](const std::string& otel) {
        return parse_server_config("/tmp/r.yaml", "providers_dir: asns\nprefixes: []\n" + otel);
    };
    const auto c = parse("otel:\n  endpoint: http://127.0.0.1:4318\n  sampler: always_on\n  sample_ratio: 0.25\n"
                         "  service_name: edge\n  resource_attributes: {region: eu}\nlocation_request_id: true\n");
    EXPECT_EQ(c.otel.endpoint, "http://127.0.0.1:4318");
    EXPECT_EQ(c.otel.sampler, sampler_kind::always_on);
    EXPECT_EQ(c.otel.sample_ratio, 0.25);
    EXPECT_TRUE(c.location_request_id);
    for (const char* bad : {"otel:\n  endpoint: https://x:4318\n", "otel:\n  endpoint: ftp://x\n",
                            "otel:\n  sample_ratio: 1.5\n", "otel:\n  sampler: sometimes\n", "otel:\n  bogus: 1\n",
                            "location_request_id: maybe\n"})
        EXPECT_THROW(parse(bad), std::exception) << bad;
}

}  // namespace
}  // namespace registry_redirector
