// What the experiments measured, for the report: one row type per table, and the raw
// JSON of the micro-benchmarks and of the Python side.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "concurrent/futures/timeline.hpp"
#include "support/json.hpp"

namespace bench {

struct TaskTimes {
  std::string name;  // "busy-threads", ...
  bool available = true;
  double wall_s = 0;
  double task_mean_s = 0;
  std::size_t workers_seen = 0;
};

struct SstRow {
  std::string kind, mode;
  bool available = true;
  double wall_s = 0;
};

struct SweepRow {
  std::string kind, executor;
  int workers = 0;
  bool available = true;
  double wall_s = 0, task_mean_s = 0;
};

struct Results {
  std::vector<TaskTimes> busy_idle, py_busy_idle;
  std::vector<SstRow> sst, py_sst;
  std::vector<SweepRow> sweep, py_sweep;
  std::string python_version;  // empty: Python side skipped
  std::string python_note;     // why it was skipped
  std::optional<Json> micro;   // Google Benchmark JSON
  std::optional<Json> py_micro;
  std::optional<Json> future_size;
  std::optional<Json> process_micro;     // process_pool_bench's Google Benchmark JSON
  std::optional<Json> py_process_micro;  // process_pool_peer.py
  std::vector<std::string> notes;
};

// One run's row from its timeline: mean task time and how many workers ran tasks.
TaskTimes summarize(const std::string& name, const concurrent::futures::Timeline& timeline,
                    double wall_s);

// <stem>.svg (Gantt chart) and <stem>.trace.json (Chrome trace) in `dir`.
void write_timeline(const std::filesystem::path& dir, const std::string& stem,
                    const concurrent::futures::Timeline& timeline, const std::string& title);

}  // namespace bench
