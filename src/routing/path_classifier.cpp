#include "registry_redirector/routing/path_classifier.hpp"

#include <array>

namespace registry_redirector {

namespace {

constexpr bool lower_alnum(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
constexpr bool alnum(char c) noexcept { return lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

/// One path component of a name: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool name_component(std::string_view s) noexcept {
    std::size_t i = 0;
    if (s.empty() || !lower_alnum(s[0])) return false;
    while (i < s.size()) {
        while (i < s.size() && lower_alnum(s[i])) ++i;
        if (i == s.size()) return true;
        // A separator: ".", "_", "__" or one or more "-", then alnum again.
        if (s[i] == '.') ++i;
        else if (s[i] == '_') i += (i + 1 < s.size() && s[i + 1] == '_') ? 2 : 1;
        else if (s[i] == '-') while (i < s.size() && s[i] == '-') ++i;
        else return false;
        if (i == s.size() || !lower_alnum(s[i])) return false;
    }
    return true;
}

/// "." or "..", also percent-encoded (%2e, %2E): what a server behind us
/// might resolve.
bool dot_segment(std::string_view seg) noexcept {
    std::size_t dots = 0;
    for (std::size_t i = 0; i < seg.size();) {
        if (seg[i] == '.') {
            ++i;
        } else if (seg.size() - i >= 3 && seg[i] == '%' && seg[i + 1] == '2' && (seg[i + 2] == 'e' || seg[i + 2] == 'E')) {
            i += 3;
        } else {
            return false;
        }
        ++dots;
    }
    return dots == 1 || dots == 2;
}

}  // namespace

bool is_oci_repository_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 255) return false;
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = name.find('/', start);
        if (!name_component(name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start)))
            return false;
        if (slash == std::string_view::npos) return true;
        start = slash + 1;
    }
}

bool is_oci_digest(std::string_view digest) noexcept {
    const std::size_t colon = digest.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == digest.size()) return false;
    const std::string_view alg = digest.substr(0, colon);
    const std::string_view enc = digest.substr(colon + 1);
    // algorithm-component ([a-z0-9]+) joined by separators [+._-]
    bool after_separator = true;
    for (char c : alg) {
        if (lower_alnum(c)) after_separator = false;
        else if ((c == '+' || c == '.' || c == '_' || c == '-') && !after_separator) after_separator = true;
        else return false;
    }
    if (after_separator) return false;
    // A table, not comparisons: the characters of a hex digest are a coin
    // toss between digit and letter, so the comparisons' branches
    // mispredicted about once per two characters (a fifth of a blob
    // request's decision time in bench/blob_check_bench.cpp).
    static constexpr auto encoded_char = [] {
        std::array<bool, 256> ok{};
        for (int c = 0; c < 256; ++c)
            ok[static_cast<std::size_t>(c)] = alnum(static_cast<char>(c)) || c == '=' || c == '_' || c == '-';
        return ok;
    }();
    bool all = true;
    for (char c : enc) all &= encoded_char[static_cast<unsigned char>(c)];
    return all;
}

bool is_oci_tag(std::string_view tag) noexcept {
    if (tag.empty() || tag.size() > 128) return false;
    if (!alnum(tag[0]) && tag[0] != '_') return false;
    for (char c : tag)
        if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
    return true;
}

path_info classify_path(std::string_view target) noexcept {
    path_info info;
    const std::size_t q = target.find('?');
    info.path = target.substr(0, q);
    info.v2_path = target;
    const std::string_view path = info.path;
    if (path == "/") {
        info.klass = path_class::root;
        return info;
    }
    if (path.size() < 3 || path.substr(0, 3) != "/v2" || (path.size() > 3 && path[3] != '/')) {
        info.klass = path_class::artifact;
        return info;
    }
    info.v2_path = target.substr(3);
    if (path.size() <= 4) {  // "/v2" or "/v2/"
        info.klass = path_class::ping;
        return info;
    }
    // Every segment after "/v2/" must be non-empty and not a dot segment:
    // a server behind us might resolve "..", so we refuse it (archeio
    // silently cleans it, letting a request escape the upstream prefix).
    const std::string_view rest = path.substr(4);
    std::size_t segments = 0;
    std::size_t start = 0;
    std::string_view seg[3];  // the last three segments
    while (true) {
        const std::size_t slash = rest.find('/', start);
        const std::string_view s = rest.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (s.empty() || dot_segment(s)) {
            info.bad = true;
            info.klass = path_class::other_v2;
            return info;
        }
        seg[0] = seg[1];
        seg[1] = seg[2];
        seg[2] = s;
        ++segments;
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    info.klass = path_class::other_v2;
    if (segments < 3) return info;
    // <name> is everything before the last two segments.
    const std::size_t name_end = static_cast<std::size_t>(seg[1].data() - rest.data()) - 1;
    const std::string_view name = rest.substr(0, name_end);
    if (!is_oci_repository_name(name)) return info;
    if (seg[1] == "blobs" && is_oci_digest(seg[2])) {
        info.klass = path_class::blob;
        info.repository = name;
        info.digest = seg[2];
    } else if (seg[1] == "manifests" && (is_oci_tag(seg[2]) || is_oci_digest(seg[2]))) {
        info.klass = path_class::manifest;
        info.repository = name;
        info.reference = seg[2];
    }
    return info;
}

}  // namespace registry_redirector
