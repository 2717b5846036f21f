#include "server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <cerrno>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace registry_redirector::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

unsigned short free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

namespace {

fs::path temp_log() {
    std::string pattern = (fs::temp_directory_path() / "redirector-it-XXXXXX").string();
    const int fd = ::mkstemp(pattern.data());
    ::close(fd);
    return pattern;
}

int spawn(const std::vector<std::string>& args, const fs::path& log) {
    const int pid = ::fork();
    if (pid == 0) {
        const int out = ::open(log.c_str(), O_WRONLY | O_TRUNC);
        ::dup2(out, 1);
        ::dup2(out, 2);
        std::vector<char*> argv;
        std::string binary = REDIRECTOR_BINARY;
        argv.push_back(binary.data());
        std::vector<std::string> copy = args;
        for (auto& a : copy) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
    }
    return pid;
}

int wait_pid(int pid, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        const int r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        std::this_thread::sleep_for(10ms);
    }
    return -1;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

process_result run_binary(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    const auto log = temp_log();
    const int pid = spawn(args, log);
    process_result r;
    r.exit_code = wait_pid(pid, timeout);
    if (r.exit_code == -1) {
        ::kill(pid, SIGKILL);
        wait_pid(pid, 5s);
    }
    r.output = read_file(log);
    fs::remove(log);
    return r;
}

server_process::server_process(const std::string& config, std::vector<std::string> extra_args)
    : port_(free_port()), admin_port_(free_port()), log_(temp_log()) {
    std::vector<std::string> args{"serve",          "--config", config, "--listen", "127.0.0.1:" + std::to_string(port_),
                                  "--admin-listen", "127.0.0.1:" + std::to_string(admin_port_)};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    pid_ = spawn(args, log_);
}

server_process::~server_process() {
    if (pid_ > 0 && exit_code_ == -1) {
        ::kill(pid_, SIGKILL);
        wait_pid(pid_, 5s);
    }
    std::error_code ignored;
    fs::remove(log_, ignored);
}

bool server_process::running() {
    if (exit_code_ != -1) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return false;
    }
    return true;
}

bool server_process::wait_ready(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!running()) return false;
        const auto r = http_get(admin_port_, "/readyz");
        if (r && r->status == 200) return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

int server_process::stop(int signal, std::chrono::milliseconds timeout) {
    if (exit_code_ != -1) return exit_code_;
    ::kill(pid_, signal);
    return wait_exit(timeout);
}

int server_process::wait_exit(std::chrono::milliseconds timeout) {
    if (exit_code_ != -1) return exit_code_;
    exit_code_ = wait_pid(pid_, timeout);
    return exit_code_;
}

void server_process::send_signal(int signal) const {
    if (exit_code_ == -1) ::kill(pid_, signal);
}

std::string server_process::output() const { return read_file(log_); }

std::string http_response::header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
}

http_client::http_client(unsigned short port, const std::string& source) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (!source.empty()) {
        sockaddr_in from{};
        from.sin_family = AF_INET;
        ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) throw std::runtime_error("bind " + source);
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

http_client::~http_client() { close_fd(); }

void http_client::close_fd() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void http_client::send(const std::string& bytes) {
    if (fd_ >= 0) send_bytes(bytes.data(), bytes.size());
}

bool http_client::send_bytes(const char* data, std::size_t size) {
    std::size_t sent = 0;
    while (sent < size) {
        const auto n = ::send(fd_, data + sent, size - sent, MSG_NOSIGNAL);
        if (n <= 0) return false;
        sent += static_cast<std::size_t>(n);
    }
    return true;
}

long http_client::receive_bytes(char* data, std::size_t size, std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
        errno = EAGAIN;
        return -1;
    }
    return static_cast<long>(::recv(fd_, data, size, 0));
}

bool http_client::fill(std::chrono::milliseconds timeout) {
    if (fd_ < 0) return false;
    char chunk[16384];
    const auto n = receive_bytes(chunk, sizeof chunk, timeout);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
}

std::optional<http_response> http_client::read_response(bool head, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto left = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    };
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
        if (left().count() <= 0 || !fill(left())) return std::nullopt;
    http_response r;
    std::istringstream lines(buffer_.substr(0, end));
    std::string line;
    std::getline(lines, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    r.status_line = line;
    if (line.size() >= 12) r.status = std::stoi(line.substr(9, 3));
    while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        r.headers.emplace(name, value);
    }
    buffer_.erase(0, end + 4);
    const std::size_t length = head || r.header("content-length").empty() ? 0 : std::stoul(r.header("content-length"));
    while (buffer_.size() < length)
        if (left().count() <= 0 || !fill(left())) return std::nullopt;
    r.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return r;
}

bool http_client::closed_by_server(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (fd_ < 0) return true;
    while (std::chrono::steady_clock::now() < deadline) {
        char chunk[4096];
        const auto n = receive_bytes(chunk, sizeof chunk, 50ms);
        if (n == 0) return true;  // EOF
        if (n > 0) buffer_.append(chunk, static_cast<std::size_t>(n));
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return true;  // reset
    }
    return false;
}

double scrape_metric(unsigned short admin_port, const std::string& series) {
    const auto r = http_get(admin_port, "/metrics");
    if (!r) return -1;
    std::istringstream lines(r->body);
    std::string line;
    while (std::getline(lines, line))
        if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    return 0;
}

bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return false;
}

std::optional<http_response> http_get(unsigned short port, const std::string& target, const std::string& extra_headers,
                                      const std::string& source) {
    http_client c(port, source);
    if (!c.connected()) return std::nullopt;
    c.send("GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra_headers + "Connection: close\r\n\r\n");
    return c.read_response();
}

}  // namespace registry_redirector::testing
