#include "registry_redirector/data/mrt_resolve.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <unordered_map>

#include "registry_redirector/data/config_error.hpp"
#include "registry_redirector/data/mrt_reader.hpp"
#include "registry_redirector/data/sha256.hpp"

namespace registry_redirector {

namespace {

/// A prefix as one comparable, hashable value: family, network, length.
struct prefix_key {
    uint128 network = 0;  // IPv4 in the low 32 bits
    std::uint8_t length = 0;
    std::uint8_t v6 = 0;

    friend bool operator==(const prefix_key&, const prefix_key&) = default;
    friend bool operator<(const prefix_key& a, const prefix_key& b) noexcept {
        if (a.v6 != b.v6) return a.v6 < b.v6;
        if (a.network != b.network) return a.network < b.network;
        return a.length < b.length;
    }
    static prefix_key of(const ip_prefix& p) noexcept {
        return p.family == ip_family::v4 ? prefix_key{p.v4, p.length, 0} : prefix_key{p.v6, p.length, 1};
    }
    ip_prefix prefix() const noexcept {
        ip_prefix p;
        p.length = length;
        if (v6) {
            p.family = ip_family::v6;
            p.v6 = network;
        } else {
            p.v4 = static_cast<std::uint32_t>(network);
        }
        return p;
    }
};

std::uint64_t mix(std::uint64_t h) noexcept {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

struct prefix_hash {
    std::size_t operator()(const prefix_key& k) const noexcept {
        return mix(static_cast<std::uint64_t>(k.network) ^ mix(static_cast<std::uint64_t>(k.network >> 64)) ^
                   (std::uint64_t{k.length} << 1 | k.v6) * 0x9e3779b97f4a7c15ULL);
    }
};

/// A BGP session as update files name it: peer address and AS.
struct peer_key {
    ip_address address;
    std::uint32_t asn = 0;
    friend bool operator==(const peer_key&, const peer_key&) = default;
};
struct peer_hash {
    std::size_t operator()(const peer_key& k) const noexcept {
        return mix(k.address.v4 ^ static_cast<std::uint64_t>(k.address.v6) ^ mix(static_cast<std::uint64_t>(k.address.v6 >> 64)) ^
                   (std::uint64_t{k.asn} << 32) ^ static_cast<std::uint64_t>(k.address.family));
    }
};

/// One (prefix, origin) pair and how many sessions carry it.
struct pair_row {
    prefix_key prefix;
    std::uint32_t origin;
    std::uint32_t peers;
};

bool row_less(const pair_row& a, const pair_row& b) noexcept {
    if (!(a.prefix == b.prefix)) return a.prefix < b.prefix;
    return a.origin < b.origin;
}

/// Sorts and adds up the counts of equal pairs (sessions of different files
/// are different sessions, so their counts add).
void compact(std::vector<pair_row>& rows) {
    std::sort(rows.begin(), rows.end(), row_less);
    std::size_t out = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (out > 0 && rows[out - 1].prefix == rows[i].prefix && rows[out - 1].origin == rows[i].origin)
            rows[out - 1].peers += rows[i].peers;
        else
            rows[out++] = rows[i];
    }
    rows.resize(out);
    rows.shrink_to_fit();
}

/// A route of one session for a prefix that update files touch.
struct session_route {
    std::uint32_t session;
    std::uint32_t path_id;
    std::uint32_t origin;
};

struct update_event {
    std::uint32_t timestamp;
    std::uint32_t microseconds;
    std::uint32_t file;
    std::uint64_t sequence;
    bool announce;
    prefix_key prefix;
    std::uint32_t path_id;
    peer_key peer;
    std::uint32_t origins_begin;
    std::uint32_t origins_count;
};

std::string file_sha256(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) throw config_error(path, 0, std::string("cannot open: ") + std::strerror(errno));
    sha256 h;
    std::string buffer(1 << 20, '\0');
    while (true) {
        const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), f);
        if (n == 0) break;
        h.update(std::string_view(buffer.data(), n));
    }
    const bool failed = std::ferror(f) != 0;
    std::fclose(f);
    if (failed) throw config_error(path, 0, "read failed");
    return h.hex_digest();
}

