#pragma once
/// Redirect URL templates: "https://host/path{variable}...", validated at
/// load so that rendering one can never break the Location line.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace registry_redirector {

enum class template_variable : std::uint8_t {
    target,      ///< path and query as received
    v2_path,     ///< the target after a leading "/v2" (the whole target if it has none)
    repository,  ///< the OCI repository name (blob and manifest requests; else empty)
    digest,      ///< the blob digest, "alg:encoded" (blob requests; else empty)
    region,      ///< the client's region label (empty when it has none)
};

struct template_part {
    std::string literal;  ///< used when !is_variable
    template_variable variable = template_variable::target;
    bool is_variable = false;
};

struct url_template {
    std::string text;  ///< as configured
    std::vector<template_part> parts;
    bool insecure = false;  ///< http://, worth a warning
    /// True when the rendered URL carries the request's query ({target} or
    /// {v2_path} in it).
    bool keeps_query = false;
};

/// How a configured string becomes a template.
enum class template_mode : std::uint8_t {
    /// A bare "host[:port]" means "https://host" + target; a URL without
    /// variables is a base, the target appended (its trailing '/' dropped).
    location,
    /// A URL used as it is (variables allowed, nothing appended).
    fixed,
};

/// The values a template is rendered with; views into the request.
struct template_values {
    std::string_view target;
    std::string_view v2_path;
    std::string_view repository;
    std::string_view digest;
    std::string_view region;
};

/// Parses and validates `text`. Throws std::invalid_argument with the reason
/// (unknown variable, a character that is not allowed in a URL, no or a bad
/// scheme or host, over 2048 bytes).
url_template parse_url_template(std::string_view text, template_mode mode);

/// "{target}" etc.
const char* to_string(template_variable v) noexcept;

/// Appends the rendered URL to `out` (any type with append(string_view)).
/// Pure; allocates only if `out` must grow.
template <class Out>
void render_url(const url_template& t, const template_values& v, Out& out) {
    for (const template_part& p : t.parts) {
        if (!p.is_variable) {
            out.append(p.literal);
            continue;
        }
        switch (p.variable) {
            case template_variable::target: out.append(v.target); break;
            case template_variable::v2_path: out.append(v.v2_path); break;
            case template_variable::repository: out.append(v.repository); break;
            case template_variable::digest: out.append(v.digest); break;
            case template_variable::region: out.append(v.region); break;
        }
    }
}

/// The rendered URL as a new string (control plane and tests).
std::string render_url(const url_template& t, const template_values& v);

}  // namespace registry_redirector
