#include "process/io.hpp"

#include <fmt/format.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <string_view>
#include <system_error>

namespace concurrent::futures::detail {

int poll_spinning(pollfd* fds, std::size_t count, std::chrono::steady_clock::time_point until) {
  for (;;) {
    const int n = ::poll(fds, count, 0);
    if (n != 0 || std::chrono::steady_clock::now() >= until) return n;
    ::sched_yield();
  }
}

void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void throw_start_error(const char* what, std::size_t workers) {
  const int error = errno;
  if (error != EMFILE && error != ENFILE) throw_errno(what);
  const std::size_t needed = kDescriptorsPerWorker * workers + kDescriptorsPerPool;
  // The system_error adds the errno text at the end; `what` may already carry it.
  std::string_view operation(what);
  const std::string suffix = ": " + std::generic_category().message(error);
  if (operation.size() > suffix.size() &&
      operation.substr(operation.size() - suffix.size()) == suffix) {
    operation.remove_suffix(suffix.size());
  }
  std::string message;
  if (error == ENFILE) {
    message = fmt::format(
        "ProcessPoolExecutor: the system ran out of file descriptors while starting the pool "
        "({}); a pool of {} workers needs {}: close descriptors other programs hold, lower "
        "max_workers, or raise the system's limit (sysctl fs.file-max)",
        operation, workers, needed);
  } else {
    rlimit limit{};
    const bool known = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY;
    message = fmt::format(
        "ProcessPoolExecutor: this process ran out of file descriptors while starting the pool "
        "({}); a pool of {} workers needs {} ({} per worker and {} more){}: close "
        "descriptors you no longer need, lower max_workers, or raise the limit (ulimit -n, or "
        "setrlimit(RLIMIT_NOFILE))",
        operation, workers, needed, kDescriptorsPerWorker, kDescriptorsPerPool,
        known ? fmt::format(" and this process may have only {} open", limit.rlim_cur) : "");
  }
  throw std::system_error(error, std::generic_category(), message);
}

bool read_exact(int fd, void* data, std::size_t n) {
  return n == 0 || read_at_least(fd, data, n, n) == n;
}

std::size_t read_at_least(int fd, void* data, std::size_t need, std::size_t room) {
  auto* p = static_cast<char*>(data);
  std::size_t done = 0;
  while (done < need) {
    const ssize_t r = ::read(fd, p + done, room - done);
    if (r > 0) {
      done += static_cast<std::size_t>(r);
    } else if (r == 0) {
      if (done == 0) return 0;
      errno = EPIPE;
      throw_errno("read: the channel closed in the middle of a message");
    } else if (errno != EINTR) {
      throw_errno("read");
    }
  }
  return done;
}

void write_all(int fd, const void* data, std::size_t n) {
  const auto* p = static_cast<const char*>(data);
  std::size_t done = 0;
  while (done < n) {
    const ssize_t r = ::send(fd, p + done, n - done, MSG_NOSIGNAL);
    if (r >= 0) {
      done += static_cast<std::size_t>(r);
    } else if (errno == ENOTSOCK) {
      const ssize_t w = ::write(fd, p + done, n - done);
      if (w >= 0) {
        done += static_cast<std::size_t>(w);
      } else if (errno != EINTR) {
        throw_errno("write");
      }
    } else if (errno != EINTR) {
      throw_errno("send");
    }
  }
}

}  // namespace concurrent::futures::detail
