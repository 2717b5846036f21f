#pragma once
/// Watches the folders that hold the configuration (inotify) and calls back
/// once things have been quiet for a moment. Watching folders rather than
/// files catches editors that replace a file, and a Kubernetes ConfigMap
/// volume, which swaps its `..data` symlink with a rename.

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace registry_redirector {

/// Thread safety: all calls and the callback run on the io_context's thread.
class config_watcher {
public:
    config_watcher(boost::asio::io_context& context, std::chrono::milliseconds debounce,
                   std::function<void(const std::string& what)> on_change);
    ~config_watcher();

    /// Replaces the watched set. Folders that do not exist are skipped and
    /// returned, so the caller can warn.
    std::vector<std::string> watch(const std::vector<std::string>& folders);

private:
    void do_read();
    void on_events(std::size_t bytes);

    boost::asio::posix::stream_descriptor stream_;
    boost::asio::steady_timer debounce_timer_;
    std::chrono::milliseconds debounce_;
    std::function<void(const std::string&)> on_change_;
    std::map<int, std::string> watches_;  // watch descriptor -> folder
    std::string last_change_;
    alignas(8) char buffer_[16384];
};

}  // namespace registry_redirector
