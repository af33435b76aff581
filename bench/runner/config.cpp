// The sizes of each scale. Quick keeps the classic CPU sizes with shorter sleeps; smoke
// only checks that everything still runs.
#include "runner/config.hpp"

namespace bench {

Scale scale_named(const std::string& name) {
  Scale s;
  s.name = name;
  if (name == "smoke") {
    s.busy_n = 20'000;
    s.idle_s = 0.01;
    s.wait_s = 0.01;
    s.compute_n = 20'000;
    s.sweep_n = 20'000;
    s.http_delay_ms = 5;
    s.reps = 1;
    s.bench_min_time = "0.001";
    s.bench_reps = 1;
    s.python_micro_args = {"--tasks",
                           "1000",
                           "--workers",
                           "2",
                           "--latency-samples",
                           "20",
                           "--wait-sizes",
                           "1000",
                           "--map-n",
                           "1000",
                           "--chunksizes",
                           "1",
                           "16",
                           "--process-samples",
                           "5",
                           "--callback-n",
                           "1000",
                           "--reps",
                           "1"};
  } else if (name == "full") {
    s.busy_n = 10'000'000;
    s.idle_s = 2.0;
    s.wait_s = 1.0;
    s.compute_n = 10'000'000;
    s.sweep_n = 5'000'000;
    s.http_delay_ms = 500;
    s.reps = 5;
    s.bench_min_time = "0.5";
    s.bench_reps = 5;
    s.python_micro_args = {"--tasks",
                           "100000",
                           "--workers",
                           "1",
                           "2",
                           "4",
                           "8",
                           "--latency-samples",
                           "2000",
                           "--wait-sizes",
                           "1000",
                           "10000",
                           "100000",
                           "1000000",
                           "--map-n",
                           "100000",
                           "--chunksizes",
                           "1",
                           "4",
                           "16",
                           "64",
                           "256",
                           "--process-samples",
                           "500",
                           "--callback-n",
                           "1000000",
                           "--reps",
                           "5"};
  } else {
    // Quick: the classic CPU sizes with shorter sleeps (a sleep's speedup does not
    // depend on its length), 3 repetitions; micro-benchmarks: 5 short repetitions.
    s.busy_n = 10'000'000;
    s.idle_s = 0.5;
    s.wait_s = 0.25;
    s.compute_n = 10'000'000;
    s.sweep_n = 5'000'000;
    s.http_delay_ms = 100;
    s.reps = 3;
    s.bench_min_time = "0.1";
    s.bench_reps = 5;
    s.python_micro_args = {
        "--tasks",           "100000", "--workers",    "1",      "2",      "4",
        "--latency-samples", "500",    "--wait-sizes", "1000",   "10000",  "100000",
        "--map-n",           "10000",  "--chunksizes", "1",      "16",     "256",
        "--process-samples", "100",    "--callback-n", "100000", "--reps", "3"};
  }
  return s;
}

}  // namespace bench
