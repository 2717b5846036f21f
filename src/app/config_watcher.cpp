#include "registry_redirector/app/config_watcher.hpp"

#include <map>

#include <sys/inotify.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace registry_redirector {

namespace {
// Every way a file in the folder can come to hold new content.
constexpr std::uint32_t watch_mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                                     IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
}

config_watcher::config_watcher(boost::asio::io_context& context, std::chrono::milliseconds debounce,
                               std::function<void(const std::string&)> on_change)
    : stream_(context), debounce_timer_(context), debounce_(debounce), on_change_(std::move(on_change)) {
    const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) throw std::runtime_error(std::string("inotify_init1: ") + std::strerror(errno));
    stream_.assign(fd);
    do_read();
}

config_watcher::~config_watcher() {
    boost::system::error_code ignored;
    stream_.close(ignored);
}

std::vector<std::string> config_watcher::watch(const std::vector<std::string>& folders) {
    // New watches first, then the ones no longer wanted go: a folder watched
    // before and after keeps its watch (inotify returns the same descriptor),
    // so no change made meanwhile is missed. (Removing all, then adding, lost
    // a git-sync swap that landed between the two.)
    std::map<int, std::string> next;
    std::vector<std::string> missing;
    for (const auto& folder : folders) {
        const int wd = ::inotify_add_watch(stream_.native_handle(), folder.c_str(), watch_mask);
        if (wd < 0)
            missing.push_back(folder);
        else
            next[wd] = folder;
    }
    for (const auto& [wd, folder] : watches_)
        if (!next.contains(wd)) ::inotify_rm_watch(stream_.native_handle(), wd);
    watches_ = std::move(next);
    return missing;
}

void config_watcher::do_read() {
    stream_.async_read_some(boost::asio::buffer(buffer_), [this](boost::system::error_code ec, std::size_t n) {
        if (ec) return;  // closed
        on_events(n);
        do_read();
    });
}

void config_watcher::on_events(std::size_t bytes) {
    std::size_t offset = 0;
    bool relevant = false;
    while (offset + sizeof(inotify_event) <= bytes) {
        inotify_event event;
        std::memcpy(&event, buffer_ + offset, sizeof event);
        const auto it = watches_.find(event.wd);
        if (it != watches_.end()) {
            const std::string name = event.len ? std::string(buffer_ + offset + sizeof event) : std::string();
            last_change_ = it->second + (name.empty() ? "" : "/" + name);
            relevant = true;
        }
        offset += sizeof(inotify_event) + event.len;
    }
    if (!relevant) return;
    // Debounce: a ConfigMap update or an editor's save is several events;
    // reload once they have stopped for a moment.
    debounce_timer_.expires_after(debounce_);
    debounce_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) on_change_(last_change_);
    });
}

}  // namespace registry_redirector
