// Experiment 5, micro-benchmarks: cf_future_size, then cf_micro_bench and
// process_pool_bench (Google Benchmark, JSON kept in the results folder), then their
// Python peers bench/python/process_pool_peer.py and bench/python/micro.py.
#include <cstdio>
#include <deque>
#include <fstream>
#include <stdexcept>

#include "experiments/experiments.hpp"
#include "runner/python.hpp"
#include "runner/util.hpp"

namespace bench {

namespace {

// Runs one Google Benchmark binary at the scale's sizes, keeping its console output
// (stderr too: Debian's libbenchmark warns on every run that it was built without
// NDEBUG, which a user cannot act on) in <stem>.txt and its JSON in <stem>.json; prints
// each result line as it finishes (the medians, when there are repetitions), and the
// last lines of the output if it fails. Returns the exit status.
int run_google_benchmark(const Config& config, const fs::path& dir, const fs::path& binary,
                         const std::string& stem) {
  const Scale& s = config.scale;
  const fs::path out = dir / (stem + ".json");
  const std::string command =
      shell_quote(binary.string()) + " --cf_scale=" + s.name +
      " --benchmark_min_time=" + s.bench_min_time +
      " --benchmark_repetitions=" + std::to_string(s.bench_reps) +
      (s.bench_reps > 1 ? " --benchmark_report_aggregates_only=true" : "") +
      " --benchmark_out_format=json --benchmark_out=" + shell_quote(out.string()) + " 2>&1";
  std::ofstream console(dir / (stem + ".txt"));
  std::deque<std::string> last_lines;
  const int status = run_command(command, [&](const std::string& line) {
    console << line << "\n";
    last_lines.push_back(line);
    if (last_lines.size() > 20) last_lines.pop_front();
    const bool result_line = line.find("/real_time") != std::string::npos ||
                             line.find("/manual_time") != std::string::npos;
    if (result_line && (s.bench_reps == 1 || line.find("_median") != std::string::npos)) {
      std::printf("      %s\n", line.c_str());
    }
  });
  if (status != 0) {
    for (const auto& line : last_lines) std::fprintf(stderr, "      %s\n", line.c_str());
  }
  return status;
}

// Keeps Python's raw micro-benchmark numbers beside Google Benchmark's.
void write_python_micro(const fs::path& dir, const Results& r) {
  Json results = Json::array();
  for (const auto& v : r.py_micro->at("results")) {
    results.push_back(
        {{"name", v.at("name")}, {"value", v.at("value")}, {"unit", string_or(v, "unit", "")}});
  }
  const Json raw = {{"python", r.python_version}, {"results", std::move(results)}};
  write_file(dir / "python_micro.json", raw.dump() + "\n");
}

}  // namespace

void micro_benchmarks(const Config& config, const fs::path& dir, Progress& progress, Results& r) {
  const Scale& s = config.scale;
  const fs::path micro = config.bin_dir / "cf_micro_bench";
  const fs::path size = config.bin_dir / "cf_future_size";
  if (!fs::exists(micro) || !fs::exists(size)) {
    r.notes.push_back("micro-benchmarks skipped: cf_micro_bench or cf_future_size not found in " +
                      config.bin_dir.string() + " (build the bench targets)");
    progress.note(r.notes.back());
    return;
  }
  progress.note("pending-call size (cf_future_size)");
  std::string size_json;
  if (run_command(shell_quote(size.string()) + " --json",
                  [&](const std::string& line) { size_json += line; }) == 0) {
    r.future_size = parse_json(size_json);
    write_file(dir / "future_size.json", size_json + "\n");
  }

  progress.note("Google Benchmark: cf_micro_bench (each line is one benchmark as it finishes)");
  const int status = run_google_benchmark(config, dir, micro, "micro_bench");
  if (status != 0)
    throw std::runtime_error("cf_micro_bench failed (status " + std::to_string(status) + ")");
  r.micro = parse_json(read_file(dir / "micro_bench.json"));

  const fs::path process_bench = config.bin_dir / "process_pool_bench";
  if (fs::exists(process_bench)) {
    progress.note("Google Benchmark: process_pool_bench (the process pool's own workloads)");
    const int process_status =
        run_google_benchmark(config, dir, process_bench, "process_pool_bench");
    if (process_status == 0) {
      r.process_micro = parse_json(read_file(dir / "process_pool_bench.json"));
    } else {
      r.notes.push_back("process_pool_bench failed (status " + std::to_string(process_status) +
                        "); its rows are left out");
    }
  }

  if (!r.python_note.empty()) return;
  if (r.process_micro && fs::exists(config.python_dir / "process_pool_peer.py")) {
    progress.note("Python peer of process_pool_bench (bench/python/process_pool_peer.py)");
    r.py_process_micro = run_python(config, "process_pool_peer.py",
                                    {"--scale", s.name == "smoke" ? "smoke" : "full"}, r);
  }
  progress.note("Python micro-benchmarks (bench/python/micro.py)");
  r.py_micro = run_python(config, "micro.py", s.python_micro_args, r);
  if (r.py_micro) write_python_micro(dir, r);
}

}  // namespace bench
