#include <gtest/gtest.h>

#include <cstring>

#include "registry_redirector/http/request_reader.hpp"

namespace registry_redirector {
namespace {

TEST(RequestReaderTest, WaitsForTheWholeHeaderThenParsesOnce) {
    const std::string bytes = "GET /v2/a?b=c HTTP/1.1\r\nHost: x\r\nX-Real-IP: 192.0.2.1\r\nUser-Agent: ua/1\r\n\r\n";
    request_reader reader(8192, 100);
    for (std::size_t n = 1; n < bytes.size(); ++n)
        ASSERT_EQ(reader.read(bytes.data(), n).what, read_outcome::kind::need_more) << n;
    const auto r = reader.read(bytes.data(), bytes.size());
    ASSERT_EQ(r.what, read_outcome::kind::request);
    EXPECT_EQ(r.consumed, bytes.size());
    EXPECT_EQ(r.request.method, "GET");
    EXPECT_EQ(r.request.target, "/v2/a?b=c");
    EXPECT_EQ(r.request.version, 11u);
    EXPECT_TRUE(r.request.keep_alive);
    EXPECT_FALSE(r.request.has_body);
    EXPECT_EQ(r.request.proxy.x_real_ip.count, 1u);  // the name matches case-insensitively
    EXPECT_EQ(r.request.proxy.x_real_ip.values[0], "192.0.2.1");
    EXPECT_EQ(r.request.user_agent, "ua/1");
}

TEST(RequestReaderTest, PipelinedRequestsAreConsumedOneAtATime) {
    const std::string one = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string two = "HEAD /2 HTTP/1.0\r\n\r\n";
    const std::string bytes = one + two + "GET /3";
    request_reader reader(8192, 100);
    auto r = reader.read(bytes.data(), bytes.size());
    ASSERT_EQ(r.what, read_outcome::kind::request);
    EXPECT_EQ(r.consumed, one.size());
    r = reader.read(bytes.data() + one.size(), bytes.size() - one.size());
    ASSERT_EQ(r.what, read_outcome::kind::request);
    EXPECT_EQ(r.request.method, "HEAD");
    EXPECT_FALSE(r.request.keep_alive);  // HTTP/1.0 without keep-alive
    EXPECT_EQ(reader.read(bytes.data() + one.size() + two.size(), 6).what, read_outcome::kind::need_more);
}

TEST(RequestReaderTest, ProxyHeaderLinesAreCollected) {
    const std::string bytes =
        "GET / HTTP/1.1\r\nX-Real-Ip: 1.1.1.1\r\nx-real-ip: 2.2.2.2\r\nX-Forwarded-For: 3.3.3.3, 4.4.4.4\r\n"
        "x-forwarded-for: 5.5.5.5\r\nForwarded: for=6.6.6.6\r\n\r\n";
    request_reader reader(8192, 100);
    const auto r = reader.read(bytes.data(), bytes.size());
    ASSERT_EQ(r.what, read_outcome::kind::request);
    EXPECT_EQ(r.request.proxy.x_real_ip.count, 2u);
    EXPECT_EQ(r.request.proxy.x_forwarded_for.count, 2u);
    EXPECT_EQ(r.request.proxy.x_forwarded_for.values[1], "5.5.5.5");
    EXPECT_EQ(r.request.proxy.forwarded.values[0], "for=6.6.6.6");
}

TEST(RequestReaderTest, BodiesAreFlaggedNotRead) {
    for (const char* bytes : {"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789",
                              "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"}) {
        request_reader reader(8192, 100);
        const auto r = reader.read(bytes, std::strlen(bytes));
        ASSERT_EQ(r.what, read_outcome::kind::request) << bytes;
        EXPECT_TRUE(r.request.has_body);
        EXPECT_FALSE(r.request.keep_alive);
    }
    const std::string empty_body = "GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
    request_reader reader(8192, 100);
    EXPECT_FALSE(reader.read(empty_body.data(), empty_body.size()).request.has_body);
}

TEST(RequestReaderTest, LimitsGiveTheirStatus) {
    request_reader reader(1024, 100);
    const std::string long_line = "GET /" + std::string(2000, 'a');
    auto r = reader.read(long_line.data(), long_line.size());
    EXPECT_EQ(r.what, read_outcome::kind::reject);
    EXPECT_EQ(r.status, status_code::uri_too_long_414);
    request_reader reader2(1024, 100);
    const std::string big = "GET / HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n";
    r = reader2.read(big.data(), big.size());
    EXPECT_EQ(r.status, status_code::header_fields_too_large_431);
    request_reader reader3(1024, 100);
    const std::string partial = "GET / HTTP/1.1\r\nX: " + std::string(2000, 'a');
    r = reader3.read(partial.data(), partial.size());
    EXPECT_EQ(r.status, status_code::header_fields_too_large_431);
}

TEST(RequestReaderTest, TooManyFieldsIs431) {
    std::string bytes = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 101; ++i) bytes += "a" + std::to_string(i) + ": b\r\n";
    bytes += "\r\n";
    request_reader reader(8192, 100);
    const auto r = reader.read(bytes.data(), bytes.size());
    EXPECT_EQ(r.what, read_outcome::kind::reject);
    EXPECT_EQ(r.status, status_code::header_fields_too_large_431);
}

TEST(RequestReaderTest, MalformedInputIsRejected) {
    for (const char* bytes : {"GET / HTTP/1.1\n\n", "G\x01T / HTTP/1.1\r\n\r\n", "GET /a b HTTP/1.1\r\n\r\n",
                              "GET / HTTP/1.1\r\nNo colon here\r\n\r\n", "GET / FTP/1.1\r\n\r\n",
                              "GET / HTTP/1.1\r\nX-Real-Ip: 203.0.113.9\r\n \r\n\r\n",  // obs-fold
                              "GET / HTTP/1.1\r\nUser-Agent: a\r\n\tb\r\n\r\n", "\r\n\r\n"}) {
        request_reader reader(8192, 100);
        const auto r = reader.read(bytes, std::strlen(bytes));
        EXPECT_EQ(r.what, read_outcome::kind::reject) << bytes;
    }
}

}  // namespace
}  // namespace registry_redirector
