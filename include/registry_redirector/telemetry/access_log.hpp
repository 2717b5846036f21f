#pragma once
/// The optional access log: I/O threads copy a fixed-size record into their
/// own bounded single-producer ring and never wait; one writer thread formats
/// and writes them. A full ring drops the record and counts the drop.
/// Client addresses are cut to a prefix before they are written: redirect
/// logs of a public registry are personal data.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "registry_redirector/config/config.hpp"
#include "registry_redirector/net/ip_address.hpp"
#include "registry_redirector/telemetry/spsc_ring.hpp"
#include "registry_redirector/telemetry/trace_context.hpp"

namespace registry_redirector {

struct access_record {
    static constexpr std::size_t max_method = 16;
    static constexpr std::size_t max_target = 1024;
    static constexpr std::size_t max_user_agent = 256;

    std::int64_t unix_ns = 0;
    ip_address client;
    std::uint32_t duration_us = 0;
    std::uint16_t status = 0;
    std::uint16_t provider_slot = 0xffff;  ///< metric slot; 0xffff for none
    std::uint8_t route = 0;                ///< as enum route
    std::uint8_t method_length = 0;
    std::uint16_t target_length = 0;       ///< bytes kept (at most max_target)
    std::uint16_t user_agent_length = 0;
    bool target_truncated = false;
    trace_id_bytes trace_id{};  ///< all zero: the request has no trace id
    span_id_bytes span_id{};    ///< all zero: no span was recorded
    char method[max_method];
    char target[max_target];
    char user_agent[max_user_agent];

    void set(std::string_view method_text, std::string_view target_text, std::string_view user_agent_text) noexcept;
};

/// Single producer (one I/O thread), single consumer (the writer thread).
using access_log_ring = spsc_ring<access_record>;

/// Appends `s` as a JSON string body: quotes, backslashes, control
/// characters and bytes above 0x7e are escaped.
void append_json_escaped(std::string& out, std::string_view s);

/// Appends the client address cut to a prefix ("198.51.100.0/24"), or whole
/// when the length is 32 (IPv4) or 128 (IPv6).
void append_anonymised_client(std::string& out, const ip_address& a, std::uint8_t ipv4_prefix, std::uint8_t ipv6_prefix);

/// Formats one record (without the newline), anonymising the client.
std::string format_access_record(const access_record& r, access_log_format format, std::uint8_t ipv4_prefix,
                                 std::uint8_t ipv6_prefix, std::string_view provider);

/// Thread safety: ring(i) belongs to I/O thread i; start/stop from the
/// control thread; dropped() from anywhere.
class access_log {
public:
    using provider_names = std::function<std::string(std::uint16_t slot)>;

    /// `drops` is bumped for every record a full ring refuses (it is the
    /// registry_redirector_access_log_dropped_total counter).
    access_log(access_log_format format, std::uint8_t ipv4_prefix, std::uint8_t ipv6_prefix, unsigned threads,
               provider_names names, std::atomic<std::uint64_t>& drops, std::FILE* out = stdout,
               std::size_t ring_capacity = 2048);
    ~access_log();

    access_log_ring& ring(unsigned thread) noexcept { return *rings_[thread]; }
    void count_drop() noexcept { dropped_.fetch_add(1, std::memory_order_relaxed); }
    std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
    /// Writes what is queued now, on the caller's thread (tests; stop()).
    std::size_t flush();
    std::uint64_t written() const noexcept { return written_.load(std::memory_order_relaxed); }

    void start();
    /// Writes what is queued, then stops the writer.
    void stop();

private:
    void run();
    std::size_t flush_once(std::string& buffer);

    access_log_format format_;
    std::uint8_t ipv4_prefix_;
    std::uint8_t ipv6_prefix_;
    provider_names names_;
    std::FILE* out_;
    std::vector<std::unique_ptr<access_log_ring>> rings_;
    std::atomic<std::uint64_t>& dropped_;
    std::atomic<std::uint64_t> written_{0};
    std::atomic<bool> stopping_{false};
    std::thread writer_;
};

}  // namespace registry_redirector
