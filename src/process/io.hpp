// Small POSIX helpers for the process pool: owned file descriptors and whole-buffer
// blocking I/O (used by workers and the fork server; the parent's management thread
// uses non-blocking I/O instead).
#pragma once

#include <poll.h>
#include <unistd.h>

#include <chrono>

#include <cstddef>
#include <string>
#include <utility>

namespace concurrent::futures::detail {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Reads exactly `n` bytes. Returns false on end of file before any byte; throws
// std::system_error on an error or a short read mid-way.
bool read_exact(int fd, void* data, std::size_t n);
// Reads at least `need` and at most `room` bytes (need <= room) into `data`, as many as
// are there once `need` have come; returns how many, 0 on end of file before any byte.
// Throws like read_exact.
std::size_t read_at_least(int fd, void* data, std::size_t need, std::size_t room);
// Writes all `n` bytes (MSG_NOSIGNAL on sockets); throws std::system_error on error.
void write_all(int fd, const void* data, std::size_t n);

// Polls `fds` without blocking, yielding the CPU between polls, until one of them is
// ready (or poll() fails) or `until` passes; returns poll()'s last result, 0 if none was
// ready. What the pool's threads and its workers do for a short while before they block,
// when what they wait for is likely to come within it: waking a sleeping thread costs
// more (5-50 us).
int poll_spinning(pollfd* fds, std::size_t count, std::chrono::steady_clock::time_point until);

// Throws std::system_error(errno, what).
[[noreturn]] void throw_errno(const char* what);

// What a pool holds while it runs: two eventfds and an epoll instance, and per worker its
// socket and pidfd (plus the fork server's socket); while it starts a worker, one more
// (the worker's end).
inline constexpr std::size_t kDescriptorsPerWorker = 2;
inline constexpr std::size_t kDescriptorsPerPool = 5;

// Like throw_errno, for a call (`what`) that failed while a pool of `workers` workers
// started: if errno says it ran out of descriptors (EMFILE, ENFILE), the message says
// how many the pool needs and what to change.
[[noreturn]] void throw_start_error(const char* what, std::size_t workers);

}  // namespace concurrent::futures::detail
