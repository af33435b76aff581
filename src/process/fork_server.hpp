// The fork server (StartMethod::forkserver): a copy of this executable, spawned once per
// pool before it has workers, that forks each worker on request. It is single-threaded,
// so forking it is safe at any time, which is what lets a pool replace workers after
// its own thread exists. Private to the library.
//
// Protocol: fixed-size records on a SOCK_SEQPACKET socketpair, one reply per request.
//   fork_worker  the worker's channel rides as SCM_RIGHTS  -> the new pid, or an errno
//   wait_worker  a pid                                     -> its wait status (reaped)
// When the control channel closes, the server reaps its remaining children and exits.
#pragma once

#include <sys/types.h>

#include <optional>

#include "process/io.hpp"

namespace concurrent::futures::detail {

enum class ForkServerOp : int { fork_worker = 1, wait_worker = 2 };
struct ForkServerRequest {
  int op;
  int pid;  // wait_worker: whose status; fork_worker: a channel fd rides as SCM_RIGHTS
};
struct ForkServerReply {
  int value;  // fork_worker: the new pid; wait_worker: the wait status
  int error;  // 0 or an errno
};

// The pool's end: the client of one fork server.
class ForkServer {
 public:
  ForkServer() = default;
  ForkServer(const ForkServer&) = delete;
  ForkServer& operator=(const ForkServer&) = delete;
  ~ForkServer() { stop(); }

  void start();
  // Forks a worker serving `channel`; returns its pid.
  pid_t fork_worker(int channel);
  // The wait status of a worker that has exited (reaps it).
  std::optional<int> wait_worker(pid_t pid);
  // Closes the control channel (the server reaps its remaining children and exits)
  // and reaps the server.
  void stop();

 private:
  UniqueFd control_;
  pid_t pid_ = -1;
};

// The server's loop: serves requests on `control` until it closes; returns the exit
// code. Runs in the re-executed program (worker.cpp's hook enters it).
int forkserver_main(int control) noexcept;

}  // namespace concurrent::futures::detail
