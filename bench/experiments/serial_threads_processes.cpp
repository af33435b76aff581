// Experiment 2, serial vs threads vs processes: N = usable CPUs tasks of wait (sleep) and
// compute (cos steps), serially, as N std::threads, as N forked processes, and through
// both executors.
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "experiments/experiments.hpp"
#include "runner/pools.hpp"

namespace bench {

namespace {

template <class Fn, class Arg>
double run_mode(const std::string& mode, int n, Fn fn, Arg arg) {
  const auto t0 = Clock::now();
  if (mode == "serial") {
    for (int i = 0; i < n; ++i) fn(arg);
  } else if (mode == "threads") {
    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) threads.emplace_back([&] { fn(arg); });
    for (auto& t : threads) t.join();
  } else if (mode == "processes") {
    std::vector<pid_t> children;
    for (int i = 0; i < n; ++i) {
      std::fflush(nullptr);
      const pid_t pid = ::fork();
      if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
      if (pid == 0) {
        fn(arg);
        ::_exit(0);
      }
      children.push_back(pid);
    }
    for (pid_t pid : children) {
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error("a forked child failed");
      }
    }
  } else {
    const Pool pool = mode == "thread_pool" ? Pool::threads : Pool::processes;
    run_on_pool(pool, n, n, fn, arg, nullptr);
  }
  return seconds_since(t0);
}

}  // namespace

void serial_threads_processes(const Config& config, Progress& progress, Results& r) {
  for (const std::string kind : {"wait", "compute"}) {
    for (const auto& mode : kModes) {
      std::vector<double> walls;
      for (int rep = 0; rep < config.scale.reps; ++rep) {
        progress.note(fmt::format("{}/{} x{} (rep {}/{})", kind, mode, config.cpus, rep + 1,
                                  config.scale.reps));
        walls.push_back(kind == "wait"
                            ? run_mode(mode, config.cpus, idle_task, config.scale.wait_s)
                            : run_mode(mode, config.cpus, compute_task, config.scale.compute_n));
      }
      r.sst.push_back({kind, mode, true, median(walls)});
    }
  }
}

}  // namespace bench
