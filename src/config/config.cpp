#include "registry_redirector/config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>

#include "registry_redirector/data/config_error.hpp"

namespace registry_redirector {

namespace fs = std::filesystem;

namespace {

/// Wraps one YAML file so that every error names the file and line.
class yaml_file {
public:
    /// Parses `text`; errors name `path`.
    yaml_file(std::string path, const std::string& text) : path_(std::move(path)) {
        try {
            root_ = YAML::Load(text);
        } catch (const YAML::Exception& e) {
            throw config_error(path_, e.mark.line >= 0 ? e.mark.line + 1 : 0, "invalid YAML: " + e.msg);
        }
    }

    /// Reads a config file, bounded: config files are small, and a
    /// multi-megabyte one is a mistake (or an endless file), not something
    /// to parse.
    static std::string read(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw config_error(path, 0, std::string("cannot open: ") + std::strerror(errno));
        constexpr std::size_t max_bytes = 4 << 20;
        std::string text;
        text.resize(max_bytes + 1);
        in.read(text.data(), static_cast<std::streamsize>(text.size()));
        if (in.bad()) throw config_error(path, 0, "read failed");
        text.resize(static_cast<std::size_t>(in.gcount()));
        if (text.size() > max_bytes) throw config_error(path, 0, "file is larger than 4 MiB");
        return text;
    }

    const YAML::Node& root() const noexcept { return root_; }
    const std::string& path() const noexcept { return path_; }

    [[noreturn]] void fail(const YAML::Node& at, const std::string& reason) const {
        const int line = at.IsDefined() && at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
        throw config_error(path_, line, reason);
    }

    /// The top-level mapping; rejects keys not in `allowed`.
    void require_map(const YAML::Node& node, const std::string& what,
                     std::initializer_list<const char*> allowed) const {
        if (!node.IsMap()) fail(node, what + " must be a mapping");
        for (const auto& kv : node) {
            const auto key = scalar(kv.first, "a key");
            if (std::none_of(allowed.begin(), allowed.end(), [&](const char* k) { return key == k; })) {
                std::string valid;
                for (const char* k : allowed) valid += std::string(valid.empty() ? "" : ", ") + k;
                fail(kv.first, "unknown key \"" + key + "\" in " + what + " (valid keys: " + valid + ")");
            }
        }
    }

    std::string scalar(const YAML::Node& node, const std::string& what) const {
        if (!node.IsScalar()) fail(node, what + " must be a string");
        return node.Scalar();
    }

    std::uint64_t integer(const YAML::Node& node, const std::string& what, std::uint64_t min,
                          std::uint64_t max) const {
        const std::string range = " (from " + std::to_string(min) + " to " + std::to_string(max) + ")";
        if (!node.IsScalar()) fail(node, what + " must be an integer" + range);
        const std::string& s = node.Scalar();
        std::uint64_t v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc{} || end != s.data() + s.size() || s.empty())
            fail(node, what + " must be an integer" + range + ", got \"" + s + "\"");
        if (v < min || v > max) fail(node, what + " is out of range" + range + ", got " + s);
        return v;
    }

    /// "250ms", "5s", "2m" or "24h": a whole number with a unit, so that no
    /// value is ambiguous about seconds versus milliseconds.
    std::chrono::milliseconds duration(const YAML::Node& node, const std::string& what, std::chrono::milliseconds min,
                                       std::chrono::milliseconds max) const {
        const std::string range = " (from " + std::to_string(min.count()) + "ms to " + std::to_string(max.count()) + "ms)";
        const std::string s = node.IsScalar() ? node.Scalar() : std::string();
        std::uint64_t v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        const std::string unit(end, s.data() + s.size());
        std::uint64_t factor = 0;
        if (unit == "ms") factor = 1;
        else if (unit == "s") factor = 1000;
        else if (unit == "m") factor = 60'000;
        else if (unit == "h") factor = 3'600'000;
        if (!node.IsScalar() || ec != std::errc{} || end == s.data() || factor == 0)
            fail(node, what + " must be a duration such as 500ms, 5s, 2m or 24h" + range + ", got \"" + s + "\"");
        if (v > max.count() / factor + 1 || std::chrono::milliseconds(v * factor) < min ||
            std::chrono::milliseconds(v * factor) > max)
            fail(node, what + " is out of range" + range + ", got " + s);
        return std::chrono::milliseconds(v * factor);
    }

    bool boolean(const YAML::Node& node, const std::string& what) const {
        const std::string v = node.IsScalar() ? node.Scalar() : std::string();
        if (v == "true") return true;
        if (v == "false") return false;
        fail(node, what + " must be true or false, got \"" + v + "\"");
    }

    /// A string, or a list of strings.
    std::vector<std::string> strings(const YAML::Node& node, const std::string& what) const {
        if (node.IsScalar()) return {node.Scalar()};
        std::vector<std::string> out;
        for (const auto& item : list(node, what)) out.push_back(scalar(item, "each entry of " + what));
        return out;
    }

    url_template url(const YAML::Node& node, const std::string& what, template_mode mode) const {
        const std::string text = scalar(node, what);
        try {
            return parse_url_template(text, mode);
        } catch (const std::invalid_argument& e) {
            fail(node, what + " " + e.what());
        }
    }

