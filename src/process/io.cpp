#include "process/io.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <system_error>

namespace concurrent::futures::detail {

void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

bool read_exact(int fd, void* data, std::size_t n) {
  auto* p = static_cast<char*>(data);
  std::size_t done = 0;
  while (done < n) {
    const ssize_t r = ::read(fd, p + done, n - done);
    if (r > 0) {
      done += static_cast<std::size_t>(r);
    } else if (r == 0) {
      if (done == 0) return false;
      errno = EPIPE;
      throw_errno("read: the channel closed in the middle of a message");
    } else if (errno != EINTR) {
      throw_errno("read");
    }
  }
  return true;
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
