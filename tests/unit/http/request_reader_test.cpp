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
    for (const char* bytes : {"G\x01T / HTTP/1.1\r\n\r\n", "GET /a b HTTP/1.1\r\n\r\n",
                              "GET / HTTP/1.1\r\nNo colon here\r\n\r\n", "GET / FTP/1.1\r\n\r\n",
                              "GET / HTTP/1.1\r\nX-Real-Ip: 203.0.113.9\r\n \r\n\r\n",  // obs-fold
                              "GET / HTTP/1.1\r\nUser-Agent: a\r\n\tb\r\n\r\n", "\r\rGET / HTTP/1.1\r\n\r\n"}) {
        request_reader reader(8192, 100);
        const auto r = reader.read(bytes, std::strlen(bytes));
        EXPECT_EQ(r.what, read_outcome::kind::reject) << bytes;
    }
}

/// Feeds `bytes` the way a session does (advancing by `consumed` after
/// need_more too) and returns the first outcome that is not need_more.
read_outcome read_all(request_reader& reader, std::string_view bytes, std::size_t* dropped = nullptr) {
    std::size_t at = 0;
    while (true) {
        const auto r = reader.read(bytes.data() + at, bytes.size() - at);
        if (r.what != read_outcome::kind::need_more) return r;
        if (r.consumed == 0) return r;
        at += r.consumed;
        if (dropped) *dropped = at;
    }
}

TEST(RequestReaderTest, EmptyLinesBeforeARequestLineAreSkipped) {
    // RFC 9112 section 2.2: CRLF or bare LF, at the start and between requests.
    for (const std::string lead : {"\r\n", "\n", "\r\n\n", "\r\n\r\n\r\n\r\n", "\n\n\n\n", "\n\r\n\n\r\n"}) {
        const std::string bytes = lead + "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
        request_reader reader(8192, 100);
        const auto r = reader.read(bytes.data(), bytes.size());
        ASSERT_EQ(r.what, read_outcome::kind::request) << testing::PrintToString(lead);
        EXPECT_EQ(r.consumed, bytes.size());
        EXPECT_EQ(r.request.target, "/a");
    }
    // A fifth is refused, wherever the count was reached.
    for (const std::string lead : {"\r\n\r\n\r\n\r\n\r\n", "\n\n\n\n\n", "\r\n\n\r\n\n\n"}) {
        const std::string bytes = lead + "GET /a HTTP/1.1\r\n\r\n";
        request_reader reader(8192, 100);
        const auto r = reader.read(bytes.data(), bytes.size());
        EXPECT_EQ(r.what, read_outcome::kind::reject) << testing::PrintToString(lead);
        EXPECT_EQ(r.status, status_code::bad_request_400);
    }
    // Between pipelined requests, counted per request.
    const std::string one = "GET /1 HTTP/1.1\r\n\r\n";
    const std::string bytes = one + "\r\n\r\n\r\n\r\nGET /2 HTTP/1.1\r\n\r\n\n\n\n\nGET /3 HTTP/1.1\r\n\r\n";
    request_reader reader(8192, 100);
    std::size_t at = 0;
    for (const char* target : {"/1", "/2", "/3"}) {
        const auto r = reader.read(bytes.data() + at, bytes.size() - at);
        ASSERT_EQ(r.what, read_outcome::kind::request) << target;
        EXPECT_EQ(r.request.target, target);
        at += r.consumed;
    }
    EXPECT_EQ(at, bytes.size());
}

TEST(RequestReaderTest, EmptyLinesArriveByteByByte) {
    // Empty lines alone are handed back (need_more with consumed), so an
    // idle connection that got a CRLF holds no bytes; the count carries on.
    request_reader reader(8192, 100);
    auto r = reader.read("\r", 1);
    EXPECT_EQ(r.what, read_outcome::kind::need_more);
    EXPECT_EQ(r.consumed, 0u);
    r = reader.read("\r\n", 2);
    EXPECT_EQ(r.what, read_outcome::kind::need_more);
    EXPECT_EQ(r.consumed, 2u);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(reader.read("\n", 1).consumed, 1u);
    r = reader.read("\n", 1);  // the fifth
    EXPECT_EQ(r.what, read_outcome::kind::reject);
    request_reader fresh(8192, 100);
    std::size_t dropped = 0;
    const std::string bytes = "\r\n\nGET /x HTTP/1.1\r\n\r\n";
    r = read_all(fresh, std::string_view(bytes).substr(0, 8), &dropped);
    EXPECT_EQ(r.what, read_outcome::kind::need_more);
    EXPECT_EQ(dropped, 3u);
    r = fresh.read(bytes.data() + 3, bytes.size() - 3);
    ASSERT_EQ(r.what, read_outcome::kind::request);
    EXPECT_EQ(r.consumed, bytes.size() - 3);
}

