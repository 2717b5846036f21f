#include "registry_redirector/telemetry/access_log.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>

#include "registry_redirector/net/ip_prefix.hpp"
#include "registry_redirector/routing/request_outcome.hpp"

namespace registry_redirector {

namespace {

constexpr auto writer_poll = std::chrono::milliseconds(20);

void copy_field(char* dst, std::size_t cap, std::string_view src, auto& length) noexcept {
    const std::size_t n = std::min(cap, src.size());
    if (n > 0) std::memcpy(dst, src.data(), n);  // an empty view may hold nullptr
    length = static_cast<std::remove_reference_t<decltype(length)>>(n);
}

/// JSON string body: quotes, backslashes, control characters and every byte
/// above 0x7e are escaped, so the line is valid JSON whatever a client sent.
void append_escaped(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20 || c > 0x7e) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        } else {
            out += ch;
        }
    }
}

void append_anonymised(std::string& out, const ip_address& a, std::uint8_t v4, std::uint8_t v6) {
    if (a.family == ip_family::v4) {
        const ip_prefix p{ip_family::v4, a.v4 & v4_mask(v4), 0, v4};
        out += v4 == 32 ? to_string(a) : to_string(p);
        return;
    }
    const ip_prefix p{ip_family::v6, 0, a.v6 & v6_mask(v6), v6};
    out += v6 == 128 ? to_string(a) : to_string(p);
}

void append_iso_time(std::string& out, std::int64_t unix_ns) {
    const std::time_t seconds = static_cast<std::time_t>(unix_ns / 1'000'000'000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buffer[48];
    std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
    n += static_cast<std::size_t>(
        std::snprintf(buffer + n, sizeof buffer - n, ".%03dZ", static_cast<int>((unix_ns / 1'000'000) % 1000)));
    out.append(buffer, n);
}

void append_number(std::string& out, std::uint64_t v) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
    out.append(digits, end);
}

}  // namespace

void access_record::set(std::string_view method_text, std::string_view target_text,
                        std::string_view user_agent_text) noexcept {
    copy_field(method, max_method, method_text, method_length);
    copy_field(target, max_target, target_text, target_length);
    target_truncated = target_text.size() > max_target;
    copy_field(user_agent, max_user_agent, user_agent_text, user_agent_length);
}

access_log_ring::access_log_ring(std::size_t capacity) : records_(capacity) {}

access_record* access_log_ring::claim() noexcept {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) >= records_.size()) return nullptr;
    return &records_[head % records_.size()];
}

void access_log_ring::commit() noexcept { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

// Built by appending only: at -O3, GCC 12 reports a false -Wrestrict inside
// libstdc++ for chains of operator+ that start with a string literal, and
// appends make no temporaries either.
std::string format_access_record(const access_record& r, access_log_format format, std::uint8_t ipv4_prefix,
                                 std::uint8_t ipv6_prefix, std::string_view provider) {
    const std::string_view method(r.method, r.method_length);
    const std::string_view target(r.target, r.target_length);
    const std::string_view agent(r.user_agent, r.user_agent_length);
    const std::string_view route_label = to_label(static_cast<route>(r.route));
    std::string out;
    out.reserve(256 + target.size() + agent.size());
    if (format == access_log_format::json) {
        out += "{\"time\":\"";
        append_iso_time(out, r.unix_ns);
        out += "\",\"client\":\"";
        append_anonymised(out, r.client, ipv4_prefix, ipv6_prefix);
        out += "\",\"method\":\"";
        append_escaped(out, method);
        out += "\",\"target\":\"";
        append_escaped(out, target);
        out += "\"";
        if (r.target_truncated) out += ",\"target_truncated\":true";
        out += ",\"status\":";
        append_number(out, r.status);
        out += ",\"provider\":\"";
        append_escaped(out, provider);
        out += "\",\"route\":\"";
        out += route_label;
        out += "\",\"duration_us\":";
        append_number(out, r.duration_us);
        out += ",\"user_agent\":\"";
        append_escaped(out, agent);
        out += "\"}";
        return out;
    }
    // text: one space-separated line; quoted fields use the JSON escapes.
    append_iso_time(out, r.unix_ns);
    out += ' ';
    append_anonymised(out, r.client, ipv4_prefix, ipv6_prefix);
    out += ' ';
    append_escaped(out, method.empty() ? std::string_view("-") : method);
    out += " \"";
    append_escaped(out, target);
    out += r.target_truncated ? "...\" " : "\" ";
    append_number(out, r.status);
    out += ' ';
    append_escaped(out, provider);
    out += ' ';
    out += route_label;
    out += ' ';
    append_number(out, r.duration_us);
    out += "us \"";
    append_escaped(out, agent);
    out += "\"";
    return out;
}

access_log::access_log(access_log_format format, std::uint8_t ipv4_prefix, std::uint8_t ipv6_prefix, unsigned threads,
                       provider_names names, std::atomic<std::uint64_t>& drops, std::FILE* out,
                       std::size_t ring_capacity)
    : format_(format),
      ipv4_prefix_(ipv4_prefix),
      ipv6_prefix_(ipv6_prefix),
      names_(std::move(names)),
      out_(out),
      dropped_(drops) {
    for (unsigned i = 0; i < threads; ++i) rings_.push_back(std::make_unique<access_log_ring>(ring_capacity));
}

access_log::~access_log() { stop(); }

void access_log::start() { writer_ = std::thread([this] { run(); }); }

void access_log::stop() {
    if (!writer_.joinable()) return;
    stopping_ = true;
    writer_.join();
}

std::size_t access_log::flush_once(std::string& buffer) {
    std::size_t n = 0;
    for (auto& ring : rings_) {
        n += ring->drain([&](const access_record& r) {
            buffer += format_access_record(r, format_, ipv4_prefix_, ipv6_prefix_,
                                           r.provider_slot == 0xffff ? std::string("none") : names_(r.provider_slot));
            buffer += '\n';
        });
    }
    if (!buffer.empty()) {
        std::fwrite(buffer.data(), 1, buffer.size(), out_);
        std::fflush(out_);
        buffer.clear();
    }
    written_.fetch_add(n, std::memory_order_relaxed);
    return n;
}

std::size_t access_log::flush() {
    std::string buffer;
    return flush_once(buffer);
}

void access_log::run() {
    std::string buffer;
    while (!stopping_.load()) {
        if (flush_once(buffer) == 0) std::this_thread::sleep_for(writer_poll);
    }
    while (flush_once(buffer) != 0) {
    }
}

}  // namespace registry_redirector
