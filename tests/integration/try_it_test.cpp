// README "Try it": the curl lines there, against the real binary with the
// shipped config/examples/local.yaml. The README is the test's input, so
// its answers cannot go stale.

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "server_process.hpp"

namespace registry_redirector::testing {
namespace {

struct example {
    std::string real_ip;
    std::string target;
    std::string location;
};

/// The (X-Real-Ip, target, "# -> location") triples of the "Try it" block.
std::vector<example> readme_examples(std::string& serve_line) {
    std::ifstream in(SOURCE_DIR "/README.md");
    std::stringstream text;
    text << in.rdbuf();
    const std::string readme = text.str();
    const auto start = readme.find("### Try it");
    if (start == std::string::npos) return {};
    const auto block = readme.find("```sh\n", start);
    const auto end = readme.find("```\n", block + 6);
    std::istringstream lines(readme.substr(block + 6, end - block - 6));
    static const std::regex curl(R"(^curl -s -w '%\{redirect_url\}\\n' -H 'X-Real-Ip: ([^']+)' http://127\.0\.0\.1:8080(\S+)$)");
    static const std::regex answer(R"(^# -> (\S+)( .*)?$)");
    std::vector<example> out;
    std::string line;
    std::smatch m;
    while (std::getline(lines, line)) {
        if (line.find(" serve ") != std::string::npos) serve_line = line;
        if (!std::regex_match(line, m, curl)) continue;
        example e{m[1], m[2], ""};
        if (std::getline(lines, line) && std::regex_match(line, m, answer)) e.location = m[1];
        out.push_back(e);
    }
    return out;
}

TEST(TryItTest, ReadmeCurlLinesGiveTheAnswersShown) {
    std::string serve_line;
    const auto examples = readme_examples(serve_line);
    ASSERT_GE(examples.size(), 5u) << "README \"Try it\" lost its curl lines";
    EXPECT_EQ(serve_line, "./build/registry-redirector serve --config config/examples/local.yaml &");
    // The example config on free ports (the README's 8080/9090 may be taken here).
    server_process server(SOURCE_DIR "/config/examples/local.yaml");
    ASSERT_TRUE(server.wait_ready(std::chrono::seconds(20))) << server.output();
    for (const auto& e : examples) {
        ASSERT_FALSE(e.location.empty()) << e.real_ip << " has no \"# -> \" answer line";
        const auto r = http_get(server.port(), e.target, "X-Real-Ip: " + e.real_ip + "\r\n");
        ASSERT_TRUE(r) << e.real_ip;
        EXPECT_EQ(r->status, 302) << e.real_ip;
        EXPECT_EQ(r->header("location"), e.location) << "X-Real-Ip: " << e.real_ip << " " << e.target;
    }
    EXPECT_EQ(server.stop(SIGTERM), 0);
}

}  // namespace
}  // namespace registry_redirector::testing
