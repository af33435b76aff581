// cf_experiments, the benchmark runner: the classic concurrent.futures comparisons, run
// in C++ and (when python3 is present) with Python's own concurrent.futures side by
// side, plus the micro-benchmarks; it writes a results folder with REPORT.md, SVG
// charts, Chrome traces and Google Benchmark's JSON. See bench/README.md for the layout.
//
//   cf_experiments [--quick | --full | --smoke] [--out DIR] [--workers N] [--only LIST]
//                  [--no-python] [--python EXE]
//
// Experiments (issue 4), one file each in bench/experiments/:
//   1 busy vs idle (busy_idle.cpp)
//   2 serial vs threads vs processes (serial_threads_processes.cpp)
//   3 thread pool vs process pool by worker count (worker_sweep.cpp)
//   4 Python side by side (python_side.cpp)
//   5 micro-benchmarks (micro_benchmarks.cpp)
// bench/report/ writes REPORT.md from what they measured.
#include <fmt/core.h>
#include <signal.h>

#include <cmath>
#include <cstdio>
#include <exception>
#include <string>

#include "experiments/experiments.hpp"
#include "report/report.hpp"
#include "runner/command_line.hpp"
#include "runner/python.hpp"
#include "runner/results_dir.hpp"

namespace bench {

namespace {

// Estimates for "time left" (seconds on a 2-core machine; refined as the run goes).
void plan(Progress& progress, const Config& config, bool python) {
  const Scale& s = config.scale;
  const int n = config.cpus;
  const double rounds = std::ceil(double(kBusyIdleTasks) / kBusyIdleWorkers);
  const double py_step = 4e-8;  // Python: about 40 ns per loop step here
  // The step counts, as the estimates use them.
  const auto busy_n = static_cast<double>(s.busy_n);
  const auto compute_n = static_cast<double>(s.compute_n);
  const auto sweep_n = static_cast<double>(s.sweep_n);
  progress.plan(1, "busy vs idle", 2 * rounds * s.idle_s + 1.0);
  progress.plan(2, "serial vs threads vs processes",
                s.reps * ((n + 4) * s.wait_s + (n + 4) * compute_n * 2e-8 * n / 2 + 0.3));
  progress.plan(3, "worker sweep",
                s.reps * (2 * n * (sweep_n * 2e-8 + s.http_delay_ms * 1e-3) * 2 + 0.2 * n));
  if (python) {
    progress.plan(4, "Python side by side",
                  2 * rounds * s.idle_s + kBusyIdleTasks * busy_n * py_step * 1.5 +
                      s.reps * ((n + 4) * s.wait_s + 3.5 * n * compute_n * py_step + 1) +
                      s.reps * (n * (n + 1) * (sweep_n * py_step + s.http_delay_ms * 1e-3) + n) +
                      2);
  }
  progress.plan(5, "micro-benchmarks", s.name == "smoke" ? 3 : (s.name == "quick" ? 60 : 300));
}

// Runs the chosen experiments in order, each adding its rows to `r`.
void run_experiments(const Config& config, const fs::path& dir, bool python, const std::string& why,
                     Progress& progress, Results& r) {
  const auto step = [&](int experiment, auto&& body) {
    progress.begin(experiment);
    body();
    progress.end();
  };
  if (config.only.count(1)) step(1, [&] { busy_vs_idle(config, dir, progress, r); });
  if (config.only.count(2)) step(2, [&] { serial_threads_processes(config, progress, r); });
  if (config.only.count(3)) step(3, [&] { worker_sweep(config, progress, r); });
  if (python && (config.only.count(4) || config.only.count(1) || config.only.count(2) ||
                 config.only.count(3))) {
    step(4, [&] { python_side(config, dir, progress, r); });
  } else if (!python) {
    r.notes.push_back("Python side " + why);
  }
  if (config.only.count(5)) {
    step(5, [&] {
      if (!python && r.python_note.empty()) r.python_note = why;
      micro_benchmarks(config, dir, progress, r);
    });
  }
}

}  // namespace

int run(int argc, char** argv) {
  Config config = parse_command_line(argc, argv);
  {
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    config.bin_dir = ec ? fs::path(argv[0]).parent_path() : self.parent_path();
  }

  ResultsDir results_dir(config.out);
  results_dir.remove_on_signal();
  ::signal(SIGPIPE, SIG_IGN);

  Results r;
  std::string why;
  const bool python = python_works(config, why);
  if (!python) r.python_note = why;

  Progress progress;
  plan(progress, config, python);
  fmt::print("cf_experiments: scale {}, {} CPUs assumed, results in {}\n", config.scale.name,
             config.cpus, results_dir.final_path().string());
  if (!python) fmt::print("cf_experiments: Python side {}\n", why);

  const double load_before = load_average();
  if (load_before > 0.5) {
    fmt::print(
        "cf_experiments: note: load average {:.2f}: other work is running, so parallel "
        "speedups will be understated\n",
        load_before);
  }
  const auto t0 = Clock::now();
  try {
    run_experiments(config, results_dir.path(), python, why, progress, r);
    write_report(config, results_dir.path(), r, seconds_since(t0), load_before);
    results_dir.commit();
  } catch (const std::exception& e) {
    fmt::print(stderr, "cf_experiments: error: {}; no results folder was written\n", e.what());
    return 1;
  }
  fmt::print("cf_experiments: done in {}; report: {}\n", duration_text(seconds_since(t0)),
             (results_dir.final_path() / "REPORT.md").string());
  return 0;
}

}  // namespace bench

int main(int argc, char** argv) { return bench::run(argc, argv); }
