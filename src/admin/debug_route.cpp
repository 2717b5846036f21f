#include "registry_redirector/admin/debug_route.hpp"

#include <boost/json.hpp>

#include "registry_redirector/routing/decision_explainer.hpp"

namespace registry_redirector {

namespace json = boost::json;

namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// application/x-www-form-urlencoded value: %XX and '+' for a blank.
std::string decode(std::string_view v) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '%' && i + 2 < v.size() && hex_value(v[i + 1]) >= 0 &&
            hex_value(v[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(v[i + 1]) * 16 + hex_value(v[i + 2]));
            i += 2;
        } else {
            out += v[i] == '+' ? ' ' : v[i];
        }
    }
    return out;
}

debug_route_answer error(unsigned status, const std::string& message) {
    json::object o;
    o["error"] = message;
    return {status, json::serialize(o) + "\n"};
}

}  // namespace

debug_route_answer debug_route(const serving_snapshot* snapshot, std::string_view query) {
    std::string ip, path = "/v2/";
    bool range = false;
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const std::size_t eq = pair.find('=');
        const std::string_view key = pair.substr(0, eq);
        const std::string value = eq == std::string_view::npos ? std::string() : decode(pair.substr(eq + 1));
        if (key == "ip") ip = value;
        else if (key == "path") path = value;
        else if (key == "range") range = value != "0" && value != "false";
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    const auto address = parse_ip_address(ip);
    if (!address) return error(400, "ip=\"" + ip.substr(0, 64) + "\" is not an IPv4 or IPv6 address");
    if (path.empty() || path[0] != '/' || path.size() > 8192)
        return error(400, "path must start with '/' (at most 8 KiB)");
    for (char c : path)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            return error(400, "path holds a blank or control character");
    if (snapshot == nullptr) return error(503, "routing table not loaded yet");

    const routing_table& table = snapshot->routes;
    const decision_explanation e = explain_decision(table, path, *address, range);
    const route_decision& d = e.decision;
    json::object o;
    o["ip"] = to_string(*address);
    o["path"] = path;
    o["range"] = range;
    o["generation"] = snapshot->generation;
    o["provider"] = e.provider;
    o["region"] = e.region.empty() ? json::value(nullptr) : json::value(e.region);
    o["oci_mode"] = d.oci;
    o["class"] = to_label(d.klass);
    o["action"] = to_label(d.action);
    json::array candidates;
    for (const auto& c : e.candidates) {
        const routing_mirror& m = table.mirrors()[c.mirror];
        json::object j;
        j["mirror"] = m.name;
        j["provider"] = table.providers()[m.provider].name;
        j["weight"] = m.weight;
        j["verdict"] = c.verdict;
        candidates.push_back(std::move(j));
    }
    o["candidates"] = std::move(candidates);
    o["mirror"] = d.mirror == no_mirror ? json::value(nullptr) : json::value(table.mirrors()[d.mirror].name);
    o["tier"] = d.tier;
    const routing_provider& serving = table.providers()[d.provider];
    json::array oncall;
    for (const auto& c : serving.oncall) oncall.push_back(json::value(c));
    o["oncall"] = std::move(oncall);
    unsigned status = 0;
    switch (d.what) {
        case decision_kind::redirect: status = d.status; break;
        case decision_kind::ok: status = 200; break;
        case decision_kind::not_found: status = 404; break;
        case decision_kind::bad_request: status = 400; break;
        case decision_kind::no_mirror: status = 503; break;
    }
    o["status"] = status;
    o["location"] = e.location.empty() ? json::value(nullptr) : json::value(e.location);
    if (!d.cache_control.empty()) o["cache_control"] = std::string(d.cache_control);
    return {200, json::serialize(o) + "\n"};
}

}  // namespace registry_redirector
