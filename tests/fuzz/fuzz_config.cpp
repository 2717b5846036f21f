// libFuzzer target: the main config and a provider file, as YAML text.
//
// parse_server_config and parse_provider may only throw config_error: a
// yaml-cpp exception (or any other) escaping them is a finding, and so is a
// crash or a hang in yaml-cpp itself. What they accept must be valid by the
// README's rules; an accepted provider must build a routing table.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "registry_redirector/config/config.hpp"
#include "registry_redirector/data/config_error.hpp"
#include "registry_redirector/routing/routing_table.hpp"
#include "fuzz_check.hpp"

using namespace registry_redirector;


namespace {

bool valid_name(const std::string& name) {
    if (name.empty() || name.size() > 63) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '.';
    });
}

void check_prefix(const ip_prefix& p) {
    CHECK(p.length <= p.max_length());
    if (p.family == ip_family::v4)
        CHECK((p.v4 & ~v4_mask(p.length)) == 0);
    else
        CHECK((p.v6 & ~v6_mask(p.length)) == 0);
}

void check_server(const server_config& c) {
    CHECK(c.path == "fuzz/r.yaml");
    CHECK(parse_ip_address(c.listen.host).has_value());
    CHECK(parse_ip_address(c.admin_listen.host).has_value());
    CHECK(c.threads <= 256);
    CHECK(!c.default_provider.empty());
    CHECK(!c.providers_dir.empty());
    for (const auto& p : c.trusted_proxies) check_prefix(p);
    for (std::size_t i = 0; i < c.trusted_proxies.size(); ++i)
        for (std::size_t j = i + 1; j < c.trusted_proxies.size(); ++j) CHECK(!(c.trusted_proxies[i] == c.trusted_proxies[j]));
    CHECK(c.limits.max_connections >= 1 && c.limits.max_connections <= 1'000'000);
    CHECK(c.limits.max_header_bytes >= 1024 && c.limits.max_header_bytes <= 65'536);
    CHECK(c.limits.header_timeout.count() >= 100 && c.limits.header_timeout.count() <= 600'000);
    CHECK(c.limits.idle_timeout.count() >= 100 && c.limits.idle_timeout.count() <= 3'600'000);
    CHECK(c.limits.write_timeout.count() >= 100 && c.limits.write_timeout.count() <= 600'000);
    CHECK(c.shutdown_delay.count() >= 0 && c.shutdown_delay.count() <= 600'000);
    CHECK(c.shutdown_timeout.count() >= 0 && c.shutdown_timeout.count() <= 3'600'000);
    CHECK(c.access_log_ipv4_prefix <= 32 && c.access_log_ipv6_prefix <= 128);
}

void check_provider(const provider_config& p) {
    CHECK(p.file == "fuzz/p.yaml");
    CHECK(valid_name(p.name));
    if (p.redirects_to) {
        CHECK(is_valid_redirect_host(p.redirects_to->registry));
        CHECK(is_valid_redirect_host(p.redirects_to->artifacts));
        // Hosts are pasted into Location: nothing but host characters.
        for (const std::string* h : {&p.redirects_to->registry, &p.redirects_to->artifacts})
            for (char c : *h)
                CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == ':');
    }
    CHECK(std::is_sorted(p.asns.begin(), p.asns.end()));
    CHECK(std::adjacent_find(p.asns.begin(), p.asns.end()) == p.asns.end());
    for (auto asn : p.asns) CHECK(asn >= 1 && asn <= 4'294'967'294u);
    for (const auto& c : p.cidrs) check_prefix(c);
    // Mirrors: what the probes and the blob checks will run with stays in
    // the README's ranges.
    for (const auto& m : p.mirrors) {
        CHECK(valid_name(m.name));
        if (m.probe) {
            CHECK(m.probe->url.starts_with("http://") || m.probe->url.starts_with("https://"));
            CHECK(m.probe->fall >= 1 && m.probe->fall <= 100 && m.probe->rise >= 1 && m.probe->rise <= 100);
            CHECK(m.probe->timeout <= m.probe->interval);
            CHECK(!m.probe->expect.empty());
        }
        if (m.check_blobs) {
            CHECK(m.check_blobs->positive_ttl >= std::chrono::seconds(1));
            CHECK(m.check_blobs->timeout >= std::chrono::milliseconds(50));
            CHECK(m.check_blobs->max_entries >= 16);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        check_server(parse_server_config("fuzz/r.yaml", text));
    } catch (const config_error& e) {
        CHECK(e.file() == "fuzz/r.yaml");
    }
    try {
        const provider_config p = parse_provider("fuzz/p.yaml", text);
        check_provider(p);
        // It must be usable as it is: as the default provider, or beside one.
        provider_config fallback;
        fallback.name = "zz-default";
        fallback.file = "fuzz/zz-default.yaml";
        fallback.redirects_to = redirect_target{"registry.example", "artifacts.example"};
        fallback.asns = {15169};
        origin_table o;
        o.v4.push_back({0xCB007100u, 24, p.asns.empty() ? 1u : p.asns.front()});
        const routing_table t = build_routing_table({p, fallback}, "zz-default", o);
        CHECK(t.redirect_for(ip_address::from_v4(0xCB007101u)) < 2);
    } catch (const config_error& e) {
        CHECK(e.file() == "fuzz/p.yaml");
    }
    // Helpers that see the same untrusted strings.
    (void)is_valid_redirect_host(text);
    try {
        (void)parse_endpoint(text);
    } catch (const std::invalid_argument&) {
    }
    return 0;
}
