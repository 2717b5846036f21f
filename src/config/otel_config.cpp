#include "registry_redirector/config/otel_config.hpp"

#include <charconv>
#include <stdexcept>

namespace registry_redirector {

namespace {

constexpr std::pair<const char*, sampler_kind> sampler_names[] = {
    {"always_on", sampler_kind::always_on},
    {"always_off", sampler_kind::always_off},
    {"traceidratio", sampler_kind::traceidratio},
    {"parentbased_always_on", sampler_kind::parentbased_always_on},
    {"parentbased_always_off", sampler_kind::parentbased_always_off},
    {"parentbased_traceidratio", sampler_kind::parentbased_traceidratio},
};

std::string trim(std::string s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

/// %XX decoding (W3C Baggage octets, which OTEL_RESOURCE_ATTRIBUTES uses).
std::optional<std::string> percent_decode(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        unsigned v = 0;
        if (i + 2 >= s.size()) return std::nullopt;
        const auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
        if (ec != std::errc() || end != s.data() + i + 3) return std::nullopt;
        out += static_cast<char>(v);
        i += 2;
    }
    return out;
}

void set_attribute(attribute_list& list, const std::string& key, const std::string& value) {
    for (auto& kv : list)
        if (kv.first == key) {
            kv.second = value;
            return;
        }
    list.emplace_back(key, value);
}

}  // namespace

std::optional<sampler_kind> parse_sampler_kind(const std::string& name) noexcept {
    for (const auto& [text, kind] : sampler_names)
        if (name == text) return kind;
    return std::nullopt;
}

const char* to_label(sampler_kind kind) noexcept {
    for (const auto& [text, k] : sampler_names)
        if (k == kind) return text;
    return "unknown";
}

http_url parse_http_url(const std::string& url) {
    constexpr std::string_view scheme = "http://";
    if (url.rfind("https://", 0) == 0)
        throw std::invalid_argument("\"" + url + "\": https is not supported; point it at a collector over http://");
    if (url.rfind(scheme, 0) != 0) throw std::invalid_argument("\"" + url + "\" must start with http://");
    const std::string rest = url.substr(scheme.size());
    const std::size_t slash = rest.find('/');
    const std::string authority = rest.substr(0, slash);
    http_url u;
    u.path = slash == std::string::npos ? "/" : rest.substr(slash);
    std::string port;
    if (!authority.empty() && authority[0] == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string::npos) throw std::invalid_argument("\"" + url + "\": unclosed [ in the host");
        u.host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') throw std::invalid_argument("\"" + url + "\": bad port");
            port = authority.substr(close + 2);
        }
    } else {
        const std::size_t colon = authority.find(':');
        u.host = authority.substr(0, colon);
        if (colon != std::string::npos) port = authority.substr(colon + 1);
    }
    if (u.host.empty()) throw std::invalid_argument("\"" + url + "\" has no host");
    for (char c : u.host + u.path)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            throw std::invalid_argument("\"" + url + "\" holds a blank or control character");
    if (u.path.find('?') != std::string::npos || u.path.find('#') != std::string::npos)
        throw std::invalid_argument("\"" + url + "\" must not have a query or fragment");
    if (!port.empty()) {
        unsigned p = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535)
            throw std::invalid_argument("\"" + url + "\": port must be 1-65535");
        u.port = static_cast<std::uint16_t>(p);
    }
    return u;
}