void fill_info(mrt_input_info& info, const mrt_read_stats& stats) {
    info.input_compression = stats.input_compression;
    info.records = stats.records;
    info.routes = stats.rib_entries + stats.announcements + stats.withdrawals;
    info.last_time = stats.last_timestamp;
    if (info.dump_time == 0) info.dump_time = stats.first_timestamp;
    info.truncated = stats.truncated;
}

class resolver {
public:
    explicit resolver(const mrt_resolve_options& options) : options_(options) {}

    mrt_resolve_result run(const std::vector<std::string>& ribs, const std::vector<std::string>& updates) {
        if (ribs.empty()) throw config_error("resolve", 0, "needs at least one RIB dump");
        for (std::size_t i = 0; i < updates.size(); ++i) read_updates(updates[i], static_cast<std::uint32_t>(i));
        for (const auto& rib : ribs) read_rib(rib);
        apply_updates();
        fold_touched();
        compact(rows_);
        return finish();
    }

private:
    // ---- update files: kept as events (they are small next to a RIB)
    class update_reader final : public mrt_visitor {
    public:
        update_reader(resolver& r, std::uint32_t file) : r_(r), file_(file) {}
        void on_route(const mrt_route& route) override {
            if (route.kind == mrt_route_kind::rib) return;  // a RIB inside an update list: ignored here
            update_event e{};
            e.timestamp = route.timestamp;
            e.microseconds = route.microseconds;
            e.file = file_;
            e.sequence = r_.events_.size();
            e.announce = route.kind == mrt_route_kind::announce;
            e.prefix = prefix_key::of(route.prefix);
            e.path_id = route.path_id.value_or(0);
            e.peer = {route.peer->address, route.peer->asn};
            e.origins_begin = static_cast<std::uint32_t>(r_.event_origins_.size());
            e.origins_count = static_cast<std::uint32_t>(route.origins.size());
            r_.event_origins_.insert(r_.event_origins_.end(), route.origins.begin(), route.origins.end());
            r_.events_.push_back(e);
            r_.touched_.try_emplace(e.prefix);
        }

    private:
        resolver& r_;
        std::uint32_t file_;
    };

    void read_updates(const std::string& path, std::uint32_t file) {
        mrt_input_info info;
        info.path = path;
        info.updates = true;
        info.sha256 = file_sha256(path);
        update_reader v(*this, file);
        fill_info(info, read_mrt_file(path, v, read_options()));
        inputs_.push_back(std::move(info));
    }

    // ---- RIB files: counted per record, per-session state only where touched
    class rib_reader final : public mrt_visitor {
    public:
        rib_reader(resolver& r, mrt_input_info& info) : r_(r), info_(info) {}
        ~rib_reader() override = default;

        void on_peer_index_table(const mrt_peer_index_table& t) override {
            flush();
            if (info_.dump_time == 0) info_.dump_time = t.timestamp;
            if (std::find(info_.collector_bgp_ids.begin(), info_.collector_bgp_ids.end(), t.collector_bgp_id) ==
                info_.collector_bgp_ids.end())
                info_.collector_bgp_ids.push_back(t.collector_bgp_id);
            base_ = r_.next_session_;
            r_.next_session_ += static_cast<std::uint32_t>(t.peers.size());
            for (std::size_t i = 0; i < t.peers.size(); ++i)
                r_.sessions_by_peer_[{t.peers[i].address, t.peers[i].asn}].push_back(base_ + static_cast<std::uint32_t>(i));
        }

