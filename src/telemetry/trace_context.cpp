#include "registry_redirector/telemetry/trace_context.hpp"

#include <random>

namespace registry_redirector {

namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;  // upper case is invalid in traceparent (HEXDIGLC)
}

template <std::size_t N>
bool parse_hex(std::string_view text, std::array<std::uint8_t, N>& out) noexcept {
    if (text.size() != 2 * N) return false;
    bool nonzero = false;
    for (std::size_t i = 0; i < N; ++i) {
        const int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
        nonzero |= out[i] != 0;
    }
    return nonzero;
}

bool lcalpha(char c) noexcept { return c >= 'a' && c <= 'z'; }
bool digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool key_char(char c) noexcept { return lcalpha(c) || digit(c) || c == '_' || c == '-' || c == '*' || c == '/'; }

/// key = simple-key / multi-tenant-key (section 3.3.1.3.1).
bool valid_key(std::string_view k) noexcept {
    const std::size_t at = k.find('@');
    if (at == std::string_view::npos) {
        if (k.empty() || k.size() > 256 || !lcalpha(k[0])) return false;
        for (char c : k)
            if (!key_char(c)) return false;
        return true;
    }
    const std::string_view tenant = k.substr(0, at), system = k.substr(at + 1);
    if (tenant.empty() || tenant.size() > 241 || !(lcalpha(tenant[0]) || digit(tenant[0]))) return false;
    if (system.empty() || system.size() > 14 || !lcalpha(system[0])) return false;
    for (char c : tenant)
        if (!key_char(c)) return false;
    for (char c : system)
        if (!key_char(c)) return false;
    return true;
}

/// value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr;
/// nblk-chr = %x21-2B / %x2D-3C / %x3E-7E (no ',' and no '=').
bool valid_value(std::string_view v) noexcept {
    if (v.empty() || v.size() > 256 || v.back() == ' ') return false;
    for (char ch : v) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
    }
    return true;
}

std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

std::uint64_t splitmix64(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

}  // namespace

std::optional<trace_parent> parse_traceparent(std::string_view v) noexcept {
    constexpr std::size_t v00_length = 55;  // 2 + 1 + 32 + 1 + 16 + 1 + 2
    if (v.size() < v00_length) return std::nullopt;
    std::array<std::uint8_t, 1> version{};
    const int hi = hex_value(v[0]), lo = hex_value(v[1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    version[0] = static_cast<std::uint8_t>(hi << 4 | lo);
    if (version[0] == 0xff) return std::nullopt;
    if (version[0] == 0 && v.size() != v00_length) return std::nullopt;
    if (v.size() > v00_length && v[v00_length] != '-') return std::nullopt;
    if (v[2] != '-' || v[35] != '-' || v[52] != '-') return std::nullopt;
    trace_parent p;
    if (!parse_hex(v.substr(3, 32), p.trace_id) || !parse_hex(v.substr(36, 16), p.parent_id)) return std::nullopt;
    const int fh = hex_value(v[53]), fl = hex_value(v[54]);
    if (fh < 0 || fl < 0) return std::nullopt;
    p.flags = static_cast<std::uint8_t>(fh << 4 | fl);
    return p;
}

bool valid_tracestate(const std::string_view* lines, unsigned count) noexcept {
    constexpr unsigned max_members = 32;
    std::string_view keys[max_members];
    unsigned members = 0;
    for (unsigned l = 0; l < count; ++l) {
        std::string_view rest = lines[l];
        while (true) {
            const std::size_t comma = rest.find(',');
            const std::string_view member = trim_ows(rest.substr(0, comma));
            if (!member.empty()) {
                const std::size_t eq = member.find('=');
                if (eq == std::string_view::npos) return false;
                const std::string_view key = member.substr(0, eq);
                if (!valid_key(key) || !valid_value(member.substr(eq + 1)) || members == max_members) return false;
                for (unsigned i = 0; i < members; ++i)
                    if (keys[i] == key) return false;
                keys[members++] = key;
            }
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    }
    return true;
}

trace_id_generator::trace_id_generator() : trace_id_generator([] {
    std::random_device device;
    return (std::uint64_t{device()} << 32) ^ device();
}()) {}

trace_id_generator::trace_id_generator(std::uint64_t seed) noexcept {
    for (auto& s : s_) s = splitmix64(seed);
}

std::uint64_t trace_id_generator::next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

trace_id_bytes trace_id_generator::trace_id() noexcept {
    trace_id_bytes id{};
    do {
        for (int half = 0; half < 2; ++half) {
            const std::uint64_t r = next();
            for (int i = 0; i < 8; ++i) id[static_cast<std::size_t>(half * 8 + i)] = static_cast<std::uint8_t>(r >> (56 - 8 * i));
        }
    } while (id == trace_id_bytes{});
    return id;
}

span_id_bytes trace_id_generator::span_id() noexcept {
    span_id_bytes id{};
    do {
        const std::uint64_t r = next();
        for (int i = 0; i < 8; ++i) id[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(r >> (56 - 8 * i));
    } while (id == span_id_bytes{});
    return id;
}

trace_sampler::trace_sampler(sampler_kind kind, double ratio) noexcept : kind_(kind) {
    if (!(ratio > 0)) ratio = 0;  // also NaN
    all_ = ratio >= 1;
    bound_ = all_ ? ~std::uint64_t{0} : static_cast<std::uint64_t>(ratio * 9223372036854775808.0);  // ratio * 2^63
}

bool trace_sampler::sample(const trace_parent* parent, const trace_id_bytes& trace_id) const noexcept {
    auto by_ratio = [&] {
        if (all_) return true;
        std::uint64_t low = 0;
        for (std::size_t i = 8; i < 16; ++i) low = low << 8 | trace_id[i];
        return (low >> 1) < bound_;
    };
    switch (kind_) {
        case sampler_kind::always_on: return true;
        case sampler_kind::always_off: return false;
        case sampler_kind::traceidratio: return by_ratio();
        case sampler_kind::parentbased_always_on: return parent ? parent->sampled() : true;
        case sampler_kind::parentbased_always_off: return parent ? parent->sampled() : false;
        case sampler_kind::parentbased_traceidratio: return parent ? parent->sampled() : by_ratio();
    }
    return false;
}

bool trace_sampler::always_off() const noexcept { return kind_ == sampler_kind::always_off; }

void to_hex(const std::uint8_t* bytes, std::size_t n, char* out) noexcept {
    static constexpr char digits[] = "0123456789abcdef";
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0xf];
    }
}

void append_hex(std::string& out, const std::uint8_t* bytes, std::size_t n) {
    char text[32];
    to_hex(bytes, n, text);
    out.append(text, 2 * n);
}

}  // namespace registry_redirector