    std::vector<YAML::Node> list(const YAML::Node& node, const std::string& what) const {
        if (node.IsNull()) return {};
        if (!node.IsSequence()) fail(node, what + " must be a list");
        std::vector<YAML::Node> items;
        for (const auto& item : node) items.push_back(item);
        return items;
    }

private:
    std::string path_;
    YAML::Node root_;
};

std::string resolve(const std::string& base_file, const std::string& path) {
    const fs::path p(path);
    if (p.is_absolute()) return p.lexically_normal().string();
    return (fs::path(base_file).parent_path() / p).lexically_normal().string();
}

bool valid_provider_name(const std::string& name) {
    if (name.empty() || name.size() > 63) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_' || c == '.';
    });
}

ip_prefix parse_cidr_or_address(const yaml_file& f, const YAML::Node& node, const std::string& what) {
    const std::string text = f.scalar(node, what);
    if (text.find('/') == std::string::npos) {
        // A bare address means a host prefix (/32 or /128).
        const auto a = parse_ip_address(text);
        if (!a) f.fail(node, what + " \"" + text + "\" is neither an address nor ADDRESS/LENGTH");
        return a->family == ip_family::v4 ? ip_prefix{ip_family::v4, a->v4, 0, 32}
                                          : ip_prefix{ip_family::v6, 0, a->v6, 128};
    }
    const auto r = parse_ip_prefix(text);
    if (!r.ok()) f.fail(node, what + " \"" + text + "\": " + r.error);
    return r.prefix;
}

/// `tls_listen` and the `tls` mapping: both or neither, and a redirect
/// listener must remain (`listen: off` only beside `tls_listen`).
void parse_tls(const yaml_file& f, server_config& c) {
    const YAML::Node& root = f.root();
    const auto listen = root["tls_listen"];
    const auto tls = root["tls"];
    if (listen) {
        try {
            c.tls_listen = parse_endpoint(f.scalar(listen, "tls_listen"));
        } catch (const std::invalid_argument& e) {
            f.fail(listen, std::string("tls_listen: ") + e.what());
        }
        if (!tls) f.fail(listen, "tls_listen needs a \"tls\" mapping with certificate and private_key");
    }
    if (tls) {
        if (!listen) f.fail(tls, "tls is set but tls_listen is not (e.g. tls_listen: \"0.0.0.0:8443\")");
        f.require_map(tls, "tls", {"certificate", "private_key", "ciphers", "ciphersuites", "session_ticket_key_file"});
        for (const char* key : {"certificate", "private_key"})
            if (!tls[key]) f.fail(tls, std::string("tls is missing \"") + key + "\" (a PEM file)");
        auto path = [&](const char* key, std::string& out) {
            if (const auto n = tls[key]) {
                const std::string v = f.scalar(n, std::string("tls.") + key);
                if (v.empty()) f.fail(n, std::string("tls.") + key + " must name a file");
                out = resolve(f.path(), v);
            }
        };
        path("certificate", c.tls.certificate);
        path("private_key", c.tls.private_key);
        path("session_ticket_key_file", c.tls.session_ticket_key_file);
        for (auto [key, out] : {std::pair{"ciphers", &c.tls.ciphers}, std::pair{"ciphersuites", &c.tls.ciphersuites}}) {
            if (const auto n = tls[key]) {
                *out = f.scalar(n, std::string("tls.") + key);
                if (out->empty()) f.fail(n, std::string("tls.") + key + " must not be empty (omit it for the default)");
            }
        }
    }
    if (!c.listen_enabled && !c.tls_listen)
        f.fail(root["listen"], "listen: off needs tls_listen (the server would have no redirect listener)");
}


std::optional<path_class> class_named(std::string_view name) {
    for (std::size_t i = 0; i < path_class_count; ++i)
        if (name == to_label(static_cast<path_class>(i))) return static_cast<path_class>(i);
    return std::nullopt;
}

constexpr const char* class_names = "ping, blob, manifest, other_v2, root, artifact";

