#pragma once
/// The request handler: a pure function from (request, peer, snapshot) to a
/// response, and the serializer that writes that response. No sockets, no
/// clocks, no globals: unit tests call it directly.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "registry_redirector/http/client_ip.hpp"
#include "registry_redirector/routing/request_outcome.hpp"
#include "registry_redirector/routing/route_decision.hpp"
#include "registry_redirector/routing/serving_snapshot.hpp"

namespace registry_redirector {

/// What the parser saw of one request. Views point into the read buffer.
struct request_view {
    std::string_view method;  ///< as received
    std::string_view target;  ///< request-target, as received
    unsigned version = 11;    ///< 10 for HTTP/1.0, 11 for HTTP/1.1
    bool keep_alive = true;   ///< what the client asked for (Connection, version)
    bool has_body = false;    ///< Content-Length > 0 or Transfer-Encoding
    bool has_range = false;   ///< a Range header (mirrors may refuse those)
    proxy_header_lines proxy;     ///< X-Real-Ip, X-Forwarded-For, Forwarded
    std::string_view user_agent;  ///< for the access log only
    header_lines traceparent;     ///< W3C Trace Context, for tracing only
    header_lines tracestate;
};

struct response_plan {
    status_code status = status_code::found_302;
    route kind = route::rejected;
    std::uint32_t provider = routing_table::no_provider;  ///< the provider whose host answers
    client_ip_source source = client_ip_source::peer;
    ip_address client;       ///< the address the decision used (the peer if none was made)
    std::string_view host;   ///< for a mirror from redirectsTo: registry or artifacts host
    std::string_view target; ///< the path and query as received (origin-form)
    bool close = false;      ///< send Connection: close and close after writing
    /// A redirect: the URL template and its values (rendered straight into
    /// the response buffer), and what X-Redirect-Reason and metrics need.
    const url_template* location = nullptr;
    template_values values;
    /// The location already rendered (by settle_blob_check, for its cache
    /// lookup): written as is instead of rendering it again. Points into
    /// the caller's buffer, which must outlive write_response.
    std::string_view rendered_location;
    std::string_view cache_control;  ///< empty: no Cache-Control
    bool oci = false;                ///< routes configured: class and action are set
    path_class klass = path_class::artifact;
    class_action_kind action = class_action_kind::mirror;
    std::uint32_t mirror = no_mirror;
    failover_reason failover = failover_reason::none;  ///< health changed the answer
    /// Set when explain_header is on: X-Redirect-Reason's values.
    bool explain = false;
    std::string_view reason_provider;
    std::string_view reason_mirror;
    std::string_view request_id;  ///< for a redirect, when set: appended to the Location as rid=<id>
};

/// The decision. `snapshot` is null until the first routing table loads
/// (answered 503). `peer_source` says whether `peer` is the TCP peer or
/// came from a PROXY protocol header. `excluded` lists mirrors to pass over
/// like down ones (their blob existence check said no). noexcept,
/// allocation-free.
response_plan handle_request(const request_view& request, const ip_address& peer, const serving_snapshot* snapshot,
                             client_ip_source peer_source = client_ip_source::peer,
                             std::span<const std::uint32_t> excluded = {}) noexcept;

/// The blob existence check `plan` needs before it may be sent: its
/// mirror's, for a blob redirect to a mirror with check_blobs that is not
/// already in `excluded`; else null. noexcept.
const blob_check* blob_check_for(const response_plan& plan, const serving_snapshot& snapshot,
                                 std::span<const std::uint32_t> excluded) noexcept;

/// The blob existence check of `plan`, as far as the caches know: while
/// the cache of plan's mirror says the blob is missing, that mirror joins
/// `excluded` and the request is decided again (the next candidate in
/// selection order, then upstream or the last resort). Returns the check
/// whose mirror must still be asked (`plan` redirects there and `url` holds
/// the URL to HEAD), or null when `plan` may be sent as it is. Allocates
/// only while `excluded` and `url` grow.
const blob_check* settle_blob_check(response_plan& plan, const request_view& request, const ip_address& peer,
                                    const serving_snapshot& snapshot, client_ip_source peer_source,
                                    std::vector<std::uint32_t>& excluded, std::string& url,
                                    blob_existence_cache::clock::time_point now);

/// A response for a request the parser rejected (no request_view exists).
response_plan reject(status_code status) noexcept;

/// Appends the response bytes to `out`. `date` is an IMF-fixdate. Allocates
/// only when `out` must grow.
void write_response(const response_plan& plan, const request_view& request, std::string_view date,
                    std::string& out);

}  // namespace registry_redirector
