#include "registry_redirector/config/url_template.hpp"

#include <stdexcept>

#include "registry_redirector/config/config.hpp"

namespace registry_redirector {

namespace {

constexpr std::size_t max_template_bytes = 2048;

/// RFC 3986 section 2: unreserved, reserved and '%' (percent-encoding). No
/// blank, control character, quote or angle bracket can reach the Location
/// line from a template.
bool url_char(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
        case '-': case '.': case '_': case '~':                                        // unreserved
        case ':': case '/': case '?': case '#': case '[': case ']': case '@':          // gen-delims
        case '!': case '$': case '&': case '\'': case '(': case ')': case '*':
        case '+': case ',': case ';': case '=':                                        // sub-delims
        case '%':
            return true;
        default:
            return false;
    }
}

bool authority_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == ':';
}

std::string shown(std::string_view text) {
    std::string s;
    for (char c : text.substr(0, 120)) {
        const auto b = static_cast<unsigned char>(c);
        if (b < 0x20 || b >= 0x7f) {
            static constexpr char hex[] = "0123456789abcdef";
            s += "\\x";
            s += hex[b >> 4];
            s += hex[b & 15];
        } else {
            s += c;
        }
    }
    return s;
}

}  // namespace

const char* to_string(template_variable v) noexcept {
    switch (v) {
        case template_variable::target: return "{target}";
        case template_variable::v2_path: return "{v2_path}";
        case template_variable::repository: return "{repository}";
        case template_variable::digest: return "{digest}";
        case template_variable::region: return "{region}";
    }
    return "{?}";
}

url_template parse_url_template(std::string_view text, template_mode mode) {
    if (text.empty()) throw std::invalid_argument("is empty");
    if (text.size() > max_template_bytes)
        throw std::invalid_argument("is longer than " + std::to_string(max_template_bytes) + " bytes");
    url_template t;
    t.text = std::string(text);
    const bool https = text.substr(0, 8) == "https://";
    const bool http = text.substr(0, 7) == "http://";
    if (!https && !http) {
        if (mode == template_mode::fixed || text.find("://") != std::string_view::npos)
            throw std::invalid_argument("\"" + shown(text) + "\" must start with https:// (or http://)");
        if (!is_valid_redirect_host(std::string(text)))
            throw std::invalid_argument("\"" + shown(text) +
                                        "\" is neither a DNS host name (optional :PORT) nor an https:// URL");
        t.parts.push_back({"https://" + std::string(text), {}, false});
        t.parts.push_back({{}, template_variable::target, true});
        t.keeps_query = true;
        return t;
    }
    t.insecure = http;
    const std::size_t authority = https ? 8 : 7;
    std::size_t i = 0;
    bool any_variable = false;
    bool in_authority = true;
    std::size_t authority_bytes = 0;
    std::string literal;
    auto flush = [&] {
        if (!literal.empty()) t.parts.push_back({std::move(literal), {}, false});
        literal.clear();
    };
    while (i < text.size()) {
        const char c = text[i];
        if (i >= authority && in_authority && (c == '/' || c == '?' || c == '#')) in_authority = false;
        if (c == '{') {
            const std::size_t close = text.find('}', i);
            if (close == std::string_view::npos) throw std::invalid_argument("has a '{' without '}' at byte " + std::to_string(i + 1));
            const std::string_view name = text.substr(i + 1, close - i - 1);
            template_variable v;
            if (name == "target") v = template_variable::target;
            else if (name == "v2_path") v = template_variable::v2_path;
            else if (name == "repository") v = template_variable::repository;
            else if (name == "digest") v = template_variable::digest;
            else if (name == "region") v = template_variable::region;
            else
                throw std::invalid_argument("unknown variable {" + shown(name) +
                                            "} (valid: {target}, {v2_path}, {repository}, {digest}, {region})");
            if (i < authority) throw std::invalid_argument("a variable cannot be part of the scheme");
            // {target} and {v2_path} start with '/' or '?': they end the host.
            if (in_authority && (v == template_variable::target || v == template_variable::v2_path)) {
                if (authority_bytes == 0) throw std::invalid_argument("\"" + shown(text) + "\" has no host");
                in_authority = false;
            }
            if (in_authority && v != template_variable::region)
                throw std::invalid_argument(std::string("only {region} may be part of the host, not ") + to_string(v));
            flush();
            t.parts.push_back({{}, v, true});
            if (v == template_variable::target || v == template_variable::v2_path) t.keeps_query = true;
            any_variable = true;
            if (in_authority) ++authority_bytes;
            i = close + 1;
            continue;
        }
        if (c == '}') throw std::invalid_argument("has a '}' without '{' at byte " + std::to_string(i + 1));
        if (!url_char(c))
            throw std::invalid_argument("\"" + shown(text) + "\" has a character not allowed in a URL at byte " +
                                        std::to_string(i + 1) + " (\"" + shown(text.substr(i, 1)) + "\")");
        if (i >= authority && in_authority) {
            if (!authority_char(c))
                throw std::invalid_argument("host \"" + shown(text.substr(authority)) + "\" may hold only letters, digits, '-', '.' and :PORT");
            ++authority_bytes;
        }
        literal += c;
        ++i;
    }
    if (authority_bytes == 0) throw std::invalid_argument("\"" + shown(text) + "\" has no host");
    if (mode == template_mode::location && !any_variable) {
        // A base: the request-target is appended; its own '/' starts the path.
        while (!literal.empty() && literal.back() == '/' && literal.size() > authority) literal.pop_back();
        flush();
        t.parts.push_back({{}, template_variable::target, true});
        t.keeps_query = true;
        return t;
    }
    flush();
    return t;
}

std::string render_url(const url_template& t, const template_values& v) {
    std::string out;
    render_url(t, v, out);
    return out;
}

}  // namespace registry_redirector
