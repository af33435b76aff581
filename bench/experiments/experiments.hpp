// The five experiments of the runner, one file each in bench/experiments/. Each takes
// the configuration, writes its files (charts, traces, raw JSON) into the results
// folder `dir`, and adds its rows to `r`; bench/report/ turns the rows into REPORT.md.
#pragma once

#include <string>
#include <vector>

#include "runner/config.hpp"
#include "runner/progress.hpp"
#include "runner/results.hpp"

namespace bench {

// Experiment 1: 15 busy or idle tasks on 5 workers, on both pools, with Gantt charts.
inline constexpr int kBusyIdleWorkers = 5;
inline constexpr int kBusyIdleTasks = 15;
void busy_vs_idle(const Config& config, const fs::path& dir, Progress& progress, Results& r);

// Experiment 2: N wait and compute tasks, each of these ways.
inline const std::vector<std::string> kModes = {"serial", "threads", "processes", "thread_pool",
                                                "process_pool"};
void serial_threads_processes(const Config& config, Progress& progress, Results& r);

// Experiment 3: CPU-bound and I/O-bound (HTTP GET from a loopback server) tasks on both
// pools for w = 1 .. N workers.
void worker_sweep(const Config& config, Progress& progress, Results& r);

// Experiment 4: bench/python/experiments.py runs 1-3 with the same sizes.
void python_side(const Config& config, const fs::path& dir, Progress& progress, Results& r);

// Experiment 5: cf_micro_bench and process_pool_bench (Google Benchmark), cf_future_size,
// and their Python peers.
void micro_benchmarks(const Config& config, const fs::path& dir, Progress& progress, Results& r);

}  // namespace bench
