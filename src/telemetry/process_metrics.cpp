#include "registry_redirector/telemetry/process_metrics.hpp"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <fstream>
#include <iterator>

namespace registry_redirector {

namespace {

std::string read_file(const char* path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::optional<double> to_number(std::string_view s) {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return static_cast<double>(v);
}

/// Counts the entries of /proc/self/fd, less the one opendir holds.
std::optional<double> count_open_fds() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return std::nullopt;
    double n = 0;
    while (const dirent* e = ::readdir(dir))
        if (e->d_name[0] != '.') ++n;
    ::closedir(dir);
    return n - 1;
}

prometheus::MetricFamily gauge_or_counter(const char* name, const char* help, prometheus::MetricType type,
                                          double value) {
    prometheus::MetricFamily f;
    f.name = name;
    f.help = help;
    f.type = type;
    f.metric.emplace_back();
    if (type == prometheus::MetricType::Counter)
        f.metric.back().counter.value = value;
    else
        f.metric.back().gauge.value = value;
    return f;
}

}  // namespace

void parse_proc_stat(std::string_view stat, double ticks_per_second, double page_size, double boot_time_seconds,
                     process_sample& out) noexcept {
    // "pid (comm) state ppid ..." : comm may contain ") ", so split at the
    // last ')'. Field numbers below are proc(5)'s, 1-based.
    const std::size_t close = stat.rfind(')');
    if (close == std::string_view::npos) return;
    std::string_view rest = stat.substr(close + 1);
    std::string_view fields[64];
    std::size_t count = 0;
    while (count < std::size(fields)) {
        const std::size_t start = rest.find_first_not_of(" \n");
        if (start == std::string_view::npos) break;
        rest.remove_prefix(start);
        const std::size_t end = rest.find_first_of(" \n");
        fields[count++] = rest.substr(0, end);
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end);
    }
    // fields[0] is field 3 (state); field N is fields[N - 3].
    auto field = [&](std::size_t n) -> std::optional<double> {
        if (n - 3 >= count) return std::nullopt;
        return to_number(fields[n - 3]);
    };
    const auto utime = field(14), stime = field(15), threads = field(20), start = field(22), vsize = field(23),
               rss = field(24);
    if (utime && stime && ticks_per_second > 0) out.cpu_seconds = (*utime + *stime) / ticks_per_second;
    if (threads) out.threads = *threads;
    if (start && ticks_per_second > 0 && boot_time_seconds > 0)
        out.start_time_seconds = boot_time_seconds + *start / ticks_per_second;
    if (vsize) out.virtual_bytes = *vsize;
    if (rss) out.resident_bytes = *rss * page_size;
}

std::optional<double> parse_max_open_files(std::string_view limits) noexcept {
    constexpr std::string_view key = "Max open files";
    const std::size_t at = limits.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    std::string_view line = limits.substr(at + key.size());
    line = line.substr(0, line.find('\n'));
    const std::size_t start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) return std::nullopt;
    line.remove_prefix(start);
    return to_number(line.substr(0, line.find(' ')));  // the soft limit; "unlimited" is no number
}

std::optional<double> parse_boot_time(std::string_view proc_stat) noexcept {
    std::size_t at = proc_stat.find("\nbtime ");
    if (at == std::string_view::npos) return std::nullopt;
    std::string_view line = proc_stat.substr(at + 7);
    return to_number(line.substr(0, line.find('\n')));
}

process_sample sample_this_process() {
    static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    static const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    // Boot time does not change while we run.
    static const double boot = parse_boot_time(read_file("/proc/stat")).value_or(0);
    process_sample s;
    parse_proc_stat(read_file("/proc/self/stat"), ticks, page, boot, s);
    s.open_fds = count_open_fds();
    s.max_fds = parse_max_open_files(read_file("/proc/self/limits"));
    return s;
}

std::vector<prometheus::MetricFamily> process_metrics::Collect() const {
    const process_sample s = sample_this_process();
    std::vector<prometheus::MetricFamily> out;
    auto add = [&](const std::optional<double>& v, const char* name, const char* help, prometheus::MetricType type) {
        if (v) out.push_back(gauge_or_counter(name, help, type, *v));
    };
    using type = prometheus::MetricType;
    add(s.cpu_seconds, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", type::Counter);
    add(s.resident_bytes, "process_resident_memory_bytes", "Resident memory size in bytes.", type::Gauge);
    add(s.virtual_bytes, "process_virtual_memory_bytes", "Virtual memory size in bytes.", type::Gauge);
    add(s.open_fds, "process_open_fds", "Number of open file descriptors.", type::Gauge);
    add(s.max_fds, "process_max_fds", "Maximum number of open file descriptors.", type::Gauge);
    add(s.start_time_seconds, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
        type::Gauge);
    add(s.threads, "process_threads", "Number of OS threads in the process.", type::Gauge);
    return out;
}

}  // namespace registry_redirector
