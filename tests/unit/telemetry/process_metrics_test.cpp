#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "registry_redirector/telemetry/process_metrics.hpp"

namespace registry_redirector {
namespace {

// A real /proc/<pid>/stat line (proc(5)), with a command name holding ") "
// to prove the split is at the last parenthesis.
constexpr std::string_view stat_line =
    "4242 (evil) name) S 1 4242 4242 0 -1 4194560 1523 0 0 0 250 130 0 0 20 0 7 0 12345 "
    "104857600 2560 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";

TEST(ProcessMetricsTest, ParsesStatFields) {
    process_sample s;
    parse_proc_stat(stat_line, 100, 4096, 1'700'000'000, s);
    ASSERT_TRUE(s.cpu_seconds && s.threads && s.start_time_seconds && s.virtual_bytes && s.resident_bytes);
    EXPECT_DOUBLE_EQ(*s.cpu_seconds, 3.8);  // (250 + 130) ticks / 100
    EXPECT_DOUBLE_EQ(*s.threads, 7);
    EXPECT_DOUBLE_EQ(*s.start_time_seconds, 1'700'000'000 + 123.45);
    EXPECT_DOUBLE_EQ(*s.virtual_bytes, 104857600);
    EXPECT_DOUBLE_EQ(*s.resident_bytes, 2560.0 * 4096);
}

TEST(ProcessMetricsTest, MalformedStatLeavesFieldsEmpty) {
    for (std::string_view bad : {std::string_view(""), std::string_view("4242 (x"), std::string_view("1 (x) S 1 2"),
                                 std::string_view("1 (x) S a b c d e f g h i j k l m n o p q r s t u v w")}) {
        process_sample s;
        parse_proc_stat(bad, 100, 4096, 1, s);
        EXPECT_FALSE(s.cpu_seconds) << bad;
        EXPECT_FALSE(s.resident_bytes) << bad;
    }
}

TEST(ProcessMetricsTest, ParsesLimitsAndBootTime) {
    constexpr std::string_view limits =
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max processes             63304                63304                processes \n"
        "Max open files            1024                 1048576              files     \n";
    EXPECT_EQ(parse_max_open_files(limits), 1024);
    EXPECT_FALSE(parse_max_open_files("Max open files            unlimited            unlimited            files\n"));
    EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1764400000\nprocesses 9\n"), 1764400000);
    EXPECT_FALSE(parse_boot_time("cpu 1 2 3\n"));
}

TEST(ProcessMetricsTest, ThisProcessMovesWithItsUse) {
    const process_sample before = sample_this_process();
    ASSERT_TRUE(before.open_fds && before.threads && before.cpu_seconds && before.resident_bytes && before.max_fds &&
                before.start_time_seconds && before.virtual_bytes);
    const int fd = ::open("/dev/null", O_RDONLY);
    ASSERT_GE(fd, 0);
    std::thread t([&] {
        const process_sample during = sample_this_process();
        EXPECT_EQ(*during.open_fds, *before.open_fds + 1);
        EXPECT_EQ(*during.threads, *before.threads + 1);
    });
    t.join();
    ::close(fd);
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_LE(*before.start_time_seconds, now + 1);
    EXPECT_GT(*before.start_time_seconds, now - 24 * 3600);  // a test binary started minutes ago, not at the epoch
    EXPECT_GE(*before.resident_bytes, 1 << 20);
}

TEST(ProcessMetricsTest, CollectNamesEveryFamily) {
    const auto families = process_metrics().Collect();
    std::vector<std::string> names;
    for (const auto& f : families) names.push_back(f.name);
    EXPECT_EQ(names, (std::vector<std::string>{"process_cpu_seconds_total", "process_resident_memory_bytes",
                                               "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                                               "process_start_time_seconds", "process_threads"}));
}

}  // namespace
}  // namespace registry_redirector
