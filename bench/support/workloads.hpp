// The experiments' task bodies, shared by the runner, the fork baseline and the process
// pool (plain free functions with serializable arguments, so the process pool takes
// them), plus the machine facts the runner reports.
#pragma once

#include <sched.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <thread>

namespace bench {

// The "busy" task: the sum of the integers below n. The empty asm makes the compiler
// treat the running sum as changed each step, so the loop is neither vectorised nor
// folded into n(n-1)/2: the task really does n additions.
inline std::uint64_t busy_sum(std::uint64_t n) {
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    sum += i;
    asm volatile("" : "+r"(sum));
  }
  return sum;
}

// The "compute" task: n steps of y = cos(y) from 0.001; each step needs the last.
inline double cos_steps(std::uint64_t n) {
  double y = 0.001;
  for (std::uint64_t i = 0; i < n; ++i) y = std::cos(y);
  return y;
}

// The "idle"/"wait" task: sleeps, standing in for waiting on a disk or a network.
inline int idle(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  return 0;
}

// CPUs this process may run on (its affinity mask), as os.process_cpu_count().
inline int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace bench
