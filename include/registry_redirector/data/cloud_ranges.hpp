#pragma once
/// The clouds' published IP range files, as (prefix, region) pairs:
/// AWS ip-ranges.json, Google Cloud cloud.json and Azure Service Tags.
/// Read with Boost.JSON; plain, gzip or bzip2.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "registry_redirector/net/ip_prefix.hpp"

namespace registry_redirector {

enum class cloud_format : std::uint8_t { aws, gcp, azure };

/// "aws", "gcp", "azure".
const char* to_string(cloud_format f) noexcept;

struct region_prefix {
    ip_prefix prefix;
    std::uint32_t region = 0;  ///< index into cloud_ranges::regions
};

/// One file's prefixes, each with its region label. A prefix listed several
/// times with the same region (AWS lists one per service) appears once.
struct cloud_ranges {
    std::string path;
    cloud_format format = cloud_format::aws;
    std::vector<std::string> regions;     ///< sorted, unique labels
    std::vector<region_prefix> prefixes;  ///< sorted by prefix, unique
    std::size_t entries = 0;              ///< entries read, before de-duplication
    std::vector<std::string> warnings;    ///< e.g. a prefix given two regions (the first is kept)
};

/// Limits that keep a broken or hostile file bounded.
struct cloud_range_limits {
    std::size_t max_bytes = 64u << 20;       ///< of (inflated) JSON
    std::size_t max_entries = 1'000'000;
};

/// True for a region label we can put in a URL and a header: 1-63 of
/// A-Z a-z 0-9 - _ .
bool is_valid_region_label(std::string_view label) noexcept;

/// Reads one file (plain, gzip or bzip2, by content). Throws config_error naming the file and,
/// for a bad entry, its JSON path (e.g. "prefixes[12].ip_prefix") and why.
cloud_ranges load_cloud_ranges(const std::string& path, cloud_format format, const cloud_range_limits& limits = {});

/// The same on JSON text in memory; `name` labels errors.
cloud_ranges parse_cloud_ranges(const std::string& name, std::string_view json, cloud_format format,
                                const cloud_range_limits& limits = {});

}  // namespace registry_redirector