        void on_route(const mrt_route& route) override {
            if (route.kind != mrt_route_kind::rib) return;  // updates inside a RIB list: ignored
            std::uint32_t session;
            if (route.peer_index) {
                session = base_ + *route.peer_index;
            } else {  // TABLE_DUMP v1: one session per (address, AS) of this file
                const peer_key key{route.peer->address, route.peer->asn};
                auto [it, added] = v1_sessions_.try_emplace(key, r_.next_session_);
                if (added) {
                    ++r_.next_session_;
                    r_.sessions_by_peer_[key].push_back(it->second);
                }
                session = it->second;
            }
            if (route.origins.empty()) {
                ++r_.counts_.routes_without_origin;
                return;
            }
            const prefix_key prefix = prefix_key::of(route.prefix);
            if (!r_.touched_.empty()) {
                if (const auto it = r_.touched_.find(prefix); it != r_.touched_.end()) {
                    for (auto origin : route.origins) it->second.push_back({session, route.path_id.value_or(0), origin});
                    return;
                }
            }
            if (!(prefix == current_)) flush();
            current_ = prefix;
            for (auto origin : route.origins) pending_.push_back({origin, session});
        }

        /// One prefix's entries done (RIB records hold one prefix each): count
        /// the distinct sessions per origin.
        void flush() {
            if (pending_.empty()) return;
            std::sort(pending_.begin(), pending_.end());
            pending_.erase(std::unique(pending_.begin(), pending_.end()), pending_.end());
            for (std::size_t i = 0; i < pending_.size();) {
                std::size_t j = i;
                while (j < pending_.size() && pending_[j].first == pending_[i].first) ++j;
                r_.rows_.push_back({current_, pending_[i].first, static_cast<std::uint32_t>(j - i)});
                i = j;
            }
            pending_.clear();
            if (r_.rows_.size() >= r_.compact_at_) {
                compact(r_.rows_);
                r_.compact_at_ = std::max<std::size_t>(r_.rows_.size() * 2, 1 << 20);
            }
        }

    private:
        resolver& r_;
        mrt_input_info& info_;
        std::uint32_t base_ = 0;
        prefix_key current_;
        std::vector<std::pair<std::uint32_t, std::uint32_t>> pending_;  // (origin, session)
        std::unordered_map<peer_key, std::uint32_t, peer_hash> v1_sessions_;
    };

    void read_rib(const std::string& path) {
        mrt_input_info info;
        info.path = path;
        info.sha256 = file_sha256(path);
        rib_reader v(*this, info);
        const mrt_read_stats stats = read_mrt_file(path, v, read_options());
        v.flush();
        if (stats.rib_entries == 0 && stats.peer_index_tables == 0)
            throw config_error(path, 0, "holds no RIB entries (an update file? pass it with --updates)");
        fill_info(info, stats);
        if (oldest_dump_ == 0 || info.dump_time < oldest_dump_) oldest_dump_ = info.dump_time;
        newest_dump_ = std::max(newest_dump_, info.dump_time);
        inputs_.push_back(std::move(info));
    }

    mrt_read_options read_options() const {
        mrt_read_options o;
        o.allow_truncated = options_.allow_truncated;
        return o;
    }

    // ---- updates, in time order, onto the touched prefixes' sessions
    void apply_updates() {
        std::sort(events_.begin(), events_.end(), [](const update_event& a, const update_event& b) {
            if (a.timestamp != b.timestamp) return a.timestamp < b.timestamp;
            if (a.microseconds != b.microseconds) return a.microseconds < b.microseconds;
            if (a.file != b.file) return a.file < b.file;
            return a.sequence < b.sequence;
        });
        for (const auto& e : events_) {
            if (e.timestamp < oldest_dump_) {
                ++counts_.updates_before_dump;
                continue;
            }
            ++counts_.updates_applied;
            auto& routes = touched_[e.prefix];
            auto& sessions = sessions_by_peer_[e.peer];
            if (sessions.empty()) sessions.push_back(next_session_++);  // a session no RIB has
            for (const auto session : sessions) {
                // An announcement replaces the session's path (with that path
                // id); a withdrawal removes it.
                std::erase_if(routes, [&](const session_route& r) { return r.session == session && r.path_id == e.path_id; });
                if (!e.announce) continue;
                if (e.origins_count == 0) ++counts_.routes_without_origin;
                for (std::uint32_t i = 0; i < e.origins_count; ++i)
                    routes.push_back({session, e.path_id, event_origins_[e.origins_begin + i]});
            }
        }
        events_.clear();
        events_.shrink_to_fit();
    }

