#include "registry_redirector/data/cloud_ranges.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <map>

#include "registry_redirector/data/byte_source.hpp"
#include "registry_redirector/data/config_error.hpp"

namespace registry_redirector {

namespace json = boost::json;

namespace {

/// Collects (prefix, label) pairs, then sorts and de-duplicates them.
class collector {
public:
    collector(const std::string& name, cloud_format format, const cloud_range_limits& limits)
        : name_(name), limits_(limits) {
        out_.path = name;
        out_.format = format;
    }

    [[noreturn]] void fail(const std::string& where, const std::string& reason) const {
        throw config_error(name_, 0, where + ": " + reason);
    }

    void add(const std::string& where, const json::value* prefix, std::string_view label) {
        if (prefix == nullptr || !prefix->is_string()) fail(where, "missing prefix string");
        if (!is_valid_region_label(label))
            fail(where, "region \"" + std::string(label.substr(0, 80)) +
                            "\" is not a label of 1-63 characters A-Z a-z 0-9 - _ .");
        const json::string& text = prefix->as_string();
        const auto r = parse_ip_prefix(std::string_view(text.data(), text.size()));
        if (!r.ok()) fail(where, "\"" + std::string(text.data(), std::min<std::size_t>(text.size(), 80)) + "\": " + r.error);
        if (++out_.entries > limits_.max_entries)
            fail(where, "more than " + std::to_string(limits_.max_entries) + " entries");
        auto [it, inserted] = labels_.emplace(std::string(label), label_order_.size());
        if (inserted) label_order_.push_back(it->first);
        pairs_.push_back({r.prefix, it->second});
    }

    cloud_ranges finish() {
        // Label indexes follow sorted label order.
        out_.regions.assign(label_order_.begin(), label_order_.end());
        std::sort(out_.regions.begin(), out_.regions.end());
        std::vector<std::uint32_t> remap(label_order_.size());
        for (std::size_t i = 0; i < label_order_.size(); ++i)
            remap[i] = static_cast<std::uint32_t>(
                std::lower_bound(out_.regions.begin(), out_.regions.end(), label_order_[i]) - out_.regions.begin());
        // Stable: for a prefix given two regions, the file's first one wins.
        std::stable_sort(pairs_.begin(), pairs_.end(), [](const pair& a, const pair& b) { return less(a.prefix, b.prefix); });
        for (std::size_t i = 0; i < pairs_.size(); ++i) {
            const pair& p = pairs_[i];
            const std::uint32_t region = remap[p.label];
            if (!out_.prefixes.empty() && out_.prefixes.back().prefix == p.prefix) {
                if (out_.prefixes.back().region != region && out_.warnings.size() < 100)
                    out_.warnings.push_back(name_ + ": prefix " + to_string(p.prefix) + " is given regions " +
                                            out_.regions[out_.prefixes.back().region] + " and " +
                                            out_.regions[region] + "; the first is kept");
                continue;
            }
            out_.prefixes.push_back({p.prefix, region});
        }
        if (out_.prefixes.empty()) throw config_error(name_, 0, "holds no prefixes with a region");
        return std::move(out_);
    }

private:
    struct pair {
        ip_prefix prefix;
        std::size_t label;
    };
    static bool less(const ip_prefix& a, const ip_prefix& b) noexcept {
        if (a.family != b.family) return a.family < b.family;
        if (a.family == ip_family::v4 ? a.v4 != b.v4 : a.v6 != b.v6)
            return a.family == ip_family::v4 ? a.v4 < b.v4 : a.v6 < b.v6;
        return a.length < b.length;
    }

    const std::string& name_;
    const cloud_range_limits& limits_;
    cloud_ranges out_;
    std::map<std::string, std::size_t> labels_;
    std::vector<std::string> label_order_;
    std::vector<pair> pairs_;
};

const json::array& array_at(const collector& c, const json::object& o, const char* key, const std::string& where,
                            bool required) {
    static const json::array empty;
    const json::value* v = o.if_contains(key);
    if (v == nullptr) {
        if (required) c.fail(where, std::string("missing array \"") + key + "\"");
        return empty;
    }
    if (!v->is_array()) c.fail(where + "." + key, "must be an array");
    return v->as_array();
}

std::string_view string_at(const collector& c, const json::object& o, const char* key, const std::string& where) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) c.fail(where, std::string("missing string \"") + key + "\"");
    const json::string& s = v->as_string();
    return {s.data(), s.size()};
}

const json::object& object_of(const collector& c, const json::value& v, const std::string& where) {
    if (!v.is_object()) c.fail(where, "must be an object");
    return v.as_object();
}

