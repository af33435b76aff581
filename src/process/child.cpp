// Starting this executable again as a worker or fork server, pidfds, exit statuses.
#include "process/child.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "process/io.hpp"
#include "process/worker.hpp"

namespace concurrent::futures::detail {

pid_t spawn_self(const std::string& marker, int child_end) {
  UniqueFd moved;
  if (child_end == 3) {  // dup2(3, 3) would leave close-on-exec set
    moved.reset(::fcntl(child_end, F_DUPFD_CLOEXEC, 10));
    if (!moved) throw_errno("fcntl(F_DUPFD_CLOEXEC)");
    child_end = moved.get();
  }
  std::vector<char*> envp;
  const std::string prefix = fmt::format("{}=", kWorkerMarkerVariable);
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, prefix.c_str(), prefix.size()) != 0) envp.push_back(*e);
  }
  std::string assignment = prefix + marker;
  envp.push_back(assignment.data());
  envp.push_back(nullptr);
  char* argv[] = {program_invocation_name, nullptr};

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawnattr_init(&attr);
  // Neither the program's signal mask nor its ignored signals carry over (exec already
  // resets handlers): a fork server that inherited SIGCHLD = SIG_IGN could not learn how
  // its workers ended.
  sigset_t none;
  sigemptyset(&none);
  ::posix_spawnattr_setsigmask(&attr, &none);
  sigset_t all;
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  ::posix_spawnattr_setsigdefault(&attr, &all);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  ::posix_spawn_file_actions_adddup2(&actions, child_end, 3);
  // Nothing else of the parent's leaks into the worker (as Python's close_fds).
  ::posix_spawn_file_actions_addclosefrom_np(&actions, 4);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, "/proc/self/exe", &actions, &attr, argv, envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    errno = rc;
    throw_errno("posix_spawn(/proc/self/exe)");
  }
  return pid;
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int pidfd_send_signal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

namespace {

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? fmt::format("SIG{}", abbrev) : std::string("unknown signal");
}

}  // namespace

ExitStatus from_wait_status(int status) {
  ExitStatus s;
  s.known = true;
  if (WIFSIGNALED(status)) {
    s.signaled = true;
    s.code = WTERMSIG(status);
  } else {
    s.code = WEXITSTATUS(status);
  }
  return s;
}

std::string describe_exit(pid_t pid, const ExitStatus& s) {
  if (!s.known) return fmt::format("worker process {} ended, and how could not be learned", pid);
  if (s.signaled) {
    return fmt::format("worker process {} was killed by signal {} ({})", pid, s.code,
                       signal_name(s.code));
  }
  const char* why = "";
  switch (s.code) {
    case kExitBadMessage:
      why = " because it could not read a message from the pool";
      break;
    case kExitParentGone:
      why = " because its channel to the pool broke";
      break;
    default:
      break;
  }
  return fmt::format("worker process {} exited with code {}{}", pid, s.code, why);
}

}  // namespace concurrent::futures::detail
