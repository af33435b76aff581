// REPORT.md's header and the sections of experiments 1-3 (busy vs idle, serial vs
// threads vs processes, the worker sweep with its bar charts); one function per section.
#include "report/report.hpp"

#include <fmt/chrono.h>
#include <fmt/ostream.h>
#include <sys/utsname.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

#include "experiments/experiments.hpp"
#include "report/format.hpp"
#include "support/bar_chart.hpp"

namespace bench {

double load_average() {
  double load = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = -1;
    std::fclose(f);
  }
  return load;
}

namespace {

std::string machine_description(const Config& config) {
  std::string cpu = "unknown CPU";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname u{};
  ::uname(&u);
#if defined(__clang__)
  const std::string compiler = fmt::format("clang {}.{}", __clang_major__, __clang_minor__);
#else
  const std::string compiler = fmt::format("g++ {}.{}", __GNUC__, __GNUC_MINOR__);
#endif
  return fmt::format("{}, {} usable CPUs (experiments assume {}), Linux {}, compiled by {} {}", cpu,
                     usable_cpus(), config.cpus, u.release, compiler, CF_BENCH_BUILD_TYPE);
}

void header_section(std::ostream& md, const Config& config, const Results& r, double total_seconds,
                    double load_before) {
  const Scale& s = config.scale;
  const bool py = !r.python_version.empty();
  fmt::print(md, "# concurrent::futures benchmark report\n\n");
  fmt::print(md, "- Measured: {:%Y-%m-%d %H:%M} UTC, scale **{}**, the run took {}.\n",
             fmt::gmtime(std::time(nullptr)), s.name, duration_text(total_seconds));
  fmt::print(md, "- Machine: {}.\n", machine_description(config));
  fmt::print(md, "- Load average (1 min) before the run: {:.2f}, after: {:.2f}{}.\n", load_before,
             load_average(),
             load_before > 0.5
                 ? " — **the machine was busy with other work: parallel speedups are understated**"
                 : "");
  fmt::print(md, "- Python: {}.\n",
             py ? r.python_version + " (standard library concurrent.futures)" : r.python_note);
  fmt::print(md, "- Process pool: cf::ProcessPoolExecutor (default start method).\n");
  fmt::print(md,
             "- Wall times include creating and shutting down the pool, as `with Executor() as "
             "ex:` does in Python. Experiments 2 and 3 keep the median of {} repetitions.\n",
             s.reps);
  for (const auto& note : r.notes) fmt::print(md, "- Note: {}\n", note);
}

void busy_idle_section(std::ostream& md, const Config& config, const Results& r) {
  const Scale& s = config.scale;
  const bool py = !r.python_version.empty();
  fmt::print(md,
             "\n## 1. Busy vs idle\n\n{} tasks on {} workers. Busy: sum the integers below {} (a "
             "loop the compiler cannot fold). Idle: sleep {:.2f} s. Ideal wall time for idle "
             "tasks: {:.2f} s.\n\n",
             kBusyIdleTasks, kBusyIdleWorkers, s.busy_n, s.idle_s,
             s.idle_s * kBusyIdleTasks / kBusyIdleWorkers);
  fmt::print(
      md,
      "| run | C++ wall (s) | C++ mean task (s) | C++ workers used |{}\n|---|---:|---:|---:|{}\n",
      py ? " Python wall (s) | Python mean task (s) | Python / C++ wall |" : "",
      py ? "---:|---:|---:|" : "");
  for (const auto& row : r.busy_idle) {
    const TaskTimes* p =
        find_row(r.py_busy_idle, [&](const TaskTimes& t) { return t.name == row.name; });
    fmt::print(md, "| {} | {} | {} | {} |", row.name, cell(row.available, row.wall_s),
               cell(row.available, row.task_mean_s, 4),
               row.available ? std::to_string(row.workers_seen) : "—");
    if (py) {
      fmt::print(md, " {} | {} | {} |", p ? fixed(p->wall_s) : "—",
                 p ? fixed(p->task_mean_s, 4) : "—",
                 p && row.available ? ratio(p->wall_s, row.wall_s) : "—");
    }
    fmt::print(md, "\n");
  }
  fmt::print(md,
             "\nEach bar is one task from its start to its end; the dotted line before it is the "
             "time it waited in the queue. C++ charts come from `cf::Timeline` (the executor "
             "records them); Python's tasks report their own start and end times.\n\n");
  for (const auto& row : r.busy_idle) {
    if (!row.available) continue;
    fmt::print(md, "![{0} (C++)]({0}.svg)", row.name);
    if (py && find_row(r.py_busy_idle, [&](const TaskTimes& t) { return t.name == row.name; })) {
      fmt::print(md, " ![{0} (Python)](python-{0}.svg)", row.name);
    }
    fmt::print(md, "\n\n");
  }
  fmt::print(md,
             "Chrome traces (open in https://ui.perfetto.dev or chrome://tracing): "
             "`<run>.trace.json` and `python-<run>.trace.json`.\n");
}

// "wall | speedup | efficiency |" of one way of running experiment 2, against serial.
std::string sst_cells(const SstRow* row, const SstRow* serial, int n) {
  if (!row || !row->available || !serial) return " — | — | — |";
  const double speedup = serial->wall_s / row->wall_s;
  return fmt::format(" {:.3f} | {:.2f} | {:.2f} |", row->wall_s, speedup, speedup / n);
}

void sst_section(std::ostream& md, const Config& config, const Results& r) {
  const Scale& s = config.scale;
  const bool py = !r.python_version.empty();
  const int n = config.cpus;
  fmt::print(md,
             "\n## 2. Serial vs threads vs processes\n\n{0} tasks of each kind. Wait: sleep "
             "{1:.2f} s. Compute: {2} steps of y = cos(y). Speedup is over serial; efficiency is "
             "speedup / {0}.\n\n",
             n, s.wait_s, s.compute_n);
  fmt::print(md,
             "| task | how | C++ wall (s) | C++ speedup | C++ efficiency "
             "|{}\n|---|---|---:|---:|---:|{}\n",
             py ? " Python wall (s) | Python speedup | Python efficiency |" : "",
             py ? "---:|---:|---:|" : "");
  for (const std::string kind : {"wait", "compute"}) {
    auto pick = [&](const std::vector<SstRow>& rows, const std::string& mode) {
      return find_row(rows, [&](const SstRow& x) { return x.kind == kind && x.mode == mode; });
    };
    for (const auto& mode : kModes) {
      fmt::print(md, "| {} | {} |{}", kind, mode,
                 sst_cells(pick(r.sst, mode), pick(r.sst, "serial"), n));
      if (py) fmt::print(md, "{}", sst_cells(pick(r.py_sst, mode), pick(r.py_sst, "serial"), n));
      fmt::print(md, "\n");
    }
  }
}

const SweepRow* sweep_row(const std::vector<SweepRow>& rows, const std::string& kind,
                          const std::string& executor, int workers) {
  return find_row(rows, [&](const SweepRow& x) {
    return x.kind == kind && x.executor == executor && x.workers == workers && x.available;
  });
}

// "wall | speedup | efficiency | mean task |" for w workers, against w = 1.
std::string sweep_cells(const SweepRow* row, const SweepRow* one_worker, int w) {
  if (!row || !one_worker) return " — | — | — | — |";
  const double speedup = w * one_worker->wall_s / row->wall_s;
  return fmt::format(" {:.3f} | {:.2f} | {:.2f} | {:.4f} |", row->wall_s, speedup, speedup / w,
                     row->task_mean_s);
}

void sweep_table(std::ostream& md, const Config& config, const Results& r) {
  const Scale& s = config.scale;
  const bool py = !r.python_version.empty();
  const int n = config.cpus;
  fmt::print(md,
             "\n## 3. Thread pool vs process pool by worker count\n\nw tasks on w workers, w = 1 "
             ".. {}. CPU: {} cos steps. I/O: an HTTP GET of a 64 KiB page from a server on "
             "127.0.0.1 that answers after {} ms (standing in for a download). Speedup = w × "
             "wall(w = 1) / wall(w): how many tasks' worth of work the pool gets through per task "
             "time; efficiency = speedup / w. Mean task = the average time one task ran (C++: "
             "from the Timeline).\n\n",
             n, s.sweep_n, s.http_delay_ms);
  fmt::print(
      md,
      "| task | executor | w | C++ wall (s) | C++ speedup | C++ efficiency | C++ mean task "
      "(s) |{}\n|---|---|---:|---:|---:|---:|---:|{}\n",
      py ? " Python wall (s) | Python speedup | Python efficiency | Python mean task (s) |" : "",
      py ? "---:|---:|---:|---:|" : "");
  for (const std::string kind : {"cpu", "io"}) {
    for (const std::string executor : {"threads", "processes"}) {
      for (int w = 1; w <= n; ++w) {
        fmt::print(md, "| {} | {} | {} |{}", kind, executor, w,
                   sweep_cells(sweep_row(r.sweep, kind, executor, w),
                               sweep_row(r.sweep, kind, executor, 1), w));
        if (py) {
          fmt::print(md, "{}",
                     sweep_cells(sweep_row(r.py_sweep, kind, executor, w),
                                 sweep_row(r.py_sweep, kind, executor, 1), w));
        }
        fmt::print(md, "\n");
      }
    }
  }
}

// The sweep's mean task times as bar charts, sweep-cpu.svg and sweep-io.svg.
void sweep_charts(std::ostream& md, const Config& config, const fs::path& dir, const Results& r) {
  const bool py = !r.python_version.empty();
  const int n = config.cpus;
  for (const std::string kind : {"cpu", "io"}) {
    BarChart chart;
    chart.title = fmt::format("Mean task time, {}",
                              kind == "cpu" ? "CPU-bound (cos steps)" : "I/O-bound (HTTP GET)");
    chart.y_label = "seconds per task";
    for (int w = 1; w <= n; ++w) chart.groups.push_back("w=" + std::to_string(w));
    for (const std::string lang : {"C++", "Python"}) {
      if (lang == "Python" && !py) continue;
      for (const std::string executor : {"threads", "processes"}) {
        chart.series.push_back(fmt::format("{} {}", lang, executor));
        std::vector<double> values;
        const auto& rows = lang == "C++" ? r.sweep : r.py_sweep;
        for (int w = 1; w <= n; ++w) {
          const SweepRow* row = sweep_row(rows, kind, executor, w);
          values.push_back(row ? row->task_mean_s : -1);
        }
        chart.values.push_back(values);
      }
    }
    std::ostringstream svg;
    chart.write_svg(svg);
    write_file(dir / ("sweep-" + kind + ".svg"), svg.str());
    fmt::print(md, "\n![{}](sweep-{}.svg)\n", chart.title, kind);
  }
}

}  // namespace

void write_report(const Config& config, const fs::path& dir, const Results& r, double total_seconds,
                  double load_before) {
  std::ostringstream md;
  header_section(md, config, r, total_seconds, load_before);
  if (config.only.count(1)) busy_idle_section(md, config, r);
  if (config.only.count(2)) sst_section(md, config, r);
  if (config.only.count(3)) {
    sweep_table(md, config, r);
    sweep_charts(md, config, dir, r);
  }
  if (config.only.count(5)) micro_section(md, config, r);
  write_file(dir / "REPORT.md", md.str());
}

}  // namespace bench
