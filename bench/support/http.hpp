// A tiny HTTP/1.0 server on the loopback interface, standing in for a remote web site in
// the I/O-bound experiment, and the matching blocking GET client.
//
// The server binds 127.0.0.1 on an ephemeral port (never another interface), answers
// every GET with one page after a fixed delay (the "network latency"), one thread per
// connection up to a bound, and stops by itself after `max_requests` requests or after
// `idle_timeout` without one, so a crashed runner never leaves it behind.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bench {

class HttpServer {
 public:
  struct Options {
    std::chrono::milliseconds delay{100};  // before each response
    std::size_t page_bytes = 64 * 1024;
    std::size_t max_requests = 10'000;
    std::chrono::milliseconds idle_timeout{60'000};
    std::size_t max_connections = 64;  // served at once; more wait in the backlog
  };

  // Binds and starts serving; throws std::runtime_error if the socket cannot be set up.
  explicit HttpServer(Options options);
  ~HttpServer();  // stops and joins every thread
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::size_t requests_served() const { return served_.load(); }
  void stop();

 private:
  void accept_loop();
  void serve(int fd);

  Options options_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::string response_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> served_{0};
  std::atomic<std::size_t> active_{0};
  std::mutex threads_mutex_;
  std::vector<std::thread> threads_;  // guarded by threads_mutex_
  std::thread acceptor_;
};

// GET http://127.0.0.1:<port><path>; returns the body's size. Throws std::runtime_error
// on any failure (refused, timed out after `timeout`, not a 200 response).
std::size_t http_get(std::uint16_t port, const std::string& path = "/page",
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(30'000));

}  // namespace bench
