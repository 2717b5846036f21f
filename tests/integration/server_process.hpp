#pragma once
// Runs the real registry-redirector binary and talks to it over real
// loopback sockets. Every wait is bounded.

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace registry_redirector::testing {

/// A port that was free a moment ago (bound to port 0, then released).
unsigned short free_port();

struct process_result {
    int exit_code = -1;
    std::string output;  ///< stdout and stderr together
};

/// Runs the binary to completion (bounded by `timeout`).
process_result run_binary(const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout = std::chrono::seconds(20));

class server_process {
public:
    /// Starts `registry-redirector serve --config CONFIG --listen 127.0.0.1:P
    /// --admin-listen 127.0.0.1:Q` with free ports.
    explicit server_process(const std::string& config, std::vector<std::string> extra_args = {});
    ~server_process();

    unsigned short port() const noexcept { return port_; }
    unsigned short admin_port() const noexcept { return admin_port_; }

    /// Polls /readyz until 200; false after `timeout`.
    bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Sends `signal` and waits for the exit; returns the exit code (or
    /// 128+signal if it was killed by a signal), -1 on timeout.
    int stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(20));
    /// Waits for the process to exit on its own.
    int wait_exit(std::chrono::milliseconds timeout);
    std::string output() const;
    bool running();
    void send_signal(int signal) const;

private:
    int pid_ = -1;
    int exit_code_ = -1;
    unsigned short port_ = 0;
    unsigned short admin_port_ = 0;
    std::filesystem::path log_;
};

struct http_response {
    int status = 0;
    std::string status_line;
    std::multimap<std::string, std::string> headers;  ///< lower-case names
    std::string body;
    std::string header(const std::string& name) const;
};

/// A blocking client over one TCP connection, with receive timeouts. The
/// transport (send_bytes/receive_bytes) is plain TCP here; tls_client
/// (tls_support.hpp) overrides it.
class http_client {
public:
    /// Connects to 127.0.0.1:port, from `source` (e.g. "127.0.0.2") if given.
    explicit http_client(unsigned short port, const std::string& source = "");
    virtual ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    void send(const std::string& bytes);
    /// Reads one response (status line, headers, Content-Length body; HEAD
    /// responses have no body). nullopt on close or timeout.
    std::optional<http_response> read_response(bool head = false,
                                                std::chrono::milliseconds timeout = std::chrono::seconds(5));
    /// True when the server closes the connection within `timeout`.
    bool closed_by_server(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    bool connected() const noexcept { return fd_ >= 0; }

protected:
    /// Writes all of `bytes`; false on error.
    virtual bool send_bytes(const char* data, std::size_t size);
    /// Up to `size` bytes within `timeout`; 0 on close, -1 on error or timeout.
    virtual long receive_bytes(char* data, std::size_t size, std::chrono::milliseconds timeout);
    int fd() const noexcept { return fd_; }
    void close_fd() noexcept;

private:
    bool fill(std::chrono::milliseconds timeout);
    int fd_ = -1;
    std::string buffer_;
};

/// The value of one series in the server's /metrics (exact label text), or
/// -1 when the scrape fails and 0 when the series is absent.
double scrape_metric(unsigned short admin_port, const std::string& series);

/// Polls `condition` every 5 ms until it holds or `timeout` passes.
bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// The two answers the small test worlds give for "/v2/".
inline const std::string to_bigcloud = "https://reg.bigcloud.example/v2/";
inline const std::string to_google = "https://k8s.gcr.io/v2/";

/// GET `target` on a fresh connection; the response or nullopt.
std::optional<http_response> http_get(unsigned short port, const std::string& target,
                                      const std::string& extra_headers = "", const std::string& source = "");

}  // namespace registry_redirector::testing
