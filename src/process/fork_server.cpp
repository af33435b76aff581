// The fork server: the pool's client (ForkServer) and the server's loop.
#include "process/fork_server.hpp"

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "process/child.hpp"
#include "process/fork_safety.hpp"
#include "process/worker.hpp"

namespace concurrent::futures::detail {

// ---- Client ---------------------------------------------------------------------------

void ForkServer::start() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    throw_errno("socketpair");
  }
  control_.reset(fds[0]);
  UniqueFd child(fds[1]);
  pid_ = spawn_self("forkserver:3", child.get());
}

pid_t ForkServer::fork_worker(int channel) {
  ForkServerRequest request{static_cast<int>(ForkServerOp::fork_worker), 0};
  iovec iov{&request, sizeof request};
  alignas(cmsghdr) char buffer[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = buffer;
  msg.msg_controllen = sizeof buffer;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &channel, sizeof(int));
  ssize_t n;
  do {
    n = ::sendmsg(control_.get(), &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof request)) throw_errno("the fork server is gone (sendmsg)");
  ForkServerReply reply{};
  do {
    n = ::recv(control_.get(), &reply, sizeof reply, 0);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof reply)) {
    errno = n < 0 ? errno : EPIPE;
    throw_errno("the fork server is gone (recv)");
  }
  if (reply.error != 0) {
    errno = reply.error;
    throw_errno("the fork server could not fork a worker");
  }
  return reply.value;
}

std::optional<int> ForkServer::wait_worker(pid_t pid) {
  ForkServerRequest request{static_cast<int>(ForkServerOp::wait_worker), pid};
  if (::send(control_.get(), &request, sizeof request, MSG_NOSIGNAL) !=
      static_cast<ssize_t>(sizeof request)) {
    return std::nullopt;
  }
  ForkServerReply reply{};
  ssize_t n;
  do {
    n = ::recv(control_.get(), &reply, sizeof reply, 0);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof reply) || reply.error != 0) return std::nullopt;
  return reply.value;
}

void ForkServer::stop() {
  control_.reset();
  if (pid_ > 0) {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

// ---- Server ---------------------------------------------------------------------------

namespace {

bool receive_request(int control, ForkServerRequest& request, int& passed_fd) {
  passed_fd = -1;
  iovec iov{&request, sizeof request};
  alignas(cmsghdr) char control_buffer[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control_buffer;
  msg.msg_controllen = sizeof control_buffer;
  ssize_t n;
  do {
    n = ::recvmsg(control, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof request)) return false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      std::memcpy(&passed_fd, CMSG_DATA(c), sizeof(int));
    }
  }
  return true;
}

void reply(int control, int value, int error) {
  const ForkServerReply r{value, error};
  (void)::send(control, &r, sizeof r, MSG_NOSIGNAL);
}

}  // namespace

int forkserver_main(int control) noexcept {
  ForkServerRequest request{};
  int fd = -1;
  while (receive_request(control, request, fd)) {
    if (request.op == static_cast<int>(ForkServerOp::fork_worker) && fd >= 0) {
      flush_standard_streams();  // or each worker would print the server's output again
      const pid_t pid = ::fork();
      if (pid == 0) {
        ::close(control);
        ::_exit(worker_main(fd));
      }
      const int error = pid < 0 ? errno : 0;
      ::close(fd);
      reply(control, pid, error);
    } else if (request.op == static_cast<int>(ForkServerOp::wait_worker)) {
      if (fd >= 0) ::close(fd);
      int status = 0;
      pid_t r;
      do {
        r = ::waitpid(request.pid, &status, 0);
      } while (r < 0 && errno == EINTR);
      reply(control, status, r < 0 ? errno : 0);
    } else {
      if (fd >= 0) ::close(fd);
      reply(control, -1, EINVAL);
    }
  }
  // The pool is gone: its workers see their channels close and exit; reap them all.
  int status = 0;
  while (::waitpid(-1, &status, 0) > 0 || errno == EINTR) {
  }
  return 0;
}

}  // namespace concurrent::futures::detail
