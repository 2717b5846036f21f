#include <gtest/gtest.h>
#include <zlib.h>

#include <boost/json.hpp>

#include "registry_redirector/telemetry/otlp_exporter.hpp"
#include "registry_redirector/telemetry/trace_context.hpp"

namespace registry_redirector {
namespace {

constexpr std::string_view valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceContextTest, ParsesAValidTraceparent) {
    const auto p = parse_traceparent(valid);
    ASSERT_TRUE(p);
    std::string hex;
    append_hex(hex, p->trace_id.data(), 16);
    EXPECT_EQ(hex, "4bf92f3577b34da6a3ce929d0e0e4736");
    hex.clear();
    append_hex(hex, p->parent_id.data(), 8);
    EXPECT_EQ(hex, "00f067aa0ba902b7");
    EXPECT_TRUE(p->sampled());
    EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")->sampled());
    // A future version may be longer, after a '-' (W3C section 3.2.4).
    EXPECT_TRUE(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds"));
    EXPECT_TRUE(parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09"));
}

TEST(TraceContextTest, RejectsEveryMalformedTraceparent) {
    for (std::string_view bad : {
             "",
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",      // short
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",    // version 00 with more
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
             "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",     // version ff
             "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",     // upper case
             "00-00000000000000000000000000000000-00f067aa0ba902b7-01",     // zero trace id
             "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",     // zero parent id
             "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",     // separator
             "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",     // not hex
             "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
             "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",    // future version, no '-'
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",
         })
        EXPECT_FALSE(parse_traceparent(bad)) << bad;
}

TEST(TraceContextTest, TracestateGrammar) {
    auto ok = [](std::initializer_list<std::string_view> lines) {
        std::vector<std::string_view> v(lines);
        return valid_tracestate(v.data(), static_cast<unsigned>(v.size()));
    };
    EXPECT_TRUE(ok({"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"}));
    EXPECT_TRUE(ok({"rojo=1", "congo=2"}));                 // two lines are one list
    EXPECT_TRUE(ok({"a=1 , ,b=2"}));                        // OWS, empty members
    EXPECT_TRUE(ok({"tenant1@system=x", "0tenant@sys-_*/=y"}));
    EXPECT_TRUE(ok({}));
    EXPECT_FALSE(ok({"Rojo=1"}));                           // upper-case key
    EXPECT_FALSE(ok({"rojo"}));                             // no '='
    EXPECT_FALSE(ok({"rojo=1,rojo=2"}));                    // duplicate key
    EXPECT_FALSE(ok({"rojo=a=b"}));                         // '=' in the value
    EXPECT_FALSE(ok({"rojo="}));                            // empty value
    EXPECT_FALSE(ok({"rojo=tab\there"}));
    EXPECT_FALSE(ok({"t@sy$tem=1"}));
    EXPECT_FALSE(ok({"t@systemnamewaytoolong=1"}));        // system-id over 14
    std::string many;
    for (int i = 0; i < 33; ++i) many += "k" + std::to_string(i) + "=v,";
    EXPECT_FALSE(ok({many}));                               // 33 members
}

TEST(TraceContextTest, IdsAreRandomAndNonZero) {
    trace_id_generator g(42);
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const auto t = g.trace_id();
        const auto s = g.span_id();
        EXPECT_NE(t, trace_id_bytes{});
        EXPECT_NE(s, span_id_bytes{});
        std::string hex;
        append_hex(hex, t.data(), 16);
        seen.insert(hex);
    }
    EXPECT_EQ(seen.size(), 1000u);
}

TEST(TraceContextTest, SamplersFollowTheSpec) {
    trace_id_generator g(7);
    const auto parent_sampled = parse_traceparent(valid);
    const auto parent_not = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    const trace_sampler off(sampler_kind::parentbased_traceidratio, 0);
    EXPECT_FALSE(off.sample(nullptr, g.trace_id()));
    EXPECT_TRUE(off.sample(&*parent_sampled, parent_sampled->trace_id));
    EXPECT_FALSE(off.sample(&*parent_not, parent_not->trace_id));
    EXPECT_TRUE(trace_sampler(sampler_kind::always_on, 0).sample(&*parent_not, g.trace_id()));
    EXPECT_FALSE(trace_sampler(sampler_kind::always_off, 1).sample(&*parent_sampled, g.trace_id()));
    EXPECT_TRUE(trace_sampler(sampler_kind::traceidratio, 1).sample(&*parent_not, g.trace_id()));
    // The ratio holds over many ids, and the decision is a function of the id.
    const trace_sampler quarter(sampler_kind::traceidratio, 0.25);
    int sampled = 0;
    for (int i = 0; i < 100'000; ++i) {
        const auto id = g.trace_id();
        const bool s = quarter.sample(nullptr, id);
        EXPECT_EQ(s, quarter.sample(nullptr, id));
        sampled += s;
    }
    EXPECT_NEAR(sampled, 25'000, 700);  // 5 standard deviations
}

std::string gunzip(const std::string& in) {
    z_stream z{};
    inflateInit2(&z, 15 + 16);
    std::string out(in.size() * 20 + 1024, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
    out.resize(z.total_out);
    inflateEnd(&z);
    return out;
}

TEST(OtlpExporterTest, EncodesOneServerSpanAsOtlpJson) {
    span_record s;
    s.trace_id = parse_traceparent(valid)->trace_id;
    s.span_id = {1, 2, 3, 4, 5, 6, 7, 8};
    s.parent_span_id = parse_traceparent(valid)->parent_id;
    s.start_unix_ns = 1'795'000'000'000'000'000;
    s.end_unix_ns = s.start_unix_ns + 41'000;
    s.client = *parse_ip_address("198.51.100.77");
    s.status = 302;
    s.provider_slot = 3;
    s.mirror_slot = 5;
    s.route = static_cast<std::uint8_t>(route::registry);
    std::memcpy(s.method, "GET", 3);
    s.method_length = 3;
    std::memcpy(s.path, "/v2/\"x\"", 7);
    s.path_length = 7;
    std::memcpy(s.tracestate, "rojo=1", 6);
    s.tracestate_length = 6;
    const std::string json = encode_otlp_json({s}, {{"service.name", "svc"}, {"k8s.pod.name", "p"}},
                                              span_names{[](std::uint16_t slot) { return slot == 3 ? "amazon" : "?"; },
                                                         [](std::uint16_t slot) { return slot == 5 ? "ecr-eu" : "?"; }},
                                              24, 48);
    // Through gzip and back, then parsed as JSON: what a collector does.
    const auto doc = boost::json::parse(gunzip(gzip_compress(json))).as_object();
    const auto& rs = doc.at("resourceSpans").as_array().at(0).as_object();
    const auto& resource = rs.at("resource").at("attributes").as_array();
    EXPECT_EQ(resource.at(0).at("key"), "service.name");
    EXPECT_EQ(resource.at(0).at("value").at("stringValue"), "svc");
    const auto& span = rs.at("scopeSpans").as_array().at(0).at("spans").as_array().at(0).as_object();
    EXPECT_EQ(span.at("traceId"), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(span.at("spanId"), "0102030405060708");
    EXPECT_EQ(span.at("parentSpanId"), "00f067aa0ba902b7");
    EXPECT_EQ(span.at("traceState"), "rojo=1");
    EXPECT_EQ(span.at("kind"), 2);
    EXPECT_EQ(span.at("name"), "GET");
    EXPECT_EQ(span.at("startTimeUnixNano"), "1795000000000000000");
    EXPECT_EQ(span.at("endTimeUnixNano"), "1795000000000041000");
    std::map<std::string, std::string> attributes;
    for (const auto& a : span.at("attributes").as_array()) {
        const auto& v = a.at("value").as_object();
        attributes[std::string(a.at("key").as_string())] =
            v.contains("stringValue") ? std::string(v.at("stringValue").as_string())
                                      : "int:" + std::string(v.at("intValue").as_string());
    }
    EXPECT_EQ(attributes["http.request.method"], "GET");
    EXPECT_EQ(attributes["url.path"], "/v2/\"x\"");
    EXPECT_EQ(attributes["http.response.status_code"], "int:302");
    EXPECT_EQ(attributes["client.address"], "198.51.100.0/24");
    EXPECT_EQ(attributes["registry_redirector.provider"], "amazon");
    EXPECT_EQ(attributes["registry_redirector.route"], "registry");
    EXPECT_EQ(attributes["registry_redirector.mirror"], "ecr-eu");
}

}  // namespace
}  // namespace registry_redirector