    void fold_touched() {
        std::vector<std::pair<std::uint32_t, std::uint32_t>> pending;
        for (auto& [prefix, routes] : touched_) {
            pending.clear();
            for (const auto& r : routes) pending.emplace_back(r.origin, r.session);
            std::sort(pending.begin(), pending.end());
            pending.erase(std::unique(pending.begin(), pending.end()), pending.end());
            for (std::size_t i = 0; i < pending.size();) {
                std::size_t j = i;
                while (j < pending.size() && pending[j].first == pending[i].first) ++j;
                rows_.push_back({prefix, pending[i].first, static_cast<std::uint32_t>(j - i)});
                i = j;
            }
        }
        touched_.clear();
    }

    mrt_resolve_result finish() {
        mrt_resolve_result result;
        counts_.pairs_seen = rows_.size();
        counts_.peers = next_session_;
        for (const auto& row : rows_) {
            const ip_prefix p = row.prefix.prefix();
            if (p.length == 0) {
                ++counts_.dropped_default;
            } else if (is_bogon(p)) {
                ++counts_.dropped_bogon;
            } else if (!options_.keep_long && p.length > (row.prefix.v6 ? 48 : 24)) {
                ++counts_.dropped_long;
            } else if (row.peers < options_.min_peers) {
                ++counts_.dropped_min_peers;
            } else if (row.prefix.v6) {
                result.table.v6.push_back({p.v6, p.length, row.origin});
                ++counts_.kept_v6;
            } else {
                result.table.v4.push_back({p.v4, p.length, row.origin});
                ++counts_.kept_v4;
            }
        }
        rows_.clear();
        // RIBs first, then update files, each in command-line order.
        std::stable_partition(inputs_.begin(), inputs_.end(), [](const mrt_input_info& i) { return !i.updates; });
        result.inputs = std::move(inputs_);
        result.counts = counts_;
        result.data_time = newest_dump_;
        return result;
    }

    const mrt_resolve_options& options_;
    std::vector<pair_row> rows_;
    std::size_t compact_at_ = 1 << 20;
    std::unordered_map<prefix_key, std::vector<session_route>, prefix_hash> touched_;
    std::vector<update_event> events_;
    std::vector<std::uint32_t> event_origins_;
    std::unordered_map<peer_key, std::vector<std::uint32_t>, peer_hash> sessions_by_peer_;
    std::uint32_t next_session_ = 0;
    std::uint32_t oldest_dump_ = 0;
    std::uint32_t newest_dump_ = 0;
    std::vector<mrt_input_info> inputs_;
    mrt_resolve_counts counts_;
};

constexpr std::uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) noexcept {
    return (a << 24) | (b << 16) | (c << 8) | d;
}
constexpr uint128 v6(std::uint16_t a, std::uint16_t b = 0, std::uint16_t c = 0, std::uint16_t d = 0) noexcept {
    return (uint128{a} << 112) | (uint128{b} << 96) | (uint128{c} << 80) | (uint128{d} << 64);
}

struct block4 {
    std::uint32_t network;
    std::uint8_t length;
};
struct block6 {
    uint128 network;
    std::uint8_t length;
};

