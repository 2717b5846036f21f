#include "registry_redirector/admin/mirror_endpoints.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <ctime>

#include "registry_redirector/data/sha256.hpp"

namespace registry_redirector {

namespace json = boost::json;

namespace {

std::string iso8601(std::chrono::system_clock::time_point t) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

admin_reply json_reply(unsigned status, const json::value& body) {
    admin_reply r;
    r.status = status;
    r.body = json::serialize(body) + "\n";
    return r;
}

admin_reply error_reply(unsigned status, std::string message) {
    return json_reply(status, json::object{{"error", std::move(message)}});
}

json::value mirrors_document(const mirror_endpoint_sources& sources) {
    const auto described = sources.describe ? sources.describe() : std::vector<mirror_description>{};
    const auto health = sources.prober->statuses();
    json::array out;
    for (const auto& d : described) {
        json::object m;
        m["name"] = d.name;
        m["provider"] = d.provider;
        json::array regions;
        for (const auto& r : d.regions) regions.emplace_back(r);
        m["regions"] = std::move(regions);
        m["weight"] = d.weight;
        m["requests"] = d.requests;
        for (const auto& h : health) {
            if (h.name != d.name) continue;
            m["state"] = h.drained ? "drained" : h.up ? "up" : "down";
            m["probed"] = h.probed;
            m["reason"] = h.drained ? "drained by an operator" : h.reason;
            if (h.probed) {
                m["since"] = iso8601(h.since);
                m["last_probe_status"] = h.last_status;
                m["last_probe_result"] = h.last_result;
                m["last_probe_latency_seconds"] = h.last_latency_seconds;
                m["consecutive_passes"] = h.consecutive_passes;
                m["consecutive_failures"] = h.consecutive_failures;
                m["probes"] = h.probes;
            }
            break;
        }
        out.emplace_back(std::move(m));
    }
    return json::object{{"mirrors", std::move(out)}};
}

}  // namespace

bool bearer_token_matches(std::string_view authorization, std::string_view expected) {
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.size() <= scheme.size() || expected.empty()) return false;
    for (std::size_t i = 0; i < scheme.size(); ++i)  // the scheme is case-insensitive (RFC 9110 11.1)
        if (std::tolower(static_cast<unsigned char>(authorization[i])) != std::tolower(static_cast<unsigned char>(scheme[i])))
            return false;
    sha256 presented;
    presented.update(authorization.substr(scheme.size()));
    sha256 wanted;
    wanted.update(expected);
    const std::string a = presented.hex_digest();
    const std::string b = wanted.hex_digest();
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::function<std::optional<admin_reply>(const admin_request&)> mirror_routes(mirror_endpoint_sources sources) {
    return [sources = std::move(sources)](const admin_request& req) -> std::optional<admin_reply> {
        constexpr std::string_view root = "/mirrors";
        if (!req.path.starts_with(root)) return std::nullopt;
        const std::string_view rest = req.path.substr(root.size());
        if (rest.empty() || rest == "/") {
            if (req.method != "GET" && req.method != "HEAD") {
                auto r = error_reply(405, "GET or HEAD");
                r.headers.emplace_back("Allow", "GET, HEAD");
                return r;
            }
            return json_reply(200, mirrors_document(sources));
        }
        // /mirrors/NAME/drain or /mirrors/NAME/undrain
        const std::size_t slash = rest.rfind('/');
        if (rest.front() != '/' || slash == 0) return error_reply(404, "unknown endpoint: try GET /mirrors");
        const std::string_view name = rest.substr(1, slash - 1);
        const std::string_view action = rest.substr(slash + 1);
        if (action != "drain" && action != "undrain") return error_reply(404, "unknown endpoint: try GET /mirrors");
        if (req.method != "POST") {
            auto r = error_reply(405, "POST /mirrors/NAME/" + std::string(action));
            r.headers.emplace_back("Allow", "POST");
            return r;
        }
        const auto token = sources.admin_token ? sources.admin_token() : std::nullopt;
        if (!token) {
            spdlog::warn("admin: {} /mirrors/{}/{} from {} refused: no admin_token_file is configured", req.method,
                         name, action, req.caller);
            return error_reply(403, "drain and undrain are disabled: set admin_token_file");
        }
        if (req.authorization.empty()) {
            auto r = error_reply(401, "credentials required: Authorization: Bearer <admin token>");
            r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"registry-redirector admin\"");
            return r;
        }
        if (!bearer_token_matches(req.authorization, *token)) {
            spdlog::warn("admin: {} /mirrors/{}/{} from {} refused: wrong token", req.method, name, action, req.caller);
            return error_reply(403, "wrong token");
        }
        const bool drain = action == "drain";
        if (!sources.prober->set_drained(name, drain)) return error_reply(404, "no mirror named " + std::string(name));
        spdlog::warn("admin: mirror {} {} by {} (runtime override: the files stay the source of truth, a restart "
                     "forgets it)",
                     name, drain ? "drained" : "undrained", req.caller);
        return json_reply(200, json::object{{"mirror", std::string(name)}, {"state", drain ? "drained" : "undrained"}});
    };
}

}  // namespace registry_redirector
