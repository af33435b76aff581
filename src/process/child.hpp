// The pool's child processes as the parent sees them: starting this executable again,
// pidfds, and how a process ended. Private to the library.
#pragma once

#include <sys/types.h>

#include <string>

namespace concurrent::futures::detail {

// Runs this executable again (/proc/self/exe) with kWorkerMarkerVariable set to
// `marker` and `child_end` as its fd 3; nothing else of the parent's descriptors is
// inherited. Returns the pid; throws std::system_error.
pid_t spawn_self(const std::string& marker, int child_end);

int pidfd_open(pid_t pid);
int pidfd_send_signal(int pidfd, int sig);

// How a worker ended, for BrokenProcessPool's message.
struct ExitStatus {
  bool known = false;
  bool signaled = false;
  int code = 0;  // exit code or signal number
};

ExitStatus from_wait_status(int status);

// "worker process N exited with code C (...)", "... was killed by signal S (SIGxxx)".
std::string describe_exit(pid_t pid, const ExitStatus& s);

}  // namespace concurrent::futures::detail
