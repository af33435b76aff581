// A gate that holds calls running in worker processes until the test opens it, for
// every start method (a spawned worker inherits no pipe of the test's): files in a
// private temporary directory (mkdtemp, mode 0700), whose path is the gate's token.
//
//   cft::ProcessGate gate;                       // before the pool: it outlives the calls
//   cf::ProcessPoolExecutor pool(...);
//   auto f = pool.submit(cft::gated_call, gate.dir(), std::string("a"));
//   int pid = gate.wait_started("a");            // the worker that runs it
//   gate.open("a");                              // the call returns its pid
//
// A named call (gated_call) creates `started-<name>` holding its pid and waits for
// `open-<name>` or `open-all`. An anonymous one (ProcessGate::blocked_call, the typed
// executor suite's Gate interface) arrives as `started-<pid>.<n>` and waits for
// `open-all`; arrived() counts both kinds. A waiting call checks every millisecond and
// gives up after kLongTimeout or once the directory is gone, so a failing test cannot
// leave a worker blocked forever. The destructor opens every gate and removes the
// directory.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <thread>

#include "concurrent/futures/errors.hpp"
#include "test_util.hpp"

namespace concurrent::futures::test {

namespace process_gate_detail {

inline bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Creates `path` holding `text`, atomically (a reader never sees it half-written).
inline void publish(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
  }
  std::error_code ignored;
  std::filesystem::rename(tmp, path, ignored);
}

// Announces the call `name` in `dir` and waits until its gate opens; false if it never
// did (the time ran out or the directory is gone).
inline bool pass(const std::string& dir, const std::string& name) {
  publish(dir + "/started-" + name, std::to_string(::getpid()));
  const auto deadline = std::chrono::steady_clock::now() + kLongTimeout;
  const std::string opened = dir + "/open-" + name;
  const std::string all_opened = dir + "/open-all";
  while (!exists(opened) && !exists(all_opened)) {
    if (!exists(dir) || std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace process_gate_detail

// Runs in a worker: announces itself, waits until the gate `name` in `dir` opens, and
// returns its pid (-1 if the gate never opened).
inline int gated_call(std::string dir, std::string name) {
  return process_gate_detail::pass(dir, name) ? static_cast<int>(::getpid()) : -1;
}

class ProcessGate {
 public:
  ProcessGate() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cf-gate-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp");
    }
    dir_ = pattern;
  }
  ~ProcessGate() {
    open("all");
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  ProcessGate(const ProcessGate&) = delete;
  ProcessGate& operator=(const ProcessGate&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& token() const { return dir_; }

  // Lets the call named `name` (or every call, for "all") return.
  void open(const std::string& name = "all") const {
    process_gate_detail::publish(dir_ + "/open-" + name, "");
  }

  // Whether the call named `name` has started.
  bool started(const std::string& name) const {
    return process_gate_detail::exists(dir_ + "/started-" + name);
  }

  // The pid of the worker running the call named `name`, once it has started; 0 if it
  // has not started within `timeout`.
  int wait_started(const std::string& name,
                   std::chrono::milliseconds timeout = kLongTimeout) const {
    const std::string path = dir_ + "/started-" + name;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!process_gate_detail::exists(path)) {
      if (std::chrono::steady_clock::now() > deadline) return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    int pid = 0;
    std::ifstream(path) >> pid;
    return pid;
  }

  // How many calls have reached the gate.
  std::size_t arrived() const {
    std::size_t n = 0;
    std::error_code error;
    for (const auto& e : std::filesystem::directory_iterator(dir_, error)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("started-", 0) == 0 && name.find(".tmp.") == std::string::npos) ++n;
    }
    return n;
  }

  // Waits until `n` calls have reached the gate; false if they did not within
  // kLongTimeout.
  bool wait_arrived(std::size_t n) const {
    const auto deadline = std::chrono::steady_clock::now() + kLongTimeout;
    while (arrived() < n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  // Runs in a worker: an anonymous call that waits until open() and returns x; throws
  // TimeoutError if the gate never opened.
  static int blocked_call(std::string dir, int x) {
    static int arrivals = 0;  // per worker process
    const std::string name = std::to_string(::getpid()) + "." + std::to_string(++arrivals);
    if (!process_gate_detail::pass(dir, name)) {
      throw TimeoutError("the test never opened its gate");
    }
    return x;
  }

 private:
  std::string dir_;
};

}  // namespace concurrent::futures::test