// RFC 6890 (and the IANA special-purpose registries it set up, as updated)
// blocks whose "Globally Reachable" is False, plus multicast.
constexpr std::array<block4, 15> bogons_v4{{
    {v4(0, 0, 0, 0), 8},        // "this network" (RFC 791)
    {v4(10, 0, 0, 0), 8},       // private use (RFC 1918)
    {v4(100, 64, 0, 0), 10},    // shared address space (RFC 6598)
    {v4(127, 0, 0, 0), 8},      // loopback
    {v4(169, 254, 0, 0), 16},   // link local (RFC 3927)
    {v4(172, 16, 0, 0), 12},    // private use
    {v4(192, 0, 0, 0), 24},     // IETF protocol assignments (RFC 6890 2.2.2)
    {v4(192, 0, 2, 0), 24},     // documentation TEST-NET-1 (RFC 5737)
    {v4(192, 168, 0, 0), 16},   // private use
    {v4(198, 18, 0, 0), 15},    // benchmarking (RFC 2544)
    {v4(198, 51, 100, 0), 24},  // TEST-NET-2
    {v4(203, 0, 113, 0), 24},   // TEST-NET-3
    {v4(224, 0, 0, 0), 4},      // multicast (RFC 5771)
    {v4(240, 0, 0, 0), 4},      // reserved (RFC 1112)
    {v4(255, 255, 255, 255), 32},
}};
constexpr std::array<block6, 14> bogons_v6{{
    {0, 128},                               // unspecified
    {1, 128},                               // loopback
    {v6(0, 0, 0, 0) | (uint128{0xffff} << 32), 96},  // IPv4-mapped
    {v6(0x0064, 0xff9b, 0x0001), 48},       // local-use IPv4/IPv6 translation (RFC 8215)
    {v6(0x0100), 64},                       // discard-only (RFC 6666)
    {v6(0x2001, 0x0002), 48},               // benchmarking (RFC 5180)
    {v6(0x2001, 0x0db8), 32},               // documentation (RFC 3849)
    {v6(0x2001, 0x0010), 28},               // ORCHID, deprecated (RFC 4843)
    {v6(0x3fff), 20},                       // documentation (RFC 9637)
    {v6(0x5f00), 16},                       // SRv6 SIDs (RFC 9602)
    {v6(0xfc00), 7},                        // unique local (RFC 4193)
    {v6(0xfe80), 10},                       // link local
    {v6(0xfec0), 10},                       // site local, deprecated (RFC 3879)
    {v6(0xff00), 8},                        // multicast
}};

}  // namespace

bool is_bogon(const ip_prefix& p) noexcept {
    if (p.family == ip_family::v4) {
        for (const auto& b : bogons_v4) {
            if (p.length >= b.length && (p.v4 & v4_mask(b.length)) == b.network) return true;
        }
        return false;
    }
    for (const auto& b : bogons_v6)
        if (p.length >= b.length && (p.v6 & v6_mask(b.length)) == b.network) return true;
    return false;
}

std::string bgp_id_text(std::uint32_t id) { return to_string(ip_address::from_v4(id)); }

