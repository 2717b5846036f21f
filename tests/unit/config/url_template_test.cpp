#include <gtest/gtest.h>

#include <stdexcept>

#include "registry_redirector/config/url_template.hpp"

namespace registry_redirector {
namespace {

const template_values blob_values{"/v2/pause/blobs/sha256:ab?x=1", "/pause/blobs/sha256:ab?x=1", "pause", "sha256:ab",
                                  "eu-west-3"};

std::string render(const std::string& text, template_mode mode = template_mode::location,
                   const template_values& v = blob_values) {
    return render_url(parse_url_template(text, mode), v);
}

TEST(UrlTemplateTest, BareHostIsHttpsPlusTarget) {
    EXPECT_EQ(render("registry.example.org"), "https://registry.example.org/v2/pause/blobs/sha256:ab?x=1");
    EXPECT_EQ(render("registry.example.org:8443"), "https://registry.example.org:8443/v2/pause/blobs/sha256:ab?x=1");
    EXPECT_TRUE(parse_url_template("h.example", template_mode::location).keeps_query);
}

TEST(UrlTemplateTest, UrlWithoutVariableIsABase) {
    EXPECT_EQ(render("https://cdn.example.org"), "https://cdn.example.org/v2/pause/blobs/sha256:ab?x=1");
    EXPECT_EQ(render("https://cdn.example.org/mirror/"), "https://cdn.example.org/mirror/v2/pause/blobs/sha256:ab?x=1");
}

TEST(UrlTemplateTest, EveryVariable) {
    EXPECT_EQ(render("https://u.example/v2/proj/images{v2_path}"), "https://u.example/v2/proj/images/pause/blobs/sha256:ab?x=1");
    EXPECT_EQ(render("https://b-{region}.example/containers/images/{digest}"),
              "https://b-eu-west-3.example/containers/images/sha256:ab");
    EXPECT_EQ(render("https://x.example/{repository}/{digest}{target}"),
              "https://x.example/pause/sha256:ab/v2/pause/blobs/sha256:ab?x=1");
    const auto t = parse_url_template("https://x.example/{digest}", template_mode::location);
    EXPECT_FALSE(t.keeps_query);  // only {target} and {v2_path} carry the query
    EXPECT_TRUE(parse_url_template("https://x.example{v2_path}", template_mode::location).keeps_query);
}

TEST(UrlTemplateTest, FixedUrlIsUsedAsItIs) {
    EXPECT_EQ(render("https://github.com/kubernetes/registry.k8s.io", template_mode::fixed),
              "https://github.com/kubernetes/registry.k8s.io");
    EXPECT_EQ(render("https://www.linuxfoundation.org/privacy-policy/", template_mode::fixed),
              "https://www.linuxfoundation.org/privacy-policy/");
}

TEST(UrlTemplateTest, HttpIsAcceptedAndFlagged) {
    EXPECT_TRUE(parse_url_template("http://plain.example", template_mode::location).insecure);
    EXPECT_FALSE(parse_url_template("https://tls.example", template_mode::location).insecure);
}

TEST(UrlTemplateTest, RejectsWhatCouldBreakTheLocationLine) {
    for (const char* bad : {"", "https://x.example/{nope}", "https://x.example/{target", "https://x.example/a}b",
                            "https://x.example/a b", "https://x.example/a\r\nSet-Cookie: x=1", "https://x.example/\"q\"",
                            "https://x.example/<a>", "https://x.example/a\\b", "https://x.example/\x7f", "https:///path",
                            "ftp://x.example/", "https://{target}/", "https://{digest}.example/", "https://x_y.example/", "not a host",
                            "host.example/path", "https://x.example/\xc3\xa9", "{target}"}) {
        EXPECT_THROW(parse_url_template(bad, template_mode::location), std::invalid_argument) << bad;
    }
    EXPECT_THROW(parse_url_template("registry.example.org", template_mode::fixed), std::invalid_argument);
    EXPECT_THROW(parse_url_template("https://x.example/" + std::string(2100, 'a'), template_mode::location),
                 std::invalid_argument);
    try {
        parse_url_template("https://x.example/{tag}", template_mode::location);
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("unknown variable {tag}"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace registry_redirector
