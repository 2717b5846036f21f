// libFuzzer target: the MRT reader (and the byte_source under it) over
// arbitrary bytes, plain or, when the input starts with their magic, gzip or
// bzip2. The first byte's low bit selects allow_truncated; the rest is the
// file. A rejection must be a config_error (mrt_error for record content);
// anything else escaping, a crash, a hang or unbounded memory is a finding.
//
// Invariants checked on every route: the prefix is canonical (no host bits,
// length within the family), a withdrawal carries no path, origins come from
// the path (none iff the path has no non-confederation ASN), and a RIB route
// from TABLE_DUMP_V2 names a peer of the last PEER_INDEX_TABLE.

#include <cstddef>
#include <cstdint>
#include <string>

#include "registry_redirector/data/byte_source.hpp"
#include "registry_redirector/data/config_error.hpp"
#include "registry_redirector/data/mrt_reader.hpp"
#include "fuzz_check.hpp"

using namespace registry_redirector;

namespace {

class checker final : public mrt_visitor {
public:
    void on_peer_index_table(const mrt_peer_index_table& t) override { peers_ = t.peers.size(); }
    void on_route(const mrt_route& r) override {
        CHECK(r.peer != nullptr && r.path != nullptr);
        if (r.prefix.family == ip_family::v4) {
            CHECK(r.prefix.length <= 32);
            CHECK((r.prefix.v4 & ~v4_mask(r.prefix.length)) == 0);
        } else {
            CHECK(r.prefix.length <= 128);
            CHECK((r.prefix.v6 & ~v6_mask(r.prefix.length)) == 0);
        }
        if (r.kind == mrt_route_kind::withdraw) CHECK(r.origins.empty() && r.path->segments.empty());
        if (r.peer_index) CHECK(*r.peer_index < peers_);
        std::vector<std::uint32_t> again;
        path_origins(*r.path, again);
        CHECK(again.size() == r.origins.size());
        for (const auto& s : r.path->segments) CHECK(s.begin + s.count <= r.path->asns.size());
        ++routes_;
    }

private:
    std::size_t peers_ = 0;
    std::size_t routes_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    mrt_read_options options;
    options.allow_truncated = (data[0] & 1) != 0;
    options.read_ahead = false;
    options.max_record_bytes = 1 << 20;
    const auto source = byte_source::from_memory("fuzz", std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
    checker visitor;
    try {
        const auto stats = read_mrt(*source, visitor, options);
        CHECK(!stats.truncated || options.allow_truncated);
    } catch (const config_error&) {
    }
    return 0;
}