TEST(RequestReaderTest, RequestLineGrammarIsStrict) {
    // RFC 9112 section 3: method SP request-target SP HTTP/DIGIT.DIGIT.
    struct line_case {
        const char* line;
        status_code status;  // found_302 stands for "parsed"
        unsigned version = 0;
    };
    const line_case cases[] = {
        {"GET / HTTP/1.1", status_code::found_302, 11},
        {"GET / HTTP/1.0", status_code::found_302, 10},
        {"GET / HTTP/1.2", status_code::found_302, 11},  // any HTTP/1.x is served as HTTP/1.1
        {"GET / HTTP/1.9", status_code::found_302, 11},
        {"GET / HTTP/2.0", status_code::version_not_supported_505},
        {"GET / HTTP/3.1", status_code::version_not_supported_505},
        {"GET / HTTP/0.9", status_code::version_not_supported_505},
        {"GET /a b HTTP/1.1", status_code::bad_request_400},   // a space inside the target
        {"GET /  HTTP/1.1", status_code::bad_request_400},     // two before the version
        {"GET  / HTTP/1.1", status_code::bad_request_400},     // two before the target
        {"GET / HTTP/1.1 ", status_code::bad_request_400},     // one at the end
        {"GET /a b HTTP/2.0", status_code::bad_request_400},   // not a 505: the line is malformed
        {"GET / ", status_code::bad_request_400},
        {"GET /", status_code::bad_request_400},
        {"GET", status_code::bad_request_400},
        {"GET HTTP/1.1", status_code::bad_request_400},
        {" GET / HTTP/1.1", status_code::bad_request_400},
        {"GET\t/ HTTP/1.1", status_code::bad_request_400},
        {"GET /\tHTTP/1.1", status_code::bad_request_400},
        {"GET / HTTP/1.10", status_code::bad_request_400},
        {"GET / HTTP/11", status_code::bad_request_400},
        {"GET / HTTP/1.", status_code::bad_request_400},
        {"GET / http/1.1", status_code::bad_request_400},
        {"GET / HTTPS/1.1", status_code::bad_request_400},
        {"GET / HTTP/1.1\r\r", status_code::bad_request_400},  // a CR before the line end
        {"GET / HTTP/A.1", status_code::bad_request_400},
        {"G(T / HTTP/1.1", status_code::bad_request_400},
    };
    for (const auto& c : cases) {
        for (const char* eol : {"\r\n", "\n"}) {
            const std::string bytes = std::string(c.line) + eol + "Host: x" + eol + eol;
            request_reader reader(8192, 100);
            const auto r = reader.read(bytes.data(), bytes.size());
            const std::string what = testing::PrintToString(bytes);
            if (c.status == status_code::found_302) {
                ASSERT_EQ(r.what, read_outcome::kind::request) << what;
                EXPECT_EQ(r.request.version, c.version) << what;
                EXPECT_EQ(r.consumed, bytes.size()) << what;
            } else {
                ASSERT_EQ(r.what, read_outcome::kind::reject) << what;
                EXPECT_EQ(r.status, c.status) << what;
            }
        }
    }
}

TEST(RequestReaderTest, BareLineFeedsEndLines) {
    // RFC 9112 section 2.2 lets a recipient take a bare LF as a line end.
    const std::string bytes = "GET /v2/x?y HTTP/1.1\nHost: a\nX-Real-Ip: 192.0.2.1\r\nUser-Agent: lf/1\n\n"
                              "HEAD /2 HTTP/1.1\n\n";
    request_reader reader(8192, 100);
    auto r = reader.read(bytes.data(), bytes.size());
    ASSERT_EQ(r.what, read_outcome::kind::request);
    EXPECT_EQ(r.consumed, bytes.find("HEAD"));
    EXPECT_EQ(r.request.method, "GET");
    EXPECT_EQ(r.request.target, "/v2/x?y");
    EXPECT_EQ(r.request.user_agent, "lf/1");
    ASSERT_EQ(r.request.proxy.x_real_ip.count, 1u);
    EXPECT_EQ(r.request.proxy.x_real_ip.values[0], "192.0.2.1");
    r = reader.read(bytes.data() + r.consumed, bytes.size() - r.consumed);
    ASSERT_EQ(r.what, read_outcome::kind::request);
    EXPECT_EQ(r.request.method, "HEAD");
    // A bare LF cannot smuggle a field past the checks: it is a field of its own.
    const std::string smuggle = "GET / HTTP/1.1\r\nX: a\nContent-Length: 5\r\n\r\nhello";
    request_reader reader2(8192, 100);
    r = reader2.read(smuggle.data(), smuggle.size());
    ASSERT_EQ(r.what, read_outcome::kind::request);
    EXPECT_TRUE(r.request.has_body);
    EXPECT_FALSE(r.request.keep_alive);
    // The header limit counts the bytes received, not the CRs added.
    std::string near_limit = "GET / HTTP/1.1\n";
    while (near_limit.size() < 1000) near_limit += "a: b\n";
    near_limit += "\n";
    request_reader reader3(1024, 1000);
    EXPECT_EQ(reader3.read(near_limit.data(), near_limit.size()).what, read_outcome::kind::request);
}

}  // namespace
}  // namespace registry_redirector
