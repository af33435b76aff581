#include "support/http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace bench {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

HttpServer::HttpServer(Options options) : options_(options) {
  std::string body = "<html><body><pre>\n";
  while (body.size() + 22 < options_.page_bytes) body += "concurrent::futures\n";
  body.resize(options_.page_bytes > 22 ? options_.page_bytes - 22 : body.size(), '.');
  body += "\n</pre></body></html>\n";
  response_ =
      "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;

  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) fail("HTTP server: socket()");
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = loopback(0);  // 127.0.0.1 only, an ephemeral port
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 128) != 0) {
    const int saved = errno;
    ::close(listen_fd_);
    errno = saved;
    fail("HTTP server: bind/listen on 127.0.0.1");
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::stop() {
  stop_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(threads_mutex_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
}

void HttpServer::accept_loop() {
  auto last_request = std::chrono::steady_clock::now();
  std::size_t accepted = 0;
  while (!stop_ && accepted < options_.max_requests) {
    if (std::chrono::steady_clock::now() - last_request > options_.idle_timeout) break;
    if (active_.load() >= options_.max_connections) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++accepted;
    last_request = std::chrono::steady_clock::now();
    ++active_;
    std::lock_guard lock(threads_mutex_);
    threads_.emplace_back([this, fd] {
      serve(fd);
      --active_;
    });
  }
  // Past the bound or idle for too long: refuse further connections at once.
  ::shutdown(listen_fd_, SHUT_RDWR);
}

void HttpServer::serve(int fd) {
  set_timeouts(fd, std::chrono::milliseconds(10'000));
  std::string request;
  char buf[2048];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 16 * 1024) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    request.append(buf, static_cast<std::size_t>(n));
  }
  if (request.rfind("GET ", 0) == 0) {
    // Sleep in small steps so that stop() is never held up for long.
    const auto until = std::chrono::steady_clock::now() + options_.delay;
    while (!stop_ && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(20), until - std::chrono::steady_clock::now()));
    }
    if (send_all(fd, response_.data(), response_.size())) ++served_;
  } else {
    static constexpr char kBad[] = "HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    send_all(fd, kBad, sizeof kBad - 1);
  }
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

std::size_t http_get(std::uint16_t port, const std::string& path,
                     std::chrono::milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("http_get: socket()");
  set_timeouts(fd, timeout);
  sockaddr_in addr = loopback(port);
  std::string response;
  try {
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      fail("http_get: connect to 127.0.0.1:" + std::to_string(port));
    }
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (!send_all(fd, request.data(), request.size())) fail("http_get: send");
    char buf[16 * 1024];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("http_get: recv");
      if (n == 0) break;
      response.append(buf, static_cast<std::size_t>(n));
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  if (response.rfind("HTTP/1.0 200", 0) != 0 && response.rfind("HTTP/1.1 200", 0) != 0) {
    throw std::runtime_error("http_get: the server did not answer 200 OK");
  }
  const auto header_end = response.find("\r\n\r\n");
  return header_end == std::string::npos ? 0 : response.size() - header_end - 4;
}

}  // namespace bench
