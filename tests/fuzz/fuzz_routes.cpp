// URL templates and the OCI path classifier, and the decision over a small
// OCI-mode table: nothing may escape but std::invalid_argument from the
// template parser, and no rendered Location may hold a byte that could end
// the header line.
//
// Input: 1 control byte (bit 0: template mode; bit 1: fixed vs location;
// bit 2: Range header; bit 3: IPv6 client), then the text: a template in
// template mode, else a request-target.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "registry_redirector/routing/route_decision.hpp"

using namespace registry_redirector;

namespace {

bool line_safe(std::string_view s) {
    for (char c : s) {
        const auto b = static_cast<unsigned char>(c);
        if (b <= 0x20 || b == 0x7f) return false;
    }
    return true;
}

bool within(std::string_view part, std::string_view whole) {
    return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

const routing_table& table() {
    static const routing_table t = [] {
        const server_config config = parse_server_config("main.yaml", R"(providers_dir: p
prefixes: [t]
routes:
  status: 307
  upstream: https://up.example/v2/proj/images{v2_path}
  classes: {ping: ok, manifest: upstream, root: "https://project.example/", artifact: not_found}
  fixed: {"/privacy": "https://policy.example/", "/v2/_catalog": not_found}
  cache_control: {blob: "public, max-age=3600"}
)");
        std::vector<provider_config> providers{
            parse_provider("amazon.yaml", R"(name: amazon
asns: [64501]
mirrors:
  - {name: s3, regions: [r1], ranges: false, ipv6: false, blobs: "https://s3-{region}.example/{repository}/{digest}", registry: r.example}
  - {name: cdn, registry: "https://cdn.example/base/", weight: 0}
  - {name: cdn2, registry: "https://cdn2.example/x{target}"}
)"),
            parse_provider("google.yaml", "name: google\nasns: [64500]\nredirectsTo: {registry: reg.example, artifacts: art.example}\n")};
        origin_table origins;
        origins.v4.push_back({0x0a000000u, 8, 64501});
        routing_options options;
        labelled_source src;
        src.source.provider = "amazon";
        src.ranges = parse_cloud_ranges("aws.json",
                                        R"({"prefixes":[{"ip_prefix":"10.1.0.0/16","region":"r1"}],
                                            "ipv6_prefixes":[{"ipv6_prefix":"2001:db8::/32","region":"r1"}]})",
                                        cloud_format::aws);
        options.clouds.push_back(src);
        options.routes = config.routes;
        return build_routing_table(providers, "google", origins, options);
    }();
    return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint8_t control = data[0];
    const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);

    if (control & 1) {
        try {
            const url_template t =
                parse_url_template(text, (control & 2) ? template_mode::fixed : template_mode::location);
            // Rendered with line-safe values, the result is line-safe too.
            const std::string out = render_url(t, {"/v2/a/blobs/sha256:ab?q=1", "/a/blobs/sha256:ab?q=1", "a",
                                                   "sha256:ab", "eu-west-1"});
            CHECK(line_safe(out));
            CHECK(out.rfind("https://", 0) == 0 || out.rfind("http://", 0) == 0);
            CHECK(!t.parts.empty());
        } catch (const std::invalid_argument&) {
        }
        return 0;
    }

    const std::string_view target = text;
    const path_info info = classify_path(target);
    CHECK(within(info.path, target) && within(info.v2_path, target) && within(info.repository, target) &&
          within(info.digest, target) && within(info.reference, target));
    if (info.klass == path_class::blob) CHECK(is_oci_digest(info.digest) && is_oci_repository_name(info.repository));
    if (info.klass == path_class::manifest) CHECK(is_oci_repository_name(info.repository));
    if (info.bad) CHECK(info.klass == path_class::other_v2);
    if (info.path.find("/../") != std::string_view::npos && info.path.rfind("/v2/", 0) == 0) CHECK(info.bad);

    // The decision, as the handler makes it: only for targets it would pass on.
    if (target.empty() || target[0] != '/' || !line_safe(target)) return 0;
    const ip_address client = (control & 8) ? *parse_ip_address("2001:db8::1")
                                            : ip_address::from_v4(0x0a010000u | (size & 0xffff));
    const route_decision d = decide_route(table(), target, client, (control & 4) != 0);
    if (d.what == decision_kind::redirect) {
        CHECK(d.location != nullptr);
        const std::string location = render_url(*d.location, d.values);
        CHECK(line_safe(location));
        CHECK(d.status == 307);
    }
    CHECK(d.what != decision_kind::no_mirror);  // no skip: the default always serves
    return 0;
}