/// AWS ip-ranges.json: prefixes[] {ip_prefix, region}, ipv6_prefixes[] {ipv6_prefix, region}.
void read_aws(collector& c, const json::object& root) {
    for (auto [list, key] : {std::pair{"prefixes", "ip_prefix"}, std::pair{"ipv6_prefixes", "ipv6_prefix"}}) {
        const json::array& entries = array_at(c, root, list, "top level", std::string(list) == "prefixes");
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const std::string where = std::string(list) + "[" + std::to_string(i) + "]";
            const json::object& e = object_of(c, entries[i], where);
            c.add(where + "." + key, e.if_contains(key), string_at(c, e, "region", where));
        }
    }
}

/// Google Cloud cloud.json: prefixes[] {ipv4Prefix | ipv6Prefix, scope}.
void read_gcp(collector& c, const json::object& root) {
    const json::array& entries = array_at(c, root, "prefixes", "top level", true);
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const std::string where = "prefixes[" + std::to_string(i) + "]";
        const json::object& e = object_of(c, entries[i], where);
        const json::value* v4 = e.if_contains("ipv4Prefix");
        const json::value* v6 = e.if_contains("ipv6Prefix");
        if ((v4 == nullptr) == (v6 == nullptr)) c.fail(where, "needs exactly one of ipv4Prefix and ipv6Prefix");
        c.add(where + (v4 ? ".ipv4Prefix" : ".ipv6Prefix"), v4 ? v4 : v6, string_at(c, e, "scope", where));
    }
}

/// Azure Service Tags: values[] whose name is "AzureCloud.<region>", with
/// properties.addressPrefixes[]. Other tags (services, the region-less
/// "AzureCloud") say nothing about regions and are skipped.
void read_azure(collector& c, const json::object& root) {
    const json::array& values = array_at(c, root, "values", "top level", true);
    constexpr std::string_view tag = "AzureCloud.";
    for (std::size_t i = 0; i < values.size(); ++i) {
        const std::string where = "values[" + std::to_string(i) + "]";
        const json::object& v = object_of(c, values[i], where);
        const std::string_view name = string_at(c, v, "name", where);
        if (name.size() <= tag.size() || name.substr(0, tag.size()) != tag) continue;
        const json::value* props = v.if_contains("properties");
        if (props == nullptr) c.fail(where, "missing object \"properties\"");
        const json::object& p = object_of(c, *props, where + ".properties");
        const json::array& prefixes = array_at(c, p, "addressPrefixes", where + ".properties", true);
        for (std::size_t k = 0; k < prefixes.size(); ++k)
            c.add(where + ".properties.addressPrefixes[" + std::to_string(k) + "]", &prefixes[k], name.substr(tag.size()));
    }
}

}  // namespace

const char* to_string(cloud_format f) noexcept {
    switch (f) {
        case cloud_format::aws: return "aws";
        case cloud_format::gcp: return "gcp";
        case cloud_format::azure: return "azure";
    }
    return "?";
}

bool is_valid_region_label(std::string_view label) noexcept {
    if (label.empty() || label.size() > 63) return false;
    return std::all_of(label.begin(), label.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
               ch == '_' || ch == '.';
    });
}

cloud_ranges parse_cloud_ranges(const std::string& name, std::string_view text, cloud_format format,
                                const cloud_range_limits& limits) {
    if (text.size() > limits.max_bytes)
        throw config_error(name, 0, "content is larger than " + std::to_string(limits.max_bytes >> 20) + " MiB");
    json::stream_parser parser;
    boost::system::error_code ec;
    const std::size_t used = parser.write(text.data(), text.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec) {
        const std::size_t at = std::min(used, text.size());
        const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
        throw config_error(name, line, "invalid JSON: " + ec.message());
    }
    const json::value root = parser.release();
    collector c(name, format, limits);
    if (!root.is_object()) c.fail("top level", "must be a JSON object");
    switch (format) {
        case cloud_format::aws: read_aws(c, root.as_object()); break;
        case cloud_format::gcp: read_gcp(c, root.as_object()); break;
        case cloud_format::azure: read_azure(c, root.as_object()); break;
    }
    return c.finish();
}

cloud_ranges load_cloud_ranges(const std::string& path, cloud_format format, const cloud_range_limits& limits) {
    // Plain, gzip or bzip2, detected by content (byte_source).
    const auto source = byte_source::open(path);
    std::string text;
    constexpr std::size_t chunk = 1 << 16;
    while (true) {
        const std::size_t at = text.size();
        text.resize(at + chunk);
        const std::size_t n = source->read(text.data() + at, chunk);
        text.resize(at + n);
        if (text.size() > limits.max_bytes)
            throw config_error(path, 0, "content is larger than " + std::to_string(limits.max_bytes >> 20) + " MiB");
        if (n == 0) break;
    }
    if (source->truncated()) throw config_error(path, 0, "truncated: " + *source->truncated());
    return parse_cloud_ranges(path, text, format, limits);
}

}  // namespace registry_redirector