otel_settings resolve_otel(const otel_file_config& file, const std::function<const char*(const char*)>& getenv,
                           std::vector<std::string>& warnings) {
    auto env = [&](const char* name) -> std::optional<std::string> {
        const char* v = getenv(name);
        if (v == nullptr) return std::nullopt;
        std::string s = trim(v);
        if (s.empty()) return std::nullopt;  // the spec: empty means unset
        return s;
    };
    otel_settings s;

    // Endpoint: the file's base URL, else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    // (used as is), else OTEL_EXPORTER_OTLP_ENDPOINT (a base URL).
    auto base_plus_traces = [](std::string base) {
        if (base.empty() || base.back() != '/') base += '/';
        return base + "v1/traces";
    };
    std::optional<std::string> url;
    std::string from;
    if (file.endpoint) {
        url = base_plus_traces(*file.endpoint);
        from = "otel.endpoint";
    } else if (auto t = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
        url = *t;
        from = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
    } else if (auto b = env("OTEL_EXPORTER_OTLP_ENDPOINT")) {
        url = base_plus_traces(*b);
        from = "OTEL_EXPORTER_OTLP_ENDPOINT";
    }
    if (url) {
        try {
            s.traces_url = parse_http_url(*url);
            s.traces_url_text = *url;
            s.enabled = true;
        } catch (const std::invalid_argument& e) {
            if (file.endpoint) throw std::invalid_argument(std::string("otel.endpoint ") + e.what());
            warnings.push_back(from + " " + e.what() + ": tracing stays off");
        }
    }
    if (auto d = env("OTEL_SDK_DISABLED"); d && (*d == "true" || *d == "TRUE" || *d == "True")) s.enabled = false;

    if (file.service_name) s.service_name = *file.service_name;
    else if (auto n = env("OTEL_SERVICE_NAME")) s.service_name = *n;

    std::optional<sampler_kind> env_sampler;
    if (auto n = env("OTEL_TRACES_SAMPLER")) {
        env_sampler = parse_sampler_kind(*n);
        if (!env_sampler) warnings.push_back("OTEL_TRACES_SAMPLER \"" + *n + "\" is not supported: using the default");
    }
    if (file.sampler) s.sampler = *file.sampler;
    else if (env_sampler) s.sampler = *env_sampler;

    if (file.sample_ratio) {
        s.sample_ratio = *file.sample_ratio;
    } else if (auto a = env("OTEL_TRACES_SAMPLER_ARG")) {
        double r = -1;
        const auto [end, ec] = std::from_chars(a->data(), a->data() + a->size(), r);
        if (ec != std::errc() || end != a->data() + a->size() || !(r >= 0 && r <= 1))
            warnings.push_back("OTEL_TRACES_SAMPLER_ARG \"" + *a + "\" is not a ratio from 0 to 1: ignored");
        else
            s.sample_ratio = r;
    } else if (!file.sampler && env_sampler) {
        s.sample_ratio = 1;  // the spec's default ratio for a sampler chosen by the environment
    }

    // Resource: service.name from the settings, then the environment's
    // attributes, then the file's (which win key by key).
    attribute_list attributes;
    if (auto r = env("OTEL_RESOURCE_ATTRIBUTES")) {
        std::string rest = *r;
        while (!rest.empty()) {
            const std::size_t comma = rest.find(',');
            const std::string item = trim(rest.substr(0, comma));
            rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
            if (item.empty()) continue;
            const std::size_t eq = item.find('=');
            std::optional<std::string> key, value;
            if (eq != std::string::npos) {
                key = percent_decode(trim(item.substr(0, eq)));
                value = percent_decode(trim(item.substr(eq + 1)));
            }
            if (!key || !value || key->empty()) {
                // The spec: on a malformed list, discard all of it.
                warnings.push_back("OTEL_RESOURCE_ATTRIBUTES has a malformed entry \"" + item + "\": ignored entirely");
                attributes.clear();
                break;
            }
            set_attribute(attributes, *key, *value);
        }
    }
    // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES
    // (the spec); the file's service_name wins over both.
    if (!file.service_name && !env("OTEL_SERVICE_NAME"))
        for (const auto& kv : attributes)
            if (kv.first == "service.name") s.service_name = kv.second;
    for (const auto& kv : file.resource_attributes) {
        if (kv.first == "service.name" && !file.service_name) s.service_name = kv.second;
        set_attribute(attributes, kv.first, kv.second);
    }
    s.resource_attributes.emplace_back("service.name", s.service_name);
    for (const auto& kv : attributes)
        if (kv.first != "service.name") s.resource_attributes.push_back(kv);
    return s;
}

}  // namespace registry_redirector