route_config parse_routes(const yaml_file& f, const YAML::Node& n) {
    f.require_map(n, "routes", {"status", "upstream", "classes", "fixed", "cache_control"});
    route_config r;
    if (const auto v = n["status"]) {
        r.status = static_cast<unsigned>(f.integer(v, "routes.status", 301, 308));
        if (r.status != 301 && r.status != 302 && r.status != 303 && r.status != 307 && r.status != 308)
            f.fail(v, "routes.status must be 301, 302, 303, 307 or 308, got " + v.Scalar());
    }
    if (const auto v = n["upstream"]) r.upstream = f.url(v, "routes.upstream", template_mode::location);
    if (const auto v = n["classes"]) {
        if (!v.IsMap()) f.fail(v, "routes.classes must be a mapping of class -> action");
        for (const auto& kv : v) {
            const std::string name = f.scalar(kv.first, "a class");
            const auto c = class_named(name);
            if (!c) f.fail(kv.first, "unknown class \"" + name + "\" in routes.classes (valid: " + class_names + ")");
            const std::string action = f.scalar(kv.second, "routes.classes." + name);
            class_action& a = r.classes[static_cast<std::size_t>(*c)];
            if (action == "mirror") a.kind = class_action_kind::mirror;
            else if (action == "upstream") a.kind = class_action_kind::upstream;
            else if (action == "not_found") a.kind = class_action_kind::not_found;
            else if (action == "ok") {
                if (*c != path_class::ping) f.fail(kv.second, "routes.classes." + name + ": \"ok\" is only for ping");
                a.kind = class_action_kind::ok;
            } else if (action.find("://") != std::string::npos) {
                a.kind = class_action_kind::fixed;
                a.fixed = f.url(kv.second, "routes.classes." + name, template_mode::fixed);
            } else {
                f.fail(kv.second, "routes.classes." + name + " \"" + action +
                                      "\" is not one of mirror, upstream, ok, not_found or an https:// URL");
            }
            if (a.kind == class_action_kind::upstream && !r.upstream)
                f.fail(kv.second, "routes.classes." + name + " is \"upstream\" but routes.upstream is not set");
        }
    }
    if (const auto v = n["fixed"]) {
        if (!v.IsMap()) f.fail(v, "routes.fixed must be a mapping of path prefix -> URL");
        for (const auto& kv : v) {
            fixed_route fr;
            fr.prefix = f.scalar(kv.first, "a routes.fixed path");
            if (fr.prefix.empty() || fr.prefix[0] != '/' ||
                std::any_of(fr.prefix.begin(), fr.prefix.end(), [](char ch) {
                    return static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f || ch == '?';
                }))
                f.fail(kv.first, "routes.fixed path \"" + fr.prefix + "\" must start with '/' and hold no blank, control character or '?'");
            for (const auto& other : r.fixed)
                if (other.prefix == fr.prefix) f.fail(kv.first, "routes.fixed lists \"" + fr.prefix + "\" twice");
            if (kv.second.IsScalar() && kv.second.Scalar() == "not_found") fr.not_found = true;
            else fr.url = f.url(kv.second, "routes.fixed \"" + fr.prefix + "\"", template_mode::fixed);
            r.fixed.push_back(std::move(fr));
        }
        // The longest matching prefix wins: try long ones first.
        std::stable_sort(r.fixed.begin(), r.fixed.end(),
                         [](const fixed_route& a, const fixed_route& b) { return a.prefix.size() > b.prefix.size(); });
    }
    if (const auto v = n["cache_control"]) {
        if (!v.IsMap()) f.fail(v, "routes.cache_control must be a mapping of class -> header value");
        for (const auto& kv : v) {
            const std::string name = f.scalar(kv.first, "a class");
            const auto c = class_named(name);
            if (!c) f.fail(kv.first, "unknown class \"" + name + "\" in routes.cache_control (valid: " + class_names + ")");
            std::string value = f.scalar(kv.second, "routes.cache_control." + name);
            if (value.empty() || value.size() > 256 ||
                std::any_of(value.begin(), value.end(), [](char ch) {
                    const auto b = static_cast<unsigned char>(ch);
                    return (b < 0x20 && b != '\t') || b >= 0x7f;
                }))
                f.fail(kv.second, "routes.cache_control." + name + " must be 1-256 visible ASCII characters");
            r.cache_control[static_cast<std::size_t>(*c)] = std::move(value);
        }
    }
    return r;
}

/// "1MiB", "64KiB", "512" (bytes): a whole number with an optional binary unit.
std::uint64_t parse_byte_size(const yaml_file& f, const YAML::Node& n, const std::string& what, std::uint64_t max) {
    const std::string s = n.IsScalar() ? n.Scalar() : std::string();
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    const std::string unit(end, s.data() + s.size());
    std::uint64_t factor = 0;
    if (unit.empty() || unit == "B") factor = 1;
    else if (unit == "KiB") factor = 1024;
    else if (unit == "MiB") factor = 1024 * 1024;
    if (!n.IsScalar() || ec != std::errc{} || end == s.data() || factor == 0)
        f.fail(n, what + " must be a size such as 65536, 64KiB or 1MiB, got \"" + s + "\"");
    if (v > max / factor) f.fail(n, what + " is out of range (at most " + std::to_string(max) + " bytes), got " + s);
    return v * factor;
}

