// cf_micro_bench: the micro-benchmarks of the thread pool (against its baselines) and of
// futures, wait() and as_completed(), in the manner of Taskflow's
// benchmarks/<workload>/. Python's ThreadPoolExecutor runs the same workloads in
// bench/python/micro.py; the runner puts the two side by side and prints the ratios.
// The process pool's rows are in process_pool_bench.cpp.
//
//   cf_micro_bench [--cf_scale=smoke|quick|full] [Google Benchmark flags]
//
// Every benchmark uses real time (the work runs on other threads). Names read
// <workload>/<library>/<parameter>:<value>.
#include "micro/registry.hpp"

namespace {

void register_all(const bench::micro::Scale& s) {
  bench::micro::register_thread_pool_benchmarks(s);
  bench::micro::register_future_benchmarks(s);
  bench::micro::register_fork_join_benchmarks(s);
  bench::micro::register_compose_benchmarks(s);
}

}  // namespace

int main(int argc, char** argv) {
  return bench::micro::run_benchmarks(argc, argv, "cf_micro_bench", register_all);
}
