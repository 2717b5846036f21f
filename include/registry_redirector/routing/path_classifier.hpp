#pragma once
/// OCI path classes of a request-target (distribution-spec, "Endpoints"):
/// a pure, allocation-free function of the target alone.

#include <string_view>

#include "registry_redirector/config/config.hpp"

namespace registry_redirector {

struct path_info {
    path_class klass = path_class::artifact;
    bool bad = false;             ///< a /v2 path with an empty, "." or ".." segment: 400 in OCI mode
    std::string_view path;        ///< the target up to '?'
    std::string_view v2_path;     ///< the target after "/v2" (the whole target if it is not a /v2 path)
    std::string_view repository;  ///< <name> of blob and manifest paths
    std::string_view digest;      ///< <alg>:<encoded> of blob paths
    std::string_view reference;   ///< tag or digest of manifest paths
};

/// Classifies an origin-form target ("/v2/library/pause/blobs/sha256:..?q"):
/// ping ("/v2", "/v2/"), blob ("/v2/<name>/blobs/<digest>"), manifest
/// ("/v2/<name>/manifests/<reference>"), other_v2 (any other "/v2/..."),
/// root ("/") and artifact (everything else, "/v2foo" included). Names,
/// digests and references follow the spec's grammar; a path that does not
/// match it is other_v2. Views point into `target`. noexcept, no allocation.
path_info classify_path(std::string_view target) noexcept;

/// True if `name` matches the spec's repository name grammar:
/// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
bool is_oci_repository_name(std::string_view name) noexcept;

/// algorithm ":" encoded, algorithm [a-z0-9]+([+._-][a-z0-9]+)*,
/// encoded [a-zA-Z0-9=_-]+.
bool is_oci_digest(std::string_view digest) noexcept;

/// A tag [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
bool is_oci_tag(std::string_view tag) noexcept;

}  // namespace registry_redirector
