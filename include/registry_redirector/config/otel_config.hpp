#pragma once
/// The `otel:` section of the main config and the standard OpenTelemetry
/// environment variables (OTEL_EXPORTER_OTLP_ENDPOINT,
/// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_SERVICE_NAME,
/// OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG, OTEL_RESOURCE_ATTRIBUTES,
/// OTEL_SDK_DISABLED). A key set in the file wins over its variable.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace registry_redirector {

/// OTEL_TRACES_SAMPLER's names.
enum class sampler_kind : std::uint8_t {
    always_on,
    always_off,
    traceidratio,
    parentbased_always_on,
    parentbased_always_off,
    parentbased_traceidratio,
};

/// Parses a sampler name; nullopt if unknown.
std::optional<sampler_kind> parse_sampler_kind(const std::string& name) noexcept;
const char* to_label(sampler_kind kind) noexcept;

using attribute_list = std::vector<std::pair<std::string, std::string>>;

/// What the file says (unset keys stay empty, so the environment can fill them).
struct otel_file_config {
    std::optional<std::string> endpoint;  ///< base URL; /v1/traces is appended
    std::optional<std::string> service_name;
    std::optional<sampler_kind> sampler;
    std::optional<double> sample_ratio;
    attribute_list resource_attributes;
};

/// An http:// URL split for the exporter.
struct http_url {
    std::string host;  ///< name or address, no brackets
    std::uint16_t port = 80;
    std::string path;  ///< starts with '/'
};

/// Parses "http://host[:port][/path]" ([v6] hosts allowed). Throws
/// std::invalid_argument with a reason (https is refused: the exporter
/// speaks plain HTTP to a local collector).
http_url parse_http_url(const std::string& url);

/// The settings in force after the file and the environment are combined.
struct otel_settings {
    bool enabled = false;             ///< an endpoint is set and the SDK is not disabled
    http_url traces_url;              ///< endpoint + /v1/traces (or the traces endpoint as given)
    std::string traces_url_text;
    std::string service_name = "registry-redirector";
    sampler_kind sampler = sampler_kind::parentbased_traceidratio;
    double sample_ratio = 0;          ///< default 0: only requests whose parent is sampled
    attribute_list resource_attributes;  ///< service.name first, then the others
};

/// Combines the file with the environment (`getenv` returns nullptr for an
/// unset variable). The file wins key by key; OTEL_RESOURCE_ATTRIBUTES and
/// the file's resource_attributes merge, the file winning per key. Bad
/// environment values are skipped with a sentence in `warnings` (the spec:
/// an SDK must not fail on them); a bad endpoint URL from the file throws
/// std::invalid_argument.
otel_settings resolve_otel(const otel_file_config& file, const std::function<const char*(const char*)>& getenv,
                           std::vector<std::string>& warnings);

}  // namespace registry_redirector
