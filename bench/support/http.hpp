// The I/O-bound experiment's web site and its client, on cpp-httplib: a server on the
// loopback interface standing in for a remote site, and a blocking GET.
//
// The server binds 127.0.0.1 on an ephemeral port (never another interface), answers
// every GET of /page with one page after a fixed delay (the "network latency") on a
// bounded number of threads, and stops by itself after `max_requests` requests or after
// `idle_timeout` without one, so a runner that never stops it cannot leave it serving.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace bench {

class HttpServer {
 public:
  struct Options {
    std::chrono::milliseconds delay{100};  // before each response
    std::size_t page_bytes = std::size_t{64} * 1024;
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
  std::size_t requests_served() const;
  void stop();

 private:
  void watch();  // stops the server past max_requests or idle_timeout

  Options options_;
  std::string page_;
  httplib::Server server_;
  std::uint16_t port_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t served_ = 0;                              // guarded by mutex_
  std::chrono::steady_clock::time_point last_request_;  // guarded by mutex_
  bool stopping_ = false;                               // guarded by mutex_
  std::atomic<bool> listener_done_{false};
  std::thread listener_, watchdog_;
};

// GET http://127.0.0.1:<port><path>; returns the body's size. Throws std::runtime_error
// on any failure (refused, timed out after `timeout`, not a 200 response).
std::size_t http_get(std::uint16_t port, const std::string& path = "/page",
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(30'000));

}  // namespace bench
