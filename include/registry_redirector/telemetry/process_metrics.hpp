#pragma once
/// The Prometheus process collector's metrics (process_cpu_seconds_total,
/// process_resident_memory_bytes, process_virtual_memory_bytes,
/// process_open_fds, process_max_fds, process_start_time_seconds,
/// process_threads), read from /proc/self at scrape time, as the Go and
/// Python clients do. Nothing is sampled between scrapes.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace registry_redirector {

/// What one read of /proc/self gives. A field the kernel did not provide
/// stays empty and its metric is left out of the scrape.
struct process_sample {
    std::optional<double> cpu_seconds;
    std::optional<double> resident_bytes;
    std::optional<double> virtual_bytes;
    std::optional<double> start_time_seconds;  ///< Unix time
    std::optional<double> threads;
    std::optional<double> open_fds;
    std::optional<double> max_fds;
};

/// Parses the text of /proc/<pid>/stat (proc(5)): fields after the
/// parenthesised command name, which may itself hold spaces and ')'.
/// `ticks_per_second` is sysconf(_SC_CLK_TCK), `page_size` the page size
/// and `boot_time_seconds` the btime line of /proc/stat. Malformed text
/// leaves the fields empty; never throws.
void parse_proc_stat(std::string_view stat, double ticks_per_second, double page_size, double boot_time_seconds,
                     process_sample& out) noexcept;

/// The soft "Max open files" limit from the text of /proc/<pid>/limits
/// ("unlimited" gives nothing).
std::optional<double> parse_max_open_files(std::string_view limits) noexcept;

/// The btime line of /proc/stat.
std::optional<double> parse_boot_time(std::string_view proc_stat) noexcept;

/// Reads /proc/self now.
process_sample sample_this_process();

/// Thread safety: Collect may be called from any thread.
class process_metrics : public prometheus::Collectable {
public:
    std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace registry_redirector
