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
    char method[max_method];
    char target[max_target];
    char user_agent[max_user_agent];

    void set(std::string_view method_text, std::string_view target_text, std::string_view user_agent_text) noexcept;
};

/// Single producer (one I/O thread), single consumer (the writer thread).
class access_log_ring {
public:
    explicit access_log_ring(std::size_t capacity);
    /// Claims the next free slot, or nullptr when full. Fill it, then commit().
    access_record* claim() noexcept;
    void commit() noexcept;
    /// Consumer side: calls f for each committed record, then frees them.
    template <class F>
    std::size_t drain(F&& f) {
        const std::size_t tail = tail_.load(std::memory_order_relaxed);
        const std::size_t head = head_.load(std::memory_order_acquire);
        for (std::size_t i = tail; i != head; ++i) f(records_[i % records_.size()]);
        tail_.store(head, std::memory_order_release);
        return head - tail;
    }

private:
    std::vector<access_record> records_;
    alignas(64) std::atomic<std::size_t> head_{0};  // written by the producer
    alignas(64) std::atomic<std::size_t> tail_{0};  // written by the consumer
};

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
