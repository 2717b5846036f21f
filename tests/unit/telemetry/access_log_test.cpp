#include <gtest/gtest.h>

#include "registry_redirector/telemetry/access_log.hpp"
#include "registry_redirector/routing/request_outcome.hpp"

namespace registry_redirector {
namespace {

access_record record(std::string_view target, std::string_view agent, const char* client) {
    access_record r;
    r.unix_ns = 1'795'000'000'123'000'000;  // 2026-11-18T11:06:40.123Z
    r.client = *parse_ip_address(client);
    r.duration_us = 42;
    r.status = 302;
    r.route = static_cast<std::uint8_t>(route::registry);
    r.set("GET", target, agent);
    return r;
}

TEST(AccessLogTest, JsonLineIsEscapedAndAnonymised) {
    const auto line = format_access_record(record("/v2/\"x\"\\\x01\xff", "curl/8", "198.51.100.77"),
                                           access_log_format::json, 24, 48, "amazon");
    EXPECT_EQ(line,
              "{\"time\":\"2026-11-18T11:06:40.123Z\",\"client\":\"198.51.100.0/24\",\"method\":\"GET\","
              "\"target\":\"/v2/\\\"x\\\"\\\\\\u0001\\u00ff\",\"status\":302,\"provider\":\"amazon\",\"route\":\"registry\","
              "\"duration_us\":42,\"user_agent\":\"curl/8\"}");
}

TEST(AccessLogTest, PrefixLengthsAreConfigurable) {
    const auto r = record("/", "", "2001:db8:aaaa:bbbb::1");
    EXPECT_NE(format_access_record(r, access_log_format::text, 24, 48, "p").find(" 2001:db8:aaaa::/48 "), std::string::npos);
    EXPECT_NE(format_access_record(r, access_log_format::text, 24, 32, "p").find(" 2001:db8::/32 "), std::string::npos);
    EXPECT_NE(format_access_record(r, access_log_format::text, 24, 128, "p").find(" 2001:db8:aaaa:bbbb::1 "),
              std::string::npos);
    const auto v4 = record("/", "", "192.0.2.200");
    EXPECT_NE(format_access_record(v4, access_log_format::text, 32, 48, "p").find(" 192.0.2.200 "), std::string::npos);
    EXPECT_NE(format_access_record(v4, access_log_format::text, 16, 48, "p").find(" 192.0.0.0/16 "), std::string::npos);
}

TEST(AccessLogTest, LongTargetsAreTruncatedAndMarked) {
    const std::string target(5000, 'a');
    const auto r = record(target, "", "192.0.2.1");
    EXPECT_EQ(r.target_length, access_record::max_target);
    EXPECT_NE(format_access_record(r, access_log_format::json, 24, 48, "p").find("\"target_truncated\":true"),
              std::string::npos);
}

TEST(AccessLogTest, FullRingDropsAndCounts) {
    std::atomic<std::uint64_t> drops{0};
    std::FILE* sink = std::tmpfile();
    access_log log(access_log_format::text, 24, 48, 1, [](std::uint16_t) { return std::string("p"); }, drops, sink, 4);
    for (int i = 0; i < 10; ++i) {
        if (auto* r = log.ring(0).claim()) {
            *r = record("/x", "", "192.0.2.1");
            log.ring(0).commit();
        } else {
            log.count_drop();
        }
    }
    EXPECT_EQ(drops.load(), 6u);
    EXPECT_EQ(log.flush(), 4u);
    EXPECT_NE(log.ring(0).claim(), nullptr);  // room again
    std::fclose(sink);
}

}  // namespace
}  // namespace registry_redirector