std::string utc_text(std::uint32_t seconds) {
    const std::time_t t = seconds;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

std::string resolve_table_header(const mrt_resolve_result& r, const mrt_resolve_options& o, const std::string& extra) {
    const auto& c = r.counts;
    std::string h = "# Prefix -> origin-ASN table (pfx2asn format: PREFIX/LEN<TAB>ASN), resolved from BGP dumps (MRT).\n";
    h += "# made by: registry-redirector resolve (version " REDIRECTOR_VERSION ")\n";
    h += "# data time: " + utc_text(r.data_time) + " (" + std::to_string(r.data_time) + ")\n";
    h += "# inputs:\n";
    for (const auto& in : r.inputs) {
        std::string ids;
        for (auto id : in.collector_bgp_ids) ids += (ids.empty() ? "" : ",") + bgp_id_text(id);
        h += std::string("#   ") + (in.updates ? "updates " : "rib ") + std::filesystem::path(in.path).filename().string() +
             " sha256 " + in.sha256 + " (" + to_string(in.input_compression) + ")";
        if (!ids.empty()) h += " collector " + ids;
        if (in.updates)
            h += " from " + utc_text(in.dump_time) + " to " + utc_text(in.last_time);
        else
            h += " dump " + utc_text(in.dump_time) + " (" + std::to_string(in.dump_time) + ")";
        h += ", " + std::to_string(in.records) + " records, " + std::to_string(in.routes) + " routes";
        if (in.truncated) h += ", TRUNCATED (kept what came before the cut)";
        h += "\n";
    }
    h += "# thresholds: min_peers " + std::to_string(o.min_peers) + ", keep_long " + (o.keep_long ? "true" : "false") +
         " (longer than /24 and /48 dropped unless true), default route and bogons (RFC 6890) dropped\n";
    h += extra;
    h += "# counts, in (prefix, origin) pairs: seen " + std::to_string(c.pairs_seen) + ", kept " +
         std::to_string(c.kept_v4) + " IPv4 + " + std::to_string(c.kept_v6) + " IPv6; dropped: under min_peers " +
         std::to_string(c.dropped_min_peers) + ", longer than /24 or /48 " + std::to_string(c.dropped_long) +
         ", bogons " + std::to_string(c.dropped_bogon) + ", default route " + std::to_string(c.dropped_default) + "\n";
    h += "# sessions (peers) " + std::to_string(c.peers) + "; routes without an origin " +
         std::to_string(c.routes_without_origin) + "; updates applied " + std::to_string(c.updates_applied) +
         ", skipped as older than the oldest RIB " + std::to_string(c.updates_before_dump) + "\n";
    return h;
}

namespace {

/// Resolves one MRT dump for `prefixes:`; nullopt when the file is not one.
std::optional<std::pair<prefix_file_stats, origin_table>> resolve_prefix_dump(const std::string& path,
                                                                              const mrt_resolve_options& options,
                                                                              const prefix_file_limits& limits) {
    if (!looks_like_mrt_file(path)) return std::nullopt;
    mrt_resolve_result r = resolve_mrt({path}, {}, options);
    prefix_file_stats stats;
    stats.path = path;
    stats.format = prefix_format::mrt;
    stats.lines = r.inputs.empty() ? 0 : r.inputs.front().records;
    stats.entries_v4 = r.table.v4.size();
    stats.entries_v6 = r.table.v6.size();
    stats.data_time = r.data_time;
    if (stats.entries_v4 + stats.entries_v6 > limits.max_entries)
        throw config_error(path, 0, "more than " + std::to_string(limits.max_entries) + " prefix entries in all");
    if (stats.entries_v4 + stats.entries_v6 == 0)
        throw config_error(path, 0, "MRT dump resolves to no prefixes (min_peers " + std::to_string(options.min_peers) + ")");
    return std::pair{std::move(stats), std::move(r.table)};
}

}  // namespace

prefix_file_stats load_prefix_source(const std::string& path, origin_table& into, const mrt_resolve_options& options,
                                     const prefix_file_limits& limits) {
    auto dump = resolve_prefix_dump(path, options, limits);
    if (!dump) return load_prefix_file(path, into, limits);
    const auto& [stats, table] = *dump;
    if (into.v4.size() + into.v6.size() + stats.entries_v4 + stats.entries_v6 > limits.max_entries)
        throw config_error(path, 0, "more than " + std::to_string(limits.max_entries) + " prefix entries in all");
    into.v4.insert(into.v4.end(), table.v4.begin(), table.v4.end());
    into.v6.insert(into.v6.end(), table.v6.begin(), table.v6.end());
    return stats;
}

prefix_file_stats load_prefix_source(const std::string& path, origin_sink& into, const mrt_resolve_options& options,
                                     const prefix_file_limits& limits) {
    auto dump = resolve_prefix_dump(path, options, limits);
    if (!dump) return load_prefix_file(path, into, limits);
    const auto& [stats, table] = *dump;
    for (const auto& row : table.v4) into.add(row);
    for (const auto& row : table.v6) into.add(row);
    return stats;
}

mrt_resolve_result resolve_mrt(const std::vector<std::string>& ribs, const std::vector<std::string>& updates,
                               const mrt_resolve_options& options) {
    return resolver(options).run(ribs, updates);
}

}  // namespace registry_redirector
