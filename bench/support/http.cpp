// The loopback web site and its client on cpp-httplib (see http.hpp).
#include "support/http.hpp"

#include <fmt/core.h>

#include <stdexcept>

namespace bench {

namespace {

std::string make_page(std::size_t bytes) {
  std::string body = "<html><body><pre>\n";
  while (body.size() + 22 < bytes) body += "concurrent::futures\n";
  body.resize(bytes > 22 ? bytes - 22 : body.size(), '.');
  body += "\n</pre></body></html>\n";
  return body;
}

}  // namespace

HttpServer::HttpServer(Options options) : options_(options), page_(make_page(options.page_bytes)) {
  // A bounded pool of handler threads: at most max_connections requests are served at
  // once, the rest wait in the backlog.
  const std::size_t threads = options_.max_connections;
  server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_.set_read_timeout(std::chrono::seconds(10));
  server_.set_write_timeout(std::chrono::seconds(10));
  server_.Get("/page", [this](const httplib::Request&, httplib::Response& response) {
    {
      // Wait out the delay, unless the server is stopping.
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, options_.delay, [this] { return stopping_; });
    }
    response.set_content(page_, "text/html");
    std::lock_guard lock(mutex_);
    ++served_;
    last_request_ = std::chrono::steady_clock::now();
    changed_.notify_all();
  });
  const int port = server_.bind_to_any_port("127.0.0.1");  // loopback only, ephemeral port
  if (port <= 0) throw std::runtime_error("HTTP server: cannot bind a port on 127.0.0.1");
  port_ = static_cast<std::uint16_t>(port);
  last_request_ = std::chrono::steady_clock::now();
  listener_ = std::thread([this] {
    server_.listen_after_bind();
    listener_done_ = true;
  });
  watchdog_ = std::thread([this] { watch(); });
}

HttpServer::~HttpServer() { stop(); }

std::size_t HttpServer::requests_served() const {
  std::lock_guard lock(mutex_);
  return served_;
}

void HttpServer::watch() {
  std::unique_lock lock(mutex_);
  while (!stopping_ && served_ < options_.max_requests &&
         std::chrono::steady_clock::now() - last_request_ < options_.idle_timeout) {
    changed_.wait_until(lock, last_request_ + options_.idle_timeout);
  }
  lock.unlock();
  // Past the bound or idle for too long: refuse further requests. httplib's stop() does
  // nothing until the listener runs, so wait for it to start (or to have failed).
  while (!server_.is_running() && !listener_done_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server_.stop();
}

void HttpServer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  if (listener_.joinable()) listener_.join();
}

std::size_t http_get(std::uint16_t port, const std::string& path,
                     std::chrono::milliseconds timeout) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  const httplib::Result result = client.Get(path);
  if (!result) {
    throw std::runtime_error(fmt::format("GET http://127.0.0.1:{}{} failed: {}", port, path,
                                         httplib::to_string(result.error())));
  }
  if (result->status != 200) {
    throw std::runtime_error(fmt::format("GET http://127.0.0.1:{}{} answered {}, not 200 OK", port,
                                         path, result->status));
  }
  return result->body.size();
}

}  // namespace bench