/// A mirror's `probe` (README "Mirror health").
probe_config parse_probe(const yaml_file& f, const YAML::Node& n, const std::string& what) {
    using std::chrono::milliseconds;
    f.require_map(n, what, {"url", "method", "expect", "interval", "timeout", "fall", "rise", "max_bytes", "ca_file",
                            "follow_redirects", "initial"});
    probe_config p;
    const auto url = n["url"];
    if (!url) f.fail(n, what + " is missing \"url\" (an http:// or https:// URL the mirror must answer)");
    p.url = f.scalar(url, what + " url");
    if (!p.url.starts_with("http://") && !p.url.starts_with("https://"))
        f.fail(url, what + " url must start with http:// or https://, got \"" + p.url + "\"");
    for (char c : p.url)
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) f.fail(url, what + " url must not contain blanks or control characters");
    if (const auto v = n["method"]) {
        const std::string m = f.scalar(v, what + " method");
        if (m == "GET") p.method = probe_config::http_method::get;
        else if (m == "HEAD") p.method = probe_config::http_method::head;
        else f.fail(v, what + " method must be GET or HEAD, got \"" + m + "\"");
    }
    if (const auto v = n["expect"]) {
        p.expect.clear();
        const auto items = v.IsSequence() ? f.list(v, what + " expect") : std::vector<YAML::Node>{v};
        for (const auto& item : items) {
            const auto code = static_cast<unsigned>(f.integer(item, what + " expect", 100, 599));
            p.expect.emplace_back(code, code);
        }
        if (p.expect.empty()) f.fail(v, what + " expect must list at least one status");
    }
    if (const auto v = n["interval"]) p.interval = f.duration(v, what + " interval", milliseconds(100), milliseconds(3'600'000));
    if (const auto v = n["timeout"]) p.timeout = f.duration(v, what + " timeout", milliseconds(50), milliseconds(60'000));
    if (p.timeout > p.interval) f.fail(n, what + ": timeout must not exceed interval (one probe at a time per mirror)");
    if (const auto v = n["fall"]) p.fall = static_cast<unsigned>(f.integer(v, what + " fall", 1, 100));
    if (const auto v = n["rise"]) p.rise = static_cast<unsigned>(f.integer(v, what + " rise", 1, 100));
    if (const auto v = n["max_bytes"]) p.max_bytes = parse_byte_size(f, v, what + " max_bytes", std::uint64_t{1} << 30);
    if (const auto v = n["ca_file"]) {
        const std::string file = f.scalar(v, what + " ca_file");
        if (file.empty()) f.fail(v, what + " ca_file must name a PEM file");
        p.ca_file = resolve(f.path(), file);
        if (!fs::is_regular_file(p.ca_file)) f.fail(v, what + " ca_file " + p.ca_file + " is not a readable file");
    }
    if (const auto v = n["follow_redirects"]) p.follow_redirects = f.boolean(v, what + " follow_redirects");
    if (const auto v = n["initial"]) {
        const std::string initial = f.scalar(v, what + " initial");
        if (initial == "up") p.initial_up = true;
        else if (initial == "down") p.initial_up = false;
        else f.fail(v, what + " initial must be up or down, got \"" + initial + "\"");
    }
    return p;
}

/// A mirror's `check_blobs` (README "Mirror health").
blob_check_config parse_check_blobs(const yaml_file& f, const YAML::Node& n, const std::string& what) {
    using std::chrono::milliseconds;
    blob_check_config c;
    if (n.IsScalar() && f.boolean(n, what)) return c;  // check_blobs: true = the defaults
    f.require_map(n, what, {"positive_ttl", "negative_ttl", "timeout", "max_entries"});
    if (const auto v = n["positive_ttl"])
        c.positive_ttl = f.duration(v, what + " positive_ttl", milliseconds(1'000), milliseconds(30LL * 24 * 3'600'000));
    if (const auto v = n["negative_ttl"])
        c.negative_ttl = f.duration(v, what + " negative_ttl", milliseconds(0), milliseconds(24LL * 3'600'000));
    if (const auto v = n["timeout"]) c.timeout = f.duration(v, what + " timeout", milliseconds(50), milliseconds(30'000));
    if (const auto v = n["max_entries"]) c.max_entries = f.integer(v, what + " max_entries", 16, 10'000'000);
    return c;
}

mirror_config parse_mirror(const yaml_file& f, const YAML::Node& n) {
    f.require_map(n, "a mirror", {"name", "regions", "weight", "ipv6", "ranges", "registry", "artifacts", "blobs",
                                  "probe", "check_blobs"});
    mirror_config m;
    m.line = n.Mark().line + 1;
    const auto name = n["name"];
    if (!name) f.fail(n, "mirror is missing \"name\"");
    m.name = f.scalar(name, "mirror name");
    if (!valid_provider_name(m.name))
        f.fail(name, "mirror name \"" + m.name + "\" must be 1-63 characters of A-Z a-z 0-9 - _ .");
    const std::string what = "mirror " + m.name;
    if (const auto v = n["regions"]) {
        m.any_region = false;
        for (const auto& item : f.list(v, what + " regions")) {
            std::string r = f.scalar(item, "a region of " + what);
            if (!is_valid_region_label(r))
                f.fail(item, "region \"" + r + "\" of " + what + " must be 1-63 characters of A-Z a-z 0-9 - _ .");
            if (std::find(m.regions.begin(), m.regions.end(), r) != m.regions.end())
                f.fail(item, what + " lists region \"" + r + "\" twice");
            m.regions.push_back(std::move(r));
        }
        if (m.regions.empty()) f.fail(v, what + ": regions must list at least one region (omit it to serve any region)");
    }
    if (const auto v = n["weight"]) m.weight = static_cast<std::uint32_t>(f.integer(v, what + " weight", 0, 1'000'000));
    if (const auto v = n["ipv6"]) m.ipv6 = f.boolean(v, what + " ipv6");
    if (const auto v = n["ranges"]) m.ranges = f.boolean(v, what + " ranges");
    const auto registry = n["registry"];
    if (!registry) f.fail(n, what + " is missing \"registry\" (a host or an https:// URL template)");
    m.registry = f.url(registry, what + " registry", template_mode::location);
    m.artifacts = n["artifacts"] ? f.url(n["artifacts"], what + " artifacts", template_mode::location) : m.registry;
    m.blobs = n["blobs"] ? f.url(n["blobs"], what + " blobs", template_mode::location) : m.registry;
    if (const auto v = n["probe"]) m.probe = parse_probe(f, v, what + " probe");
    if (const auto v = n["check_blobs"]) {
        if (!(v.IsScalar() && !f.boolean(v, what + " check_blobs"))) m.check_blobs = parse_check_blobs(f, v, what + " check_blobs");
    }
    return m;
}

}  // namespace

bool is_valid_redirect_host(const std::string& host) noexcept {
    std::string_view name = host;
    const auto colon = name.rfind(':');
    if (colon != std::string_view::npos) {
        const std::string_view port = name.substr(colon + 1);
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 ||
            value > 65535 || port[0] == '0')
            return false;
        name = name.substr(0, colon);
    }
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);  // absolute FQDN
    if (name.empty() || name.size() > 253) return false;
    std::size_t label = 0;
    char previous = '.';
    for (char c : name) {
        if (c == '.') {
            if (label == 0 || previous == '-') return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   (c == '-' && label > 0)) {
            if (++label > 63) return false;
        } else {
            return false;
        }
        previous = c;
    }
    return previous != '-';
}

endpoint_config parse_endpoint(const std::string& text) {
    std::string host;
    std::string port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
            throw std::invalid_argument("expected [IPV6]:PORT");
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        const auto a = parse_ip_address(host);
        if (!parse_ipv6_text(host)) throw std::invalid_argument("\"" + host + "\" is not an IPv6 address");
        (void)a;
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos || text.find(':') != colon)
            throw std::invalid_argument("expected IPV4:PORT or [IPV6]:PORT");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (!parse_ipv4_text(host)) throw std::invalid_argument("\"" + host + "\" is not an IPv4 address");
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
        throw std::invalid_argument("port must be a number from 0 to 65535");
    return {host, static_cast<std::uint16_t>(value)};
}

server_config load_server_config(const std::string& path) { return parse_server_config(path, yaml_file::read(path)); }

server_config parse_server_config(const std::string& path, const std::string& text) {
    const yaml_file f(path, text);
    const YAML::Node& root = f.root();
    server_config c;
    c.path = path;
    if (!root.IsDefined() || root.IsNull()) throw config_error(path, 0, "file is empty");
    f.require_map(root, "the main config",
                  {"listen", "admin_listen", "threads", "log_level", "providers_dir", "prefixes",
                   "default_provider", "trusted_proxies", "limits", "shutdown_delay", "shutdown_timeout",
                   "access_log", "access_log_ipv4_prefix_length", "access_log_ipv6_prefix_length",
                   "client_ip_headers", "trusted_hops", "proxy_protocol", "tls_listen", "tls", "cloud_ranges",
                   "routes", "explain_header", "mrt", "otel", "location_request_id", "admin_token_file"});

    auto endpoint = [&](const char* key, endpoint_config& out) {
        if (const auto n = root[key]) {
            try {
                out = parse_endpoint(f.scalar(n, key));
            } catch (const std::invalid_argument& e) {
                f.fail(n, std::string(key) + ": " + e.what());
            }
        }
    };
    if (const auto n = root["listen"]; n && n.IsScalar() && (n.Scalar() == "off" || n.Scalar() == "false"))
        c.listen_enabled = false;
    else
        endpoint("listen", c.listen);
    endpoint("admin_listen", c.admin_listen);
    parse_tls(f, c);
    if (const auto n = root["threads"]) c.threads = static_cast<unsigned>(f.integer(n, "threads", 0, 256));
    if (const auto n = root["log_level"]) {
        c.log_level = f.scalar(n, "log_level");
        static constexpr const char* levels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
        if (std::find(std::begin(levels), std::end(levels), c.log_level) == std::end(levels))
            f.fail(n, "log_level \"" + c.log_level + "\" is not one of trace, debug, info, warn, error, critical, off");
    }
    const auto dir = root["providers_dir"];
    if (!dir) f.fail(root, "missing key \"providers_dir\" (a folder of provider YAML files)");
    c.providers_dir = resolve(path, f.scalar(dir, "providers_dir"));
    const auto prefixes = root["prefixes"];
    if (!prefixes) f.fail(root, "missing key \"prefixes\" (a list of prefix->origin-ASN table files)");
    for (const auto& item : f.list(prefixes, "prefixes"))
        c.prefix_files.push_back(resolve(path, f.scalar(item, "each entry of prefixes")));
    if (const auto n = root["mrt"]) {
        f.require_map(n, "mrt", {"min_peers", "keep_long"});
        if (const auto v = n["min_peers"]) c.mrt.min_peers = static_cast<unsigned>(f.integer(v, "mrt.min_peers", 1, 10'000));
        if (const auto v = n["keep_long"]) {
            const std::string b = f.scalar(v, "mrt.keep_long");
            if (b == "true") c.mrt.keep_long = true;
            else if (b == "false") c.mrt.keep_long = false;
            else f.fail(v, "mrt.keep_long must be true or false, got \"" + b + "\"");
        }
    }
    if (const auto n = root["default_provider"]) {
        c.default_provider = f.scalar(n, "default_provider");
        if (c.default_provider.empty()) f.fail(n, "default_provider must name a provider");
    }
    if (const auto n = root["trusted_proxies"]) {
        for (const auto& item : f.list(n, "trusted_proxies")) {
            const ip_prefix p = parse_cidr_or_address(f, item, "trusted proxy");
            if (std::find(c.trusted_proxies.begin(), c.trusted_proxies.end(), p) == c.trusted_proxies.end())
                c.trusted_proxies.push_back(p);
        }
    }
    if (const auto n = root["client_ip_headers"]) {
        c.client_ip_headers.clear();
        for (const auto& item : f.list(n, "client_ip_headers")) {
            std::string name = f.scalar(item, "each entry of client_ip_headers");
            for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            client_ip_header h;
            if (name == "x-real-ip") h = client_ip_header::x_real_ip;
            else if (name == "x-forwarded-for") h = client_ip_header::x_forwarded_for;
            else if (name == "forwarded") h = client_ip_header::forwarded;
            else f.fail(item, "client_ip_headers entry \"" + name + "\" is not one of x-real-ip, x-forwarded-for, forwarded");
            if (std::find(c.client_ip_headers.begin(), c.client_ip_headers.end(), h) != c.client_ip_headers.end())
                f.fail(item, "client_ip_headers lists \"" + name + "\" twice");
            c.client_ip_headers.push_back(h);
        }
    }
    if (const auto n = root["otel"]) {
        f.require_map(n, "otel", {"endpoint", "service_name", "sampler", "sample_ratio", "resource_attributes"});
        if (const auto v = n["endpoint"]) {
            const std::string url = f.scalar(v, "otel.endpoint");
            try {
                parse_http_url(url);
            } catch (const std::invalid_argument& e) {
                f.fail(v, std::string("otel.endpoint ") + e.what());
            }
            c.otel.endpoint = url;
        }
        if (const auto v = n["service_name"]) {
            c.otel.service_name = f.scalar(v, "otel.service_name");
            if (c.otel.service_name->empty()) f.fail(v, "otel.service_name must not be empty");
        }
        if (const auto v = n["sampler"]) {
            const std::string name = f.scalar(v, "otel.sampler");
            c.otel.sampler = parse_sampler_kind(name);
            if (!c.otel.sampler)
                f.fail(v, "otel.sampler \"" + name + "\" is not one of always_on, always_off, traceidratio, "
                          "parentbased_always_on, parentbased_always_off, parentbased_traceidratio");
        }
        if (const auto v = n["sample_ratio"]) {
            const std::string ratio = f.scalar(v, "otel.sample_ratio");
            double r = -1;
            const auto [end, ec] = std::from_chars(ratio.data(), ratio.data() + ratio.size(), r);
            if (ec != std::errc() || end != ratio.data() + ratio.size() || !(r >= 0 && r <= 1))
                f.fail(v, "otel.sample_ratio must be a number from 0 to 1, got \"" + ratio + "\"");
            c.otel.sample_ratio = r;
        }
        if (const auto v = n["resource_attributes"]) {
            if (!v.IsMap()) f.fail(v, "otel.resource_attributes must be a mapping of key -> string");
            for (const auto& kv : v) {
                const std::string key = f.scalar(kv.first, "a key of otel.resource_attributes");
                if (key.empty()) f.fail(kv.first, "otel.resource_attributes keys must not be empty");
                c.otel.resource_attributes.emplace_back(key, f.scalar(kv.second, "otel.resource_attributes." + key));
            }
        }
    }
    if (const auto n = root["location_request_id"]) c.location_request_id = f.boolean(n, "location_request_id");
    if (const auto n = root["trusted_hops"]) c.trusted_hops = static_cast<unsigned>(f.integer(n, "trusted_hops", 1, 16));
    if (const auto n = root["proxy_protocol"]) {
        const std::string v = f.scalar(n, "proxy_protocol");
        if (v == "off" || v == "false") c.proxy_protocol = proxy_protocol_mode::off;
        else if (v == "optional") c.proxy_protocol = proxy_protocol_mode::optional;
        else if (v == "required") c.proxy_protocol = proxy_protocol_mode::required;
        else f.fail(n, "proxy_protocol \"" + v + "\" is not one of off, optional, required");
    }
    if (const auto n = root["limits"]) {
        f.require_map(n, "limits",
                      {"max_connections", "header_timeout", "idle_timeout", "write_timeout",
                       "max_requests_per_connection", "max_header_bytes", "max_header_fields"});
        using std::chrono::milliseconds;
        auto& l = c.limits;
        if (const auto v = n["max_connections"]) l.max_connections = f.integer(v, "max_connections", 1, 1'000'000);
        if (const auto v = n["header_timeout"])
            l.header_timeout = f.duration(v, "header_timeout", milliseconds(100), milliseconds(600'000));
        if (const auto v = n["idle_timeout"])
            l.idle_timeout = f.duration(v, "idle_timeout", milliseconds(100), milliseconds(3'600'000));
        if (const auto v = n["write_timeout"])
            l.write_timeout = f.duration(v, "write_timeout", milliseconds(100), milliseconds(600'000));
        if (const auto v = n["max_requests_per_connection"])
            l.max_requests_per_connection = f.integer(v, "max_requests_per_connection", 0, 1'000'000'000);
        if (const auto v = n["max_header_bytes"])
            l.max_header_bytes = f.integer(v, "max_header_bytes", 1024, 65'536);
        if (const auto v = n["max_header_fields"]) l.max_header_fields = f.integer(v, "max_header_fields", 8, 1000);
    }
    if (const auto n = root["shutdown_delay"])
        c.shutdown_delay = f.duration(n, "shutdown_delay", std::chrono::milliseconds(0), std::chrono::milliseconds(600'000));
    if (const auto n = root["shutdown_timeout"])
        c.shutdown_timeout =
            f.duration(n, "shutdown_timeout", std::chrono::milliseconds(0), std::chrono::milliseconds(3'600'000));
    if (const auto n = root["access_log"]) {
        const std::string v = f.scalar(n, "access_log");
        if (v == "off" || v == "false") c.access_log = access_log_format::off;
        else if (v == "json") c.access_log = access_log_format::json;
        else if (v == "text") c.access_log = access_log_format::text;
        else f.fail(n, "access_log \"" + v + "\" is not one of off, json, text");
    }
    if (const auto n = root["access_log_ipv4_prefix_length"])
        c.access_log_ipv4_prefix = static_cast<std::uint8_t>(f.integer(n, "access_log_ipv4_prefix_length", 0, 32));
    if (const auto n = root["access_log_ipv6_prefix_length"])
        c.access_log_ipv6_prefix = static_cast<std::uint8_t>(f.integer(n, "access_log_ipv6_prefix_length", 0, 128));
    if (const auto n = root["cloud_ranges"]) {
        for (const auto& item : f.list(n, "cloud_ranges")) {
            f.require_map(item, "a cloud_ranges entry", {"provider", "format", "file"});
            cloud_range_source src;
            src.line = item.Mark().line + 1;
            for (const char* key : {"provider", "format", "file"})
                if (!item[key]) f.fail(item, std::string("cloud_ranges entry is missing \"") + key + "\"");
            src.provider = f.scalar(item["provider"], "cloud_ranges provider");
            const std::string format = f.scalar(item["format"], "cloud_ranges format");
            if (format == "aws") src.format = cloud_format::aws;
            else if (format == "gcp") src.format = cloud_format::gcp;
            else if (format == "azure") src.format = cloud_format::azure;
            else f.fail(item["format"], "cloud_ranges format \"" + format + "\" is not one of aws, gcp, azure");
            src.file = resolve(path, f.scalar(item["file"], "cloud_ranges file"));
            c.cloud_ranges.push_back(std::move(src));
        }
    }
    if (const auto n = root["routes"]) c.routes = parse_routes(f, n);
    if (const auto n = root["explain_header"]) c.explain_header = f.boolean(n, "explain_header");
    if (const auto n = root["admin_token_file"]) {
        const std::string file = f.scalar(n, "admin_token_file");
        if (file.empty()) f.fail(n, "admin_token_file must name a file holding the token");
        c.admin_token_file = resolve(f.path(), file);
    }
    return c;
}

provider_config load_provider_file(const std::string& path) { return parse_provider(path, yaml_file::read(path)); }

provider_config parse_provider(const std::string& path, const std::string& text) {
    const yaml_file f(path, text);
    const YAML::Node& root = f.root();
    if (!root.IsDefined() || root.IsNull()) throw config_error(path, 0, "file is empty");
    f.require_map(root, "a provider file", {"name", "redirectsTo", "asns", "cidrs", "mirrors", "active", "oncall"});
    provider_config p;
    p.file = path;
    const auto name = root["name"];
    if (!name) f.fail(root, "missing key \"name\"");
    p.name = f.scalar(name, "name");
    if (!valid_provider_name(p.name))
        f.fail(name, "name \"" + p.name + "\" must be 1-63 characters of A-Z a-z 0-9 - _ .");
    if (const auto n = root["redirectsTo"]) {
        f.require_map(n, "redirectsTo", {"registry", "artifacts"});
        redirect_target t;
        for (auto [key, out] : {std::pair{"registry", &t.registry}, std::pair{"artifacts", &t.artifacts}}) {
            const auto v = n[key];
            if (!v) f.fail(n, std::string("redirectsTo is missing \"") + key + "\"");
            *out = f.scalar(v, std::string("redirectsTo.") + key);
            if (!is_valid_redirect_host(*out))
                f.fail(v, std::string("redirectsTo.") + key + " \"" + *out +
                              "\" is not a DNS host name (letters, digits, '-', dots; optional :PORT)");
        }
        p.redirects_to = std::move(t);
    }
    if (const auto n = root["asns"]) {
        for (const auto& item : f.list(n, "asns")) {
            const auto asn = static_cast<std::uint32_t>(f.integer(item, "ASN", 1, 4'294'967'294));
            if (std::find(p.asns.begin(), p.asns.end(), asn) != p.asns.end()) {
                p.warnings.push_back(path + ":" + std::to_string(item.Mark().line + 1) + ": ASN " +
                                     std::to_string(asn) + " is listed more than once");
                continue;
            }
            p.asns.push_back(asn);
        }
    }
    if (const auto n = root["cidrs"]) {
        for (const auto& item : f.list(n, "cidrs")) {
            const auto r = parse_ip_prefix(f.scalar(item, "cidr"));
            if (!r.ok()) f.fail(item, "cidr \"" + item.Scalar() + "\": " + r.error);
            if (std::find(p.cidrs.begin(), p.cidrs.end(), r.prefix) != p.cidrs.end()) {
                p.warnings.push_back(path + ":" + std::to_string(item.Mark().line + 1) + ": cidr " +
                                     item.Scalar() + " is listed more than once");
                continue;
            }
            p.cidrs.push_back(r.prefix);
        }
    }
    if (const auto n = root["mirrors"]) {
        for (const auto& item : f.list(n, "mirrors")) {
            mirror_config m = parse_mirror(f, item);
            for (const auto& other : p.mirrors)
                if (other.name == m.name) f.fail(item["name"], "mirror name \"" + m.name + "\" is used twice in this file");
            for (const auto* t : {&m.registry, &m.artifacts, &m.blobs})
                if (t->insecure)
                    p.warnings.push_back(path + ":" + std::to_string(m.line) + ": mirror " + m.name + " uses http:// (" +
                                         t->text + "): clients may refuse an insecure redirect");
            p.mirrors.push_back(std::move(m));
        }
        if (p.mirrors.empty()) f.fail(n, "mirrors must list at least one mirror (omit it to use redirectsTo)");
        if (p.redirects_to)
            p.warnings.push_back(path + ": redirectsTo is ignored because mirrors is present");
    }
    if (const auto n = root["active"]) p.active = f.boolean(n, "active");
    if (const auto n = root["oncall"]) {
        p.oncall = f.strings(n, "oncall");
        for (const auto& s : p.oncall)
            if (s.empty() || s.size() > 256 || std::any_of(s.begin(), s.end(), [](char ch) {
                    return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f;
                }))
                f.fail(n, "oncall entries must be 1-256 characters without control characters");
    }
    std::sort(p.asns.begin(), p.asns.end());
    if (p.asns.empty() && p.cidrs.empty()) p.warnings.push_back(path + ": provider lists no asns and no cidrs");
    const std::string stem = fs::path(path).stem().string();
    if (stem != p.name)
        p.warnings.push_back(path + ": name \"" + p.name + "\" differs from the file name \"" + stem + "\"");
    return p;
}

const char* to_label(path_class c) noexcept {
    switch (c) {
        case path_class::ping: return "ping";
        case path_class::blob: return "blob";
        case path_class::manifest: return "manifest";
        case path_class::other_v2: return "other_v2";
        case path_class::root: return "root";
        case path_class::artifact: return "artifact";
    }
    return "?";
}

const char* to_label(class_action_kind a) noexcept {
    switch (a) {
        case class_action_kind::mirror: return "mirror";
        case class_action_kind::upstream: return "upstream";
        case class_action_kind::ok: return "ok";
        case class_action_kind::not_found: return "not_found";
        case class_action_kind::fixed: return "fixed";
    }
    return "?";
}

std::vector<provider_config> load_providers(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw config_error(dir, 0, "providers_dir is not a readable folder");
    std::vector<std::string> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string file = it->path().filename().string();
        const std::string ext = it->path().extension().string();
        // Kubernetes ConfigMap volumes hold ..data and ..<timestamp> entries:
        // hidden names are never provider files.
        if (file.empty() || file[0] == '.' || (ext != ".yaml" && ext != ".yml")) continue;
        std::error_code type_ec;
        if (!fs::is_regular_file(it->path(), type_ec)) continue;
        files.push_back(it->path().string());
    }
    if (ec) throw config_error(dir, 0, "cannot list folder: " + ec.message());
    if (files.empty()) throw config_error(dir, 0, "providers_dir holds no *.yaml or *.yml provider files");
    std::sort(files.begin(), files.end(), [](const std::string& a, const std::string& b) {
        return fs::path(a).filename() < fs::path(b).filename();
    });
    std::vector<provider_config> providers;
    for (const auto& file : files) {
        provider_config p = load_provider_file(file);
        for (const auto& other : providers) {
            if (other.name == p.name)
                throw config_error(file, 0, "provider name \"" + p.name + "\" is already used by " + other.file);
            for (const auto& m : p.mirrors)
                for (const auto& o : other.mirrors)
                    if (o.name == m.name)
                        throw config_error(file, m.line, "mirror name \"" + m.name + "\" is already used by " +
                                                             other.file + ":" + std::to_string(o.line) +
                                                             " (mirror names are unique across providers)");
        }
        providers.push_back(std::move(p));
    }
    return providers;
}

}  // namespace registry_redirector
