// The runner's configuration: the sizes of each scale (smoke, quick, full) and what the
// command line chose (bench/runner/command_line.cpp fills it in).
#pragma once

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "support/workloads.hpp"

namespace bench {

namespace fs = std::filesystem;

struct Scale {
  std::string name;
  std::uint64_t busy_n = 0;     // exp 1: the busy task sums the integers below this
  double idle_s = 0;            // exp 1: the idle task sleeps this long
  double wait_s = 0;            // exp 2: the wait task sleeps this long
  std::uint64_t compute_n = 0;  // exp 2: cos steps of the compute task
  std::uint64_t sweep_n = 0;    // exp 3: cos steps of the CPU-bound task
  int http_delay_ms = 0;        // exp 3: the server's latency per request
  int reps = 1;                 // repetitions of each timing in exp 2 and 3 (median kept)
  // exp 5
  std::string bench_min_time;
  int bench_reps = 1;
  std::vector<std::string> python_micro_args;
};

// "smoke", "quick" or "full" (anything else is taken as quick).
Scale scale_named(const std::string& name);

struct Config {
  Scale scale = scale_named("quick");
  fs::path out = CF_BENCH_DEFAULT_OUT;
  int cpus = usable_cpus();
  std::set<int> only{1, 2, 3, 4, 5};
  std::string python = "python3";
  bool use_python = true;
  fs::path python_dir = CF_BENCH_PYTHON_DIR;
  fs::path bin_dir;  // where cf_micro_bench and cf_future_size live
};

}  // namespace bench
