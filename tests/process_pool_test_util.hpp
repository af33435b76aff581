// Shared by the process pool's tests (process_pool_*_test.cpp): functions the workers
// run, crashes on purpose, checks for leaked processes and descriptors, and a fixture
// parameterised by start method. Functions a worker runs are inline in a named
// namespace, so that each has one symbol the worker can find by name.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "concurrent/futures/process_pool.hpp"
#include "test_util.hpp"

namespace concurrent::futures::test {

// ------------------------------------------------------------------------------------
// What the workers run.

inline int square(int x) { return x * x; }
inline int add(int a, int b) { return a + b; }
inline int my_pid() { return static_cast<int>(::getpid()); }
inline int sleep_then(int ms, int x) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return x;
}
inline std::size_t byte_count(std::vector<char> bytes) { return bytes.size(); }

// ------------------------------------------------------------------------------------
// Crashes on purpose.

enum class Action { none, throw_error, exit_3, abort, sigkill, sigsegv };

inline const char* to_string(Action a) {
  switch (a) {
    case Action::none:
      return "none";
    case Action::throw_error:
      return "throw";
    case Action::exit_3:
      return "exit";
    case Action::abort:
      return "abort";
    case Action::sigkill:
      return "sigkill";
    case Action::sigsegv:
      return "sigsegv";
  }
  return "?";
}

inline void act(Action a) {
  switch (a) {
    case Action::none:
      return;
    case Action::throw_error:
      throw std::runtime_error("the bomb went off");
    case Action::exit_3:
      std::exit(3);  // NOLINT(concurrency-mt-unsafe): ending the worker mid-call is the test
    case Action::abort:
      std::abort();
    case Action::sigkill:
      ::raise(SIGKILL);
      return;
    case Action::sigsegv: {
      // A sanitizer's handler would turn the fault into its own report and an abort or
      // an exit code; the tests want the worker to die of the fault itself.
      ::signal(SIGSEGV, SIG_DFL);
      volatile int* volatile p = nullptr;
      *p = 1;
      return;
    }
  }
}

// Sleeps, then crashes: for crashes while other work is queued behind it.
inline int crash_after(int ms, int action) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  act(static_cast<Action>(action));
  return 0;
}

// ------------------------------------------------------------------------------------
// Checks.

// Descriptors open in this process: the entries of /proc/self/fd, less the one the
// listing itself holds open.
inline std::size_t open_fds() {
  const std::filesystem::directory_iterator fds("/proc/self/fd");
  return static_cast<std::size_t>(std::distance(begin(fds), end(fds))) - 1;
}

inline bool process_exists(int pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

inline bool has_children() {
#if defined(CONCURRENT_FUTURES_TEST_SANITIZED)
  // A sanitizer may keep its symbolizer as a child process.
  return false;
#endif
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

// "no error", "BrokenProcessPool: <what>", "WorkerDied: <what>" or "other: <what>".
template <class T>
std::string error_of(const Future<T>& f) {
  try {
    (void)f.result(kLongTimeout);
  } catch (const BrokenProcessPool& e) {
    return std::string("BrokenProcessPool: ") + e.what();
  } catch (const WorkerDied& e) {
    return std::string("WorkerDied: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("other: ") + e.what();
  }
  return "no error";
}

// ------------------------------------------------------------------------------------
// A fixture per start method: each test file derives its own suite from it and
// instantiates it over kStartMethods.

class ProcessPoolTest : public testing::TestWithParam<StartMethod> {
 protected:
  ProcessPoolOptions options(std::size_t workers) {
    ProcessPoolOptions o;
    o.max_workers = workers;
    o.start_method = GetParam();
    return o;
  }
};

inline const auto kStartMethods =
    testing::Values(StartMethod::fork, StartMethod::spawn, StartMethod::forkserver);

inline std::string start_method_name(const testing::TestParamInfo<StartMethod>& info) {
  return to_string(info.param);
}

}  // namespace concurrent::futures::test
