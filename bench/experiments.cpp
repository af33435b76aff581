// The benchmark runner: the classic concurrent.futures comparisons, run in C++ and (when
// python3 is present) with Python's own concurrent.futures side by side, plus the
// micro-benchmarks; it writes a results folder with REPORT.md, SVG charts, Chrome traces
// and Google Benchmark's JSON.
//
//   cf_experiments [--quick | --full | --smoke] [--out DIR] [--workers N] [--only LIST]
//                  [--no-python] [--python EXE]
//
// Experiments (issue 4):
//   1 busy vs idle: 5 workers, 15 tasks, busy (a summing loop) or idle (a sleep), on the
//     thread pool and the process pool; Gantt charts from cf::Timeline.
//   2 serial vs threads vs processes: N = usable CPUs tasks of wait (sleep) and compute
//     (cos steps), serially, as N std::threads, as N forked processes, and through both
//     executors.
//   3 thread pool vs process pool by worker count: CPU-bound (cos steps) and I/O-bound
//     (an HTTP GET from a loopback server this program starts) for w = 1 .. N.
//   4 Python side by side: bench/python/experiments.py runs 1-3 with the same sizes.
//   5 micro-benchmarks: cf_micro_bench (Google Benchmark), cf_future_size and
//     bench/python/micro.py.
//
// The folder is written in a temporary sibling directory and renamed into place at the
// end, so a failed or interrupted run never leaves a half-written results folder.
#include <fcntl.h>
#include <signal.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "concurrent/futures/thread_pool.hpp"
#include "concurrent/futures/timeline.hpp"
#include "support/bar_chart.hpp"
#include "support/http.hpp"
#include "support/json.hpp"
#include "support/workloads.hpp"

#include "concurrent/futures/process_pool.hpp"

namespace cf = concurrent::futures;
namespace fs = std::filesystem;
namespace json = bench::json;
using Clock = std::chrono::steady_clock;

namespace {

// ---------------------------------------------------------------------------------
// Configuration.

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

struct Config {
  Scale scale = scale_named("quick");
  fs::path out = CF_BENCH_DEFAULT_OUT;
  int cpus = bench::usable_cpus();
  std::set<int> only{1, 2, 3, 4, 5};
  std::string python = "python3";
  bool use_python = true;
  fs::path python_dir = CF_BENCH_PYTHON_DIR;
  fs::path bin_dir;  // where cf_micro_bench and cf_future_size live
};

constexpr const char* kUsage =
    "usage: cf_experiments [--quick | --full | --smoke] [--out DIR] [--workers N]\n"
    "                      [--only LIST] [--no-python] [--python EXE] [--help]\n"
    "\n"
    "Runs the benchmark experiments and writes DIR (default: results/ at the repository\n"
    "top) with REPORT.md, SVG charts, Chrome traces and Google Benchmark's JSON.\n"
    "\n"
    "  --quick        quick sizes (the default; a few minutes on 2 cores)\n"
    "  --full         the classic sizes (sleep 2 s / 1 s, 10,000,000-step tasks)\n"
    "  --smoke        tiny sizes, seconds in all: checks that everything still runs\n"
    "  --out DIR      the results folder; replaced as a whole at the end of the run\n"
    "  --workers N    the CPU count to assume for experiments 2 and 3 (default: the\n"
    "                 usable CPUs of this process)\n"
    "  --only LIST    run only these experiments, e.g. --only 1,2,5 (1 busy/idle,\n"
    "                 2 serial/threads/processes, 3 worker sweep, 4 Python, 5 micro)\n"
    "  --no-python    skip the Python side (also skipped when python3 is missing)\n"
    "  --python EXE   the Python interpreter to use (default: python3)\n";

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "cf_experiments: %s\n\n%s", message.c_str(), kUsage);
  std::exit(2);
}

std::optional<long> parse_int(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return v;
}

Config parse_args(int argc, char** argv) {
  Config config;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto value_of = [&](std::size_t& i, const std::string& flag) -> std::string {
    const std::string& arg = args[i];
    if (arg.size() > flag.size() && arg.compare(0, flag.size() + 1, flag + "=") == 0) {
      return arg.substr(flag.size() + 1);
    }
    if (i + 1 >= args.size()) usage_error(flag + " needs a value");
    return args[++i];
  };
  auto is = [](const std::string& arg, const std::string& flag) {
    return arg == flag || arg.rfind(flag + "=", 0) == 0;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("%s", kUsage);
      std::exit(0);
    } else if (arg == "--quick" || arg == "--full" || arg == "--smoke") {
      config.scale = scale_named(arg.substr(2));
    } else if (is(arg, "--out")) {
      config.out = value_of(i, "--out");
      if (config.out.empty()) usage_error("--out needs a folder");
    } else if (is(arg, "--workers")) {
      const std::string text = value_of(i, "--workers");
      const auto n = parse_int(text);
      if (!n || *n <= 0 || *n > 1024) {
        usage_error("--workers must be a positive whole number (got \"" + text + "\")");
      }
      config.cpus = static_cast<int>(*n);
    } else if (is(arg, "--only")) {
      const std::string text = value_of(i, "--only");
      config.only.clear();
      std::stringstream list(text);
      for (std::string item; std::getline(list, item, ',');) {
        const auto n = parse_int(item);
        if (!n || *n < 1 || *n > 5) usage_error("--only takes experiment numbers 1-5, e.g. 1,3");
        config.only.insert(static_cast<int>(*n));
      }
      if (config.only.empty()) usage_error("--only needs at least one experiment");
    } else if (arg == "--no-python") {
      config.use_python = false;
    } else if (is(arg, "--python")) {
      config.python = value_of(i, "--python");
    } else {
      usage_error("unknown argument \"" + arg + "\"");
    }
  }
  return config;
}

// ---------------------------------------------------------------------------------
// Small utilities.

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double mean(const std::vector<double>& v) {
  return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

std::string fmt(double v, int decimals = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string duration_text(double s) {
  if (s < 0) s = 0;
  const long total = std::lround(s);
  if (total < 60) return std::to_string(total) + "s";
  return std::to_string(total / 60) + "m" + (total % 60 < 10 ? "0" : "") +
         std::to_string(total % 60) + "s";
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs `command` through the shell; every stdout line is handed to `on_line`; stderr is
// the runner's. Returns the exit status (-1 if it could not run).
int run_command(const std::string& command,
                const std::function<void(const std::string&)>& on_line) {
  std::fflush(stdout);
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return -1;
  std::string line;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe)) {
    line += buf;
    if (!line.empty() && line.back() == '\n') {
      line.pop_back();
      on_line(line);
      line.clear();
    }
  }
  if (!line.empty()) on_line(line);
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// ---------------------------------------------------------------------------------
// Progress: which experiment, how far, and how long is left (from per-experiment
// estimates, scaled by how the estimates have held up so far).

class Progress {
 public:
  void plan(int experiment, std::string title, double estimate_s) {
    steps_.push_back({experiment, std::move(title), estimate_s});
  }
  void begin(int experiment) {
    current_ = experiment;
    started_ = Clock::now();
  }
  void end() {
    for (auto& s : steps_) {
      if (s.experiment == current_) {
        done_estimate_ += s.estimate_s;
        done_actual_ += seconds_since(started_);
        s.done = true;
      }
    }
  }
  void note(const std::string& what) const {
    const Step* step = find(current_);
    double left_estimate = 0;
    for (const auto& s : steps_) {
      if (!s.done && s.experiment != current_) left_estimate += s.estimate_s;
    }
    const double in_step = seconds_since(started_);
    const double current_left = step ? std::max(0.0, step->estimate_s - in_step) : 0;
    const double ratio =
        done_estimate_ > 1 ? std::clamp(done_actual_ / done_estimate_, 0.5, 3.0) : 1.0;
    std::printf("[%d/5 %s] %s  (%s elapsed, about %s left)\n", current_,
                step ? step->title.c_str() : "", what.c_str(),
                duration_text(seconds_since(run_start_)).c_str(),
                duration_text((left_estimate + current_left) * ratio).c_str());
    std::fflush(stdout);
  }

 private:
  struct Step {
    int experiment;
    std::string title;
    double estimate_s;
    bool done = false;
  };
  const Step* find(int experiment) const {
    for (const auto& s : steps_) {
      if (s.experiment == experiment) return &s;
    }
    return nullptr;
  }

  std::vector<Step> steps_;
  int current_ = 0;
  Clock::time_point run_start_ = Clock::now();
  Clock::time_point started_ = Clock::now();
  double done_estimate_ = 0, done_actual_ = 0;
};

// ---------------------------------------------------------------------------------
// Task bodies the process pool can take (free functions, serializable arguments).

std::uint64_t busy_task(std::uint64_t n) { return bench::busy_sum(n); }
int idle_task(double seconds) { return bench::idle(seconds); }
double compute_task(std::uint64_t n) { return bench::cos_steps(n); }
std::uint64_t fetch_task(int port) {
  return bench::http_get(static_cast<std::uint16_t>(port), "/page");
}

enum class Pool { threads, processes };

const char* pool_name(Pool p) { return p == Pool::threads ? "threads" : "processes"; }

// Runs `count` calls of fn(arg) on a fresh pool of `workers` (creation and shutdown
// included in the wall time, as `with Executor() as ex:` in Python); returns the wall
// time. The timeline, if given, records every call.
template <class Fn, class Arg>
double run_on_pool(Pool pool, int workers, int count, Fn fn, Arg arg,
                   const std::shared_ptr<cf::Timeline>& timeline) {
  const auto t0 = Clock::now();
  if (pool == Pool::threads) {
    cf::ThreadPoolOptions options;
    options.max_workers = static_cast<std::size_t>(workers);
    options.timeline = timeline;
    cf::ThreadPoolExecutor executor(std::move(options));
    std::vector<decltype(executor.submit(fn, arg))> futures;
    for (int i = 0; i < count; ++i) futures.push_back(executor.submit(fn, arg));
    for (auto& f : futures) f.result();
  } else {
    cf::ProcessPoolOptions options;
    options.max_workers = static_cast<std::size_t>(workers);
    options.timeline = timeline;
    cf::ProcessPoolExecutor executor(std::move(options));
    std::vector<decltype(executor.submit(fn, arg))> futures;
    for (int i = 0; i < count; ++i) futures.push_back(executor.submit(fn, arg));
    for (auto& f : futures) f.result();
  }
  return seconds_since(t0);
}

// ---------------------------------------------------------------------------------
// Results.

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
  std::string python_version;        // empty: Python side skipped
  std::string python_note;           // why it was skipped
  std::optional<json::Value> micro;  // Google Benchmark JSON
  std::optional<json::Value> py_micro;
  std::optional<json::Value> future_size;
  std::optional<json::Value> process_micro;     // process_pool_bench's Google Benchmark JSON
  std::optional<json::Value> py_process_micro;  // process_pool_peer.py
  std::vector<std::string> notes;
};

TaskTimes summarize(const std::string& name, const cf::Timeline& timeline, double wall_s) {
  TaskTimes t{name, true, wall_s, 0, 0};
  std::vector<double> durations;
  std::set<std::string> workers;
  for (const auto& task : timeline.tasks()) {
    durations.push_back(std::chrono::duration<double>(task.finished - task.started).count());
    workers.insert(task.worker);
  }
  t.task_mean_s = mean(durations);
  t.workers_seen = workers.size();
  return t;
}

void write_timeline(const fs::path& dir, const std::string& stem, const cf::Timeline& timeline,
                    const std::string& title) {
  std::ostringstream svg, trace;
  timeline.write_svg(svg, title);
  timeline.write_chrome_trace(trace);
  write_file(dir / (stem + ".svg"), svg.str());
  write_file(dir / (stem + ".trace.json"), trace.str());
}

// ---------------------------------------------------------------------------------
// Experiment 1: busy vs idle.

constexpr int kBusyIdleWorkers = 5;
constexpr int kBusyIdleTasks = 15;

void busy_vs_idle(const Config& config, const fs::path& dir, Progress& progress, Results& r) {
  for (const bool busy : {true, false}) {
    for (const Pool pool : {Pool::threads, Pool::processes}) {
      const std::string name = std::string(busy ? "busy-" : "idle-") + pool_name(pool);
      progress.note(name + ": " + std::to_string(kBusyIdleTasks) + " tasks on " +
                    std::to_string(kBusyIdleWorkers) + " workers");
      auto timeline = std::make_shared<cf::Timeline>();
      const double wall = busy ? run_on_pool(pool, kBusyIdleWorkers, kBusyIdleTasks, busy_task,
                                             config.scale.busy_n, timeline)
                               : run_on_pool(pool, kBusyIdleWorkers, kBusyIdleTasks, idle_task,
                                             config.scale.idle_s, timeline);
      write_timeline(dir, name, *timeline, name + " (C++ concurrent::futures)");
      r.busy_idle.push_back(summarize(name, *timeline, wall));
    }
  }
}

// ---------------------------------------------------------------------------------
// Experiment 2: serial vs threads vs processes.

template <class Fn, class Arg>
double run_mode(const std::string& mode, int n, Fn fn, Arg arg) {
  const auto t0 = Clock::now();
  if (mode == "serial") {
    for (int i = 0; i < n; ++i) fn(arg);
  } else if (mode == "threads") {
    std::vector<std::thread> threads;
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

const std::vector<std::string> kModes = {"serial", "threads", "processes", "thread_pool",
                                         "process_pool"};

void serial_threads_processes(const Config& config, Progress& progress, Results& r) {
  for (const std::string kind : {"wait", "compute"}) {
    for (const auto& mode : kModes) {
      std::vector<double> walls;
      for (int rep = 0; rep < config.scale.reps; ++rep) {
        progress.note(kind + "/" + mode + " x" + std::to_string(config.cpus) + " (rep " +
                      std::to_string(rep + 1) + "/" + std::to_string(config.scale.reps) + ")");
        walls.push_back(kind == "wait"
                            ? run_mode(mode, config.cpus, idle_task, config.scale.wait_s)
                            : run_mode(mode, config.cpus, compute_task, config.scale.compute_n));
      }
      r.sst.push_back({kind, mode, true, median(walls)});
    }
  }
}

// ---------------------------------------------------------------------------------
// Experiment 3: thread pool vs process pool by worker count.

void worker_sweep(const Config& config, Progress& progress, std::uint16_t port, Results& r) {
  for (const std::string kind : {"cpu", "io"}) {
    for (const Pool pool : {Pool::threads, Pool::processes}) {
      for (int w = 1; w <= config.cpus; ++w) {
        std::vector<double> walls, durations;
        for (int rep = 0; rep < config.scale.reps; ++rep) {
          progress.note(kind + "/" + pool_name(pool) + " w=" + std::to_string(w) + " (rep " +
                        std::to_string(rep + 1) + "/" + std::to_string(config.scale.reps) + ")");
          auto timeline = std::make_shared<cf::Timeline>();
          walls.push_back(
              kind == "cpu" ? run_on_pool(pool, w, w, compute_task, config.scale.sweep_n, timeline)
                            : run_on_pool(pool, w, w, fetch_task, int{port}, timeline));
          for (const auto& task : timeline->tasks()) {
            durations.push_back(
                std::chrono::duration<double>(task.finished - task.started).count());
          }
        }
        r.sweep.push_back({kind, pool_name(pool), w, true, median(walls), mean(durations)});
      }
    }
  }
}

// ---------------------------------------------------------------------------------
// Experiment 4: Python side by side.

std::optional<json::Value> run_python(const Config& config, const std::string& script,
                                      const std::vector<std::string>& args, Results& r) {
  std::string command =
      shell_quote(config.python) + " " + shell_quote((config.python_dir / script).string());
  for (const auto& a : args) command += " " + shell_quote(a);
  std::string out;
  const int status = run_command(command, [&](const std::string& line) { out += line + "\n"; });
  if (status != 0) {
    r.notes.push_back("python3 " + script + " failed (exit status " + std::to_string(status) +
                      "); its rows are left empty");
    std::fprintf(stderr, "cf_experiments: %s failed with status %d\n", script.c_str(), status);
    return std::nullopt;
  }
  try {
    json::Value v = json::parse(out);
    if (v["python"].is_string()) r.python_version = v["python"].string();
    return v;
  } catch (const std::exception& e) {
    r.notes.push_back("python3 " + script + " printed unreadable JSON: " + e.what());
    return std::nullopt;
  }
}

void python_side(const Config& config, const fs::path& dir, Progress& progress, Results& r) {
  const Scale& s = config.scale;
  const std::string cpus = std::to_string(config.cpus), reps = std::to_string(s.reps);
  if (config.only.count(1)) {
    progress.note("Python busy vs idle");
    if (auto v = run_python(config, "experiments.py",
                            {"busy_idle", "--busy-n", std::to_string(s.busy_n), "--idle-s",
                             fmt(s.idle_s, 3), "--workers", std::to_string(kBusyIdleWorkers),
                             "--tasks", std::to_string(kBusyIdleTasks)},
                            r)) {
      for (const auto& run : (*v)["runs"].array()) {
        // Python has no recorder: its tasks report their own start and stop times, and
        // the same Timeline class draws them.
        const auto origin = Clock::now();
        cf::Timeline timeline(origin);
        for (const auto& task : run["tasks"].array()) {
          const auto at = [&](const char* key) {
            return origin + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(task[key].number()));
          };
          const auto id = timeline.on_submit();
          timeline.on_run(id, task["worker"].string(), at("started"), at("finished"));
        }
        const std::string name = run["name"].string();
        write_timeline(dir, "python-" + name, timeline, name + " (Python concurrent.futures)");
        r.py_busy_idle.push_back(summarize(name, timeline, run["wall_s"].number()));
      }
    }
  }
  if (config.only.count(2)) {
    progress.note("Python serial vs threads vs processes");
    if (auto v = run_python(config, "experiments.py",
                            {"sst", "--cpus", cpus, "--wait-s", fmt(s.wait_s, 3), "--compute-n",
                             std::to_string(s.compute_n), "--reps", reps},
                            r)) {
      for (const auto& row : (*v)["rows"].array()) {
        r.py_sst.push_back(
            {row["kind"].string(), row["mode"].string(), true, row["wall_s"].number()});
      }
    }
  }
  if (config.only.count(3)) {
    progress.note("Python worker sweep (starting the loopback HTTP server)");
    bench::HttpServer::Options options;
    options.delay = std::chrono::milliseconds(s.http_delay_ms);
    options.max_requests = static_cast<std::size_t>(4 * s.reps * config.cpus * config.cpus + 64);
    options.idle_timeout = std::chrono::milliseconds(60'000);
    bench::HttpServer server(options);
    if (auto v = run_python(config, "experiments.py",
                            {"sweep", "--cpus", cpus, "--cpu-n", std::to_string(s.sweep_n),
                             "--port", std::to_string(server.port()), "--reps", reps},
                            r)) {
      for (const auto& row : (*v)["rows"].array()) {
        r.py_sweep.push_back({row["kind"].string(), row["executor"].string(),
                              static_cast<int>(row["workers"].number()), true,
                              row["wall_s"].number(), row["task_mean_s"].number()});
      }
    }
  }
}

// ---------------------------------------------------------------------------------
// Experiment 5: micro-benchmarks.

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
    r.future_size = json::parse(size_json);
    write_file(dir / "future_size.json", size_json + "\n");
  }

  progress.note("Google Benchmark: cf_micro_bench (each line is one benchmark as it finishes)");
  const fs::path out = dir / "micro_bench.json";
  const std::string command =
      shell_quote(micro.string()) + " --cf_scale=" + s.name +
      " --benchmark_min_time=" + s.bench_min_time +
      " --benchmark_repetitions=" + std::to_string(s.bench_reps) +
      (s.bench_reps > 1 ? " --benchmark_report_aggregates_only=true" : "") +
      " --benchmark_out_format=json --benchmark_out=" + shell_quote(out.string());
  std::ofstream console(dir / "micro_bench.txt");
  const int status = run_command(command, [&](const std::string& line) {
    console << line << "\n";
    const bool result_line = line.find("/real_time") != std::string::npos ||
                             line.find("/manual_time") != std::string::npos;
    if (result_line && (s.bench_reps == 1 || line.find("_median") != std::string::npos)) {
      std::printf("      %s\n", line.c_str());
    }
  });
  if (status != 0)
    throw std::runtime_error("cf_micro_bench failed (status " + std::to_string(status) + ")");
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  r.micro = json::parse(text.str());

  const fs::path process_bench = config.bin_dir / "process_pool_bench";
  if (fs::exists(process_bench)) {
    progress.note("Google Benchmark: process_pool_bench (the process pool's own workloads)");
    const fs::path process_out = dir / "process_pool_bench.json";
    std::ofstream process_console(dir / "process_pool_bench.txt");
    const int process_status = run_command(
        shell_quote(process_bench.string()) +
            (s.name == "smoke" ? " --cf_scale=smoke --benchmark_min_time=0.001" : "") +
            " --benchmark_out_format=json --benchmark_out=" + shell_quote(process_out.string()),
        [&](const std::string& line) {
          process_console << line << "\n";
          if (line.find("/real_time") != std::string::npos) std::printf("      %s\n", line.c_str());
        });
    if (process_status == 0) {
      std::ifstream process_in(process_out);
      std::stringstream process_text;
      process_text << process_in.rdbuf();
      r.process_micro = json::parse(process_text.str());
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
}

// ---------------------------------------------------------------------------------
// REPORT.md

// The 1-minute load average: other work on the machine skews every parallel figure.
double load_average() {
  double load = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = -1;
    std::fclose(f);
  }
  return load;
}

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
  std::ostringstream out;
  out << cpu << ", " << bench::usable_cpus() << " usable CPUs (experiments assume " << config.cpus
      << "), Linux " << u.release << ", compiled by "
#if defined(__clang__)
      << "clang " << __clang_major__ << "." << __clang_minor__
#else
      << "g++ " << __GNUC__ << "." << __GNUC_MINOR__
#endif
      << " " << CF_BENCH_BUILD_TYPE;
  return out.str();
}

std::string cell(bool available, double v, int decimals = 3) {
  return available ? fmt(v, decimals) : "—";
}

template <class Row, class Pred>
const Row* find_row(const std::vector<Row>& rows, Pred pred) {
  for (const auto& row : rows) {
    if (pred(row)) return &row;
  }
  return nullptr;
}

// Google Benchmark's entries, keyed by run name without the /real_time-style suffixes:
// the median aggregate when there were repetitions, else the single run.
std::map<std::string, const json::Value*> bench_entries(const json::Value& root) {
  std::map<std::string, const json::Value*> entries;
  auto key_of = [](std::string name) {
    for (const char* suffix : {"/real_time", "/manual_time"}) {
      const auto pos = name.find(suffix);
      if (pos != std::string::npos) name.erase(pos, std::strlen(suffix));
    }
    const auto it = name.find("/iterations:");
    if (it != std::string::npos) {
      const auto end = name.find('/', it + 1);
      name.erase(it, end == std::string::npos ? std::string::npos : end - it);
    }
    return name;
  };
  for (const auto& b : root["benchmarks"].array()) {
    const std::string aggregate = b["aggregate_name"].string_or("");
    const std::string run_type = b["run_type"].string_or("iteration");
    const std::string key = key_of(b["run_name"].string_or(b["name"].string_or("")));
    if (aggregate == "median" || (run_type == "iteration" && !entries.count(key))) {
      entries[key] = &b;
    }
  }
  return entries;
}

std::map<std::string, const json::Value*> python_entries(const json::Value& root) {
  std::map<std::string, const json::Value*> entries;
  for (const auto& v : root["results"].array()) entries[v["name"].string()] = &v;
  return entries;
}

// "× 12.3" style ratio, or "—".
std::string ratio(double a, double b) {
  if (!(a > 0) || !(b > 0)) return "—";
  const double x = a / b;
  return fmt(x, x >= 10 ? 0 : (x >= 1 ? 1 : 2)) + "×";
}

void write_report(const Config& config, const fs::path& dir, const Results& r, double total_seconds,
                  double load_before) {
  std::ostringstream md;
  const std::time_t now = std::time(nullptr);
  char date[64];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  const Scale& s = config.scale;
  const bool py = !r.python_version.empty();
  const int n = config.cpus;

  md << "# concurrent::futures benchmark report\n\n"
     << "- Measured: " << date << ", scale **" << s.name << "**, the run took "
     << duration_text(total_seconds) << ".\n"
     << "- Machine: " << machine_description(config) << ".\n"
     << "- Load average (1 min) before the run: " << fmt(load_before, 2)
     << ", after: " << fmt(load_average(), 2)
     << (load_before > 0.5 ? " — **the machine was busy with other work: parallel speedups are "
                             "understated**"
                           : "")
     << ".\n"
     << "- Python: "
     << (py ? r.python_version + " (standard library concurrent.futures)" : r.python_note) << ".\n"
     << "- Process pool: "
     << "cf::ProcessPoolExecutor (default start method)"
     << ".\n"
     << "- Wall times include creating and shutting down the pool, as `with Executor() as ex:` "
        "does in Python. Experiments 2 and 3 keep the median of "
     << s.reps << " repetitions.\n";
  for (const auto& note : r.notes) md << "- Note: " << note << "\n";

  if (config.only.count(1)) {
    md << "\n## 1. Busy vs idle\n\n"
       << kBusyIdleTasks << " tasks on " << kBusyIdleWorkers << " workers. Busy: sum the integers "
       << "below " << s.busy_n << " (a loop the compiler cannot fold). Idle: sleep "
       << fmt(s.idle_s, 2) << " s. Ideal wall time for idle tasks: "
       << fmt(s.idle_s * kBusyIdleTasks / kBusyIdleWorkers, 2) << " s.\n\n"
       << "| run | C++ wall (s) | C++ mean task (s) | C++ workers used |"
       << (py ? " Python wall (s) | Python mean task (s) | Python / C++ wall |" : "") << "\n"
       << "|---|---:|---:|---:|" << (py ? "---:|---:|---:|" : "") << "\n";
    for (const auto& row : r.busy_idle) {
      const TaskTimes* p =
          find_row(r.py_busy_idle, [&](const TaskTimes& t) { return t.name == row.name; });
      md << "| " << row.name << " | " << cell(row.available, row.wall_s) << " | "
         << cell(row.available, row.task_mean_s, 4) << " | "
         << (row.available ? std::to_string(row.workers_seen) : "—") << " |";
      if (py) {
        md << " " << (p ? fmt(p->wall_s) : "—") << " | " << (p ? fmt(p->task_mean_s, 4) : "—")
           << " | " << (p && row.available ? ratio(p->wall_s, row.wall_s) : "—") << " |";
      }
      md << "\n";
    }
    md << "\nEach bar is one task from its start to its end; the dotted line before it is the "
          "time it waited in the queue. C++ charts come from `cf::Timeline` (the executor "
          "records them); Python's tasks report their own start and end times.\n\n";
    for (const auto& row : r.busy_idle) {
      if (!row.available) continue;
      md << "![" << row.name << " (C++)](" << row.name << ".svg)";
      if (py && find_row(r.py_busy_idle, [&](const TaskTimes& t) { return t.name == row.name; })) {
        md << " ![" << row.name << " (Python)](python-" << row.name << ".svg)";
      }
      md << "\n\n";
    }
    md << "Chrome traces (open in https://ui.perfetto.dev or chrome://tracing): "
       << "`<run>.trace.json` and `python-<run>.trace.json`.\n";
  }

  if (config.only.count(2)) {
    md << "\n## 2. Serial vs threads vs processes\n\n"
       << n << " tasks of each kind. Wait: sleep " << fmt(s.wait_s, 2)
       << " s. Compute: " << s.compute_n
       << " steps of y = cos(y). Speedup is over serial; efficiency is speedup / " << n << ".\n\n"
       << "| task | how | C++ wall (s) | C++ speedup | C++ efficiency |"
       << (py ? " Python wall (s) | Python speedup | Python efficiency |" : "") << "\n"
       << "|---|---|---:|---:|---:|" << (py ? "---:|---:|---:|" : "") << "\n";
    for (const std::string kind : {"wait", "compute"}) {
      const SstRow* serial =
          find_row(r.sst, [&](const SstRow& x) { return x.kind == kind && x.mode == "serial"; });
      const SstRow* py_serial =
          find_row(r.py_sst, [&](const SstRow& x) { return x.kind == kind && x.mode == "serial"; });
      for (const auto& mode : kModes) {
        const SstRow* c =
            find_row(r.sst, [&](const SstRow& x) { return x.kind == kind && x.mode == mode; });
        const SstRow* p =
            find_row(r.py_sst, [&](const SstRow& x) { return x.kind == kind && x.mode == mode; });
        const bool ca = c && c->available && serial;
        md << "| " << kind << " | " << mode << " | " << (ca ? fmt(c->wall_s) : "—") << " | "
           << (ca ? fmt(serial->wall_s / c->wall_s, 2) : "—") << " | "
           << (ca ? fmt(serial->wall_s / c->wall_s / n, 2) : "—") << " |";
        if (py) {
          const bool pa = p && py_serial;
          md << " " << (pa ? fmt(p->wall_s) : "—") << " | "
             << (pa ? fmt(py_serial->wall_s / p->wall_s, 2) : "—") << " | "
             << (pa ? fmt(py_serial->wall_s / p->wall_s / n, 2) : "—") << " |";
        }
        md << "\n";
      }
    }
  }

  if (config.only.count(3)) {
    md << "\n## 3. Thread pool vs process pool by worker count\n\n"
       << "w tasks on w workers, w = 1 .. " << n << ". CPU: " << s.sweep_n
       << " cos steps. I/O: an HTTP GET of a 64 KiB page from a server on 127.0.0.1 that answers "
          "after "
       << s.http_delay_ms
       << " ms (standing in for a download). Speedup = w × wall(w = 1) / wall(w): how many "
          "tasks' worth of work the pool gets through per task time; efficiency = speedup / w. "
          "Mean task = the average time one task ran (C++: from the Timeline).\n\n"
       << "| task | executor | w | C++ wall (s) | C++ speedup | C++ efficiency | C++ mean task (s) "
          "|"
       << (py ? " Python wall (s) | Python speedup | Python efficiency | Python mean task (s) |"
              : "")
       << "\n|---|---|---:|---:|---:|---:|---:|" << (py ? "---:|---:|---:|---:|" : "") << "\n";
    for (const std::string kind : {"cpu", "io"}) {
      for (const std::string executor : {"threads", "processes"}) {
        for (int w = 1; w <= n; ++w) {
          auto pick = [&](const std::vector<SweepRow>& rows, int workers) {
            return find_row(rows, [&](const SweepRow& x) {
              return x.kind == kind && x.executor == executor && x.workers == workers &&
                     x.available;
            });
          };
          const SweepRow *c = pick(r.sweep, w), *c1 = pick(r.sweep, 1);
          const SweepRow *p = pick(r.py_sweep, w), *p1 = pick(r.py_sweep, 1);
          md << "| " << kind << " | " << executor << " | " << w << " | ";
          if (c && c1) {
            const double speedup = w * c1->wall_s / c->wall_s;
            md << fmt(c->wall_s) << " | " << fmt(speedup, 2) << " | " << fmt(speedup / w, 2)
               << " | " << fmt(c->task_mean_s, 4) << " |";
          } else {
            md << "— | — | — | — |";
          }
          if (py) {
            if (p && p1) {
              const double speedup = w * p1->wall_s / p->wall_s;
              md << " " << fmt(p->wall_s) << " | " << fmt(speedup, 2) << " | "
                 << fmt(speedup / w, 2) << " | " << fmt(p->task_mean_s, 4) << " |";
            } else {
              md << " — | — | — | — |";
            }
          }
          md << "\n";
        }
      }
    }
    for (const std::string kind : {"cpu", "io"}) {
      bench::BarChart chart;
      chart.title = std::string("Mean task time, ") +
                    (kind == "cpu" ? "CPU-bound (cos steps)" : "I/O-bound (HTTP GET)");
      chart.y_label = "seconds per task";
      for (int w = 1; w <= n; ++w) chart.groups.push_back("w=" + std::to_string(w));
      for (const std::string lang : {"C++", "Python"}) {
        if (lang == "Python" && !py) continue;
        for (const std::string executor : {"threads", "processes"}) {
          chart.series.push_back(lang + " " + executor);
          std::vector<double> values;
          const auto& rows = lang == "C++" ? r.sweep : r.py_sweep;
          for (int w = 1; w <= n; ++w) {
            const SweepRow* row = find_row(rows, [&](const SweepRow& x) {
              return x.kind == kind && x.executor == executor && x.workers == w && x.available;
            });
            values.push_back(row ? row->task_mean_s : -1);
          }
          chart.values.push_back(values);
        }
      }
      std::ostringstream svg;
      chart.write_svg(svg);
      write_file(dir / ("sweep-" + kind + ".svg"), svg.str());
      md << "\n![" << chart.title << "](sweep-" << kind << ".svg)\n";
    }
  }

  if (config.only.count(5) && r.micro) {
    const auto cpp = bench_entries(*r.micro);
    const auto pyv =
        r.py_micro ? python_entries(*r.py_micro) : std::map<std::string, const json::Value*>{};
    auto value = [&](const std::string& key, const char* field) -> double {
      const auto it = cpp.find(key);
      return it == cpp.end() ? -1 : (*it->second)[field].number_or(-1);
    };
    auto py_value = [&](const std::string& key, const char* field = "value") -> double {
      const auto it = pyv.find(key);
      return it == pyv.end() ? -1 : (*it->second)[field].number_or(-1);
    };
    auto rate = [](double per_s) { return per_s > 0 ? fmt(per_s / 1e6, 3) : std::string("—"); };
    const bool pym = r.py_micro.has_value();

    md << "\n## 5. Micro-benchmarks\n\n"
       << "Google Benchmark, real time, the median of " << s.bench_reps
       << " repetitions; every row of a table ran in the same run. Raw data: "
          "`micro_bench.json` (Google Benchmark), `micro_bench.txt`"
       << (pym ? ", `python_micro.json`" : "") << ". Baselines: `std::async`, a plain "
       << "mutex + condition-variable pool with `std::future` (cvpool), Boost.Asio `thread_pool` "
       << "with `std::promise` (asio), oneTBB `task_group` (tbb: fire-and-forget, no result per "
       << "call, so a lower bound), Python's `ThreadPoolExecutor`.\n";
    if (s.name == "smoke") {
      md << "\n**Smoke scale: sizes too small for the numbers to mean anything; the targets "
            "are judged at the quick or full scale only.**\n";
    }
    const bool judge = s.name != "smoke";

    // Throughput.
    md << "\n### Submit + result throughput (million calls per second)\n\n"
       << "| workers | cf | cvpool | asio | tbb | async (1 thread per call) |"
       << (pym ? " Python | cf / Python |" : "") << " cf / cvpool | cf / asio |\n"
       << "|---:|---:|---:|---:|---:|---:|" << (pym ? "---:|---:|" : "") << "---:|---:|\n";
    std::set<int> workers;
    for (const auto& [key, entry] : cpp) {
      if (key.rfind("throughput/cf/workers:", 0) == 0) workers.insert(std::stoi(key.substr(22)));
    }
    const double async_rate = value("throughput/async", "items_per_second");
    for (int w : workers) {
      const std::string suffix = "/workers:" + std::to_string(w);
      const double c = value("throughput/cf" + suffix, "items_per_second");
      const double cv = value("throughput/cvpool" + suffix, "items_per_second");
      const double as = value("throughput/asio" + suffix, "items_per_second");
      const double tb = value("throughput/tbb" + suffix, "items_per_second");
      const double p = py_value("throughput/threads:" + std::to_string(w));
      md << "| " << w << " | " << rate(c) << " | " << rate(cv) << " | " << rate(as) << " | "
         << rate(tb) << " | " << rate(async_rate) << " |";
      if (pym) md << " " << rate(p) << " | " << ratio(c, p) << " |";
      md << " " << ratio(c, cv) << " | " << ratio(c, as) << " |\n";
    }
    {
      const double c2 = value("throughput/cf/workers:2", "items_per_second");
      const double p2 = py_value("throughput/threads:2");
      if (judge)
        md << "\nTarget (issue 2), 100,000 no-op calls on 2 workers: ≥ 1.5 M calls/s — "
           << (c2 < 0 ? "not measured" : (rate(c2) + " M/s, " + (c2 >= 1.5e6 ? "met" : "MISSED")));
      if (judge && pym && c2 > 0 && p2 > 0) {
        md << "; ≥ 40× Python — " << ratio(c2, p2) << ", " << (c2 / p2 >= 40 ? "met" : "MISSED");
      }
      if (judge) md << ".\n";
    }

    // Latency.
    md << "\n### Round-trip latency on an idle pool (2 workers; µs)\n\n"
       << "One call, wait for its result, sleep 200 µs so the pool is idle again; the median "
          "and 99th percentile of the individual round trips.\n\n"
       << "| library | median | p99 | median vs cf |\n|---|---:|---:|---:|\n";
    const double cf_p50 = value("latency/cf", "p50_us");
    for (const std::string lib : {"cf", "cvpool", "asio", "tbb", "async"}) {
      const double p50 = value("latency/" + lib, "p50_us");
      if (p50 < 0) continue;
      md << "| " << lib << " | " << fmt(p50, 2) << " | "
         << fmt(value("latency/" + lib, "p99_us"), 2) << " | " << ratio(p50, cf_p50) << " |\n";
    }
    if (pym) {
      const double p50 = py_value("latency/thread_pool") * 1e6;
      md << "| Python ThreadPoolExecutor | " << fmt(p50, 2) << " | "
         << fmt(py_value("latency/thread_pool", "p99") * 1e6, 2) << " | " << ratio(p50, cf_p50)
         << " |\n";
    }
    const double cfp = value("latency/cf_process_pool", "p50_us");
    const double pyp = py_value("latency/process_pool") * 1e6;
    if (cfp > 0 || pyp > 0) {
      md << "\nThe process pools (1 worker): a round trip through a pipe to another process.\n\n"
         << "| library | median | p99 |\n|---|---:|---:|\n";
      if (cfp > 0) {
        md << "| cf ProcessPoolExecutor | " << fmt(cfp, 2) << " | "
           << fmt(value("latency/cf_process_pool", "p99_us"), 2) << " |\n";
      }
      if (pyp > 0) {
        md << "| Python ProcessPoolExecutor | " << fmt(pyp, 2) << " | "
           << fmt(py_value("latency/process_pool", "p99") * 1e6, 2) << " |\n";
      }
      if (cfp > 0 && pyp > 0) md << "\ncf is " << ratio(pyp, cfp) << " faster than Python here.\n";
    }
    if (judge && cf_p50 > 0) {
      md << "\nTarget (issue 2): median ≤ 5 µs — " << fmt(cf_p50, 2) << " µs, "
         << (cf_p50 <= 5 ? "met" : "MISSED") << ".\n";
    }

    // Size.
    if (r.future_size) {
      const auto& z = *r.future_size;
      const double bytes = z["cf_bytes"].number();
      md << "\n### Memory per pending call (bytes on the heap, `cf_future_size`)\n\n"
         << "| what | bytes | allocations |\n|---|---:|---:|\n"
         << "| cf: `submit()` of a no-op (future, shared state, work item, queue slot) | "
         << fmt(bytes, 1) << " | " << fmt(z["cf_allocations"].number(), 2) << " |\n"
         << "| `std::packaged_task` in a `std::deque` (what cvpool stores) | "
         << fmt(z["packaged_task_bytes"].number(), 1) << " | "
         << fmt(z["packaged_task_allocations"].number(), 2) << " |\n"
         << "| `std::promise` + `std::future` alone | " << fmt(z["promise_bytes"].number(), 1)
         << " | " << fmt(z["promise_allocations"].number(), 2) << " |\n"
         << "\nTarget (issue 2): ≤ 192 bytes — " << fmt(bytes, 1) << ", "
         << (bytes <= 192 ? "met" : "MISSED") << " (the size does not depend on the scale).\n";
    }

    // map.
    md << "\n### map() with a chunksize sweep (million calls per second, 2 workers)\n\n"
       << "The thread pools ignore chunksize (as Python's does); for the process pools a chunk is "
          "one message, so larger chunks amortise the round trip.\n\n"
       << "| chunksize | cf thread map | cf submit loop |"
       << (pym ? " Python thread map | cf / Python (threads) |" : "") << " cf process map |"
       << (pym ? " Python process map | cf / Python (processes) |" : "") << "\n|---:|---:|---:|"
       << (pym ? "---:|---:|" : "") << "---:|" << (pym ? "---:|---:|" : "") << "\n";
    const double loop = value("map/cf_submit_loop", "items_per_second");
    for (const auto& [key, entry] : cpp) {
      if (key.rfind("map/cf/chunksize:", 0) != 0) continue;
      const std::string c = key.substr(17);
      const double v = (*entry)["items_per_second"].number_or(-1);
      const double pv = value("map/cf_process_pool/chunksize:" + c, "items_per_second");
      md << "| " << c << " | " << rate(v) << " | " << rate(loop) << " |";
      if (pym) {
        const double p = py_value("map/chunksize:" + c);
        md << " " << rate(p) << " | " << ratio(v, p) << " |";
      }
      md << " " << rate(pv) << " |";
      if (pym) {
        const double pp = py_value("map_process/chunksize:" + c);
        md << " " << rate(pp) << " | " << ratio(pv, pp) << " |";
      }
      md << "\n";
    }

    // wait / as_completed.
    md << "\n### wait() and as_completed() over n futures (ns per future)\n\n"
       << "Another thread completes the futures in order while the caller waits. Linear cost "
          "shows as a flat column.\n\n"
       << "| futures | cf wait | std::future wait each | cf as_completed |"
       << (pym ? " Python wait | Python as_completed | cf / Python (wait) |" : "")
       << "\n|---:|---:|---:|---:|" << (pym ? "---:|---:|---:|" : "") << "\n";
    std::set<long> sizes;
    for (const auto& [key, entry] : cpp) {
      if (key.rfind("wait/cf/futures:", 0) == 0) sizes.insert(std::stol(key.substr(16)));
    }
    auto ns = [](double s_per) { return s_per > 0 ? fmt(s_per * 1e9, 0) : std::string("—"); };
    for (long size : sizes) {
      const std::string suffix = "/futures:" + std::to_string(size);
      const double w = value("wait/cf" + suffix, "per_future");
      md << "| " << size << " | " << ns(w) << " | " << ns(value("wait/std" + suffix, "per_future"))
         << " | " << ns(value("as_completed/cf" + suffix, "per_future")) << " |";
      if (pym) {
        const double pw = py_value("wait/" + std::to_string(size));
        md << " " << ns(pw) << " | " << ns(py_value("as_completed/" + std::to_string(size)))
           << " | " << (pw > 0 ? ratio(pw, w) + " faster" : "—") << " |";
      }
      md << "\n";
    }

    // Callbacks.
    md << "\n### Done-callback overhead (ns per future: add the callbacks, then finish it)\n\n"
       << "| callbacks | cf |" << (pym ? " Python |" : "") << "\n|---:|---:|"
       << (pym ? "---:|" : "") << "\n";
    for (int k : {0, 1}) {
      md << "| " << k << " | "
         << ns(value("callback/cf/callbacks:" + std::to_string(k), "per_future")) << " |";
      if (pym) md << " " << ns(py_value("callback/" + std::to_string(k))) << " |";
      md << "\n";
    }
    const double c0 = value("callback/cf/callbacks:0", "per_future");
    const double c1 = value("callback/cf/callbacks:1", "per_future");
    if (c0 > 0 && c1 > 0) {
      md << "\nOne callback costs cf " << fmt((c1 - c0) * 1e9, 0) << " ns";
      if (pym) {
        md << "; Python " << fmt((py_value("callback/1") - py_value("callback/0")) * 1e9, 0)
           << " ns";
      }
      md << ".\n";
    }
  }
  if (config.only.count(5) && r.process_micro) {
    const auto cpp = bench_entries(*r.process_micro);
    const json::Value* py = r.py_process_micro ? &*r.py_process_micro : nullptr;
    auto value = [&](const std::string& key, const char* field) -> double {
      const auto it = cpp.find(key);
      return it == cpp.end() ? -1 : (*it->second)[field].number_or(-1);
    };
    auto py_number = [&](const char* key, const char* method = nullptr) -> double {
      if (!py) return -1;
      const json::Value& v = method ? (*py)[key][method] : (*py)[key];
      return v.number_or(-1);
    };
    md << "\n### Process pool (`process_pool_bench`, beside `process_pool_peer.py`)\n\n"
       << "| workload | cf | Python | cf vs Python |\n|---|---:|---:|---:|\n";
    for (const char* m : {"fork", "spawn", "forkserver"}) {
      const double c = value(std::string("round_trip/") + m, "p50_us");
      const double p = py_number("round_trip_p50_us", m);
      md << "| round trip, " << m << " (median µs) | " << (c > 0 ? fmt(c, 1) : "—") << " | "
         << (p > 0 ? fmt(p, 1) : "—") << " | " << (c > 0 && p > 0 ? ratio(p, c) + " faster" : "—")
         << " |\n";
    }
    {
      const double c = value("submit_then_results", "items_per_second");
      const double p = py_number("submit_then_results_tasks_per_s");
      md << "| submit then results (thousand calls/s) | " << (c > 0 ? fmt(c / 1e3, 1) : "—")
         << " | " << (p > 0 ? fmt(p / 1e3, 1) : "—") << " | " << ratio(c, p) << " |\n";
    }
    {
      const double c = value("map_chunked", "items_per_second");
      const double p = py_number("map_chunked_items_per_s");
      md << "| map, chunksize 1000 (million items/s) | " << (c > 0 ? fmt(c / 1e6, 2) : "—") << " | "
         << (p > 0 ? fmt(p / 1e6, 2) : "—") << " | " << ratio(c, p) << " |\n";
    }
    for (const char* m : {"fork", "spawn", "forkserver"}) {
      const double c = value(std::string("start_to_first_result/") + m, "real_time");
      const double p = py_number("start_to_first_result_ms", m);
      md << "| start to first result, " << m << " (ms) | " << (c > 0 ? fmt(c, 1) : "—") << " | "
         << (p > 0 ? fmt(p, 1) : "—") << " | " << (c > 0 && p > 0 ? ratio(p, c) + " faster" : "—")
         << " |\n";
    }
  }
  write_file(dir / "REPORT.md", md.str());
}

// ---------------------------------------------------------------------------------
// The results folder: a temporary sibling, renamed into place at the end.

class ResultsDir {
 public:
  explicit ResultsDir(fs::path final_path) : final_(std::move(final_path)) {
    std::error_code ec;
    final_ = fs::absolute(final_, ec);
    if (fs::exists(final_, ec) && !fs::is_directory(final_, ec)) {
      fail(final_.string() + " exists and is not a folder");
    }
    const fs::path parent = final_.parent_path();
    fs::create_directories(parent, ec);
    if (ec) fail("cannot create " + parent.string() + ": " + ec.message());
    std::string pattern = (parent / ("." + final_.filename().string() + ".tmp-XXXXXX")).string();
    if (!::mkdtemp(pattern.data())) {
      fail("cannot write the results folder " + final_.string() + " (" + std::strerror(errno) +
           ")");
    }
    tmp_ = pattern;
    // The folder itself must also be replaceable: its parent must be writable.
    if (::access(parent.c_str(), W_OK) != 0) {
      fs::remove_all(tmp_, ec);
      fail("cannot replace " + final_.string() + ": its parent folder is not writable");
    }
  }
  ~ResultsDir() {
    if (!committed_) {
      std::error_code ec;
      fs::remove_all(tmp_, ec);
    }
  }

  const fs::path& path() const { return tmp_; }
  const fs::path& final_path() const { return final_; }

  void commit() {
    std::error_code ec;
    fs::path old;
    if (fs::exists(final_, ec)) {
      std::string pattern =
          (final_.parent_path() / ("." + final_.filename().string() + ".old-XXXXXX")).string();
      if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot set aside the old results");
      old = fs::path(pattern) / "results";
      fs::rename(final_, old);
    }
    fs::rename(tmp_, final_);
    committed_ = true;
    if (!old.empty()) fs::remove_all(old.parent_path(), ec);
  }

 private:
  [[noreturn]] static void fail(const std::string& message) {
    std::fprintf(stderr, "cf_experiments: error: %s; nothing was written\n", message.c_str());
    std::exit(2);
  }

  fs::path final_, tmp_;
  bool committed_ = false;
};

// Ctrl-C: remove the temporary folder so nothing half-written stays behind. (Only
// async-signal-safe calls: fork a child that runs `rm -rf`.)
char g_tmp_for_signal[4096];

void on_signal(int sig) {
  if (g_tmp_for_signal[0] != '\0') {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const char* argv[] = {"rm", "-rf", g_tmp_for_signal, nullptr};
      ::execvp("rm", const_cast<char* const*>(argv));
      ::_exit(127);
    }
    if (pid > 0) ::waitpid(pid, nullptr, 0);
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

bool python_works(const Config& config, std::string& why) {
  if (!config.use_python) {
    why = "skipped (--no-python)";
    return false;
  }
  const std::string command =
      shell_quote(config.python) + " -c 'import concurrent.futures' " + ">/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) {
    why = "skipped: " + config.python + " was not found (or cannot import concurrent.futures)";
    return false;
  }
  if (!fs::exists(config.python_dir / "experiments.py")) {
    why = "skipped: " + (config.python_dir / "experiments.py").string() + " not found";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Config config = parse_args(argc, argv);
  {
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    config.bin_dir = ec ? fs::path(argv[0]).parent_path() : self.parent_path();
  }

  ResultsDir results_dir(config.out);
  std::snprintf(g_tmp_for_signal, sizeof g_tmp_for_signal, "%s", results_dir.path().c_str());
  ::signal(SIGINT, on_signal);
  ::signal(SIGTERM, on_signal);
  ::signal(SIGPIPE, SIG_IGN);

  Results r;
  std::string why;
  const bool python = python_works(config, why);
  if (!python) r.python_note = why;
  const Scale& s = config.scale;
  const int n = config.cpus;

  // Estimates for "time left" (seconds on a 2-core machine; refined as the run goes).
  Progress progress;
  const double rounds = std::ceil(double(kBusyIdleTasks) / kBusyIdleWorkers);
  const double py_step = 4e-8;  // Python: about 40 ns per loop step here
  progress.plan(1, "busy vs idle", 2 * rounds * s.idle_s + 1.0);
  progress.plan(2, "serial vs threads vs processes",
                s.reps * ((n + 4) * s.wait_s + (n + 4) * s.compute_n * 2e-8 * n / 2 + 0.3));
  progress.plan(3, "worker sweep",
                s.reps * (2 * n * (s.sweep_n * 2e-8 + s.http_delay_ms * 1e-3) * 2 + 0.2 * n));
  if (python) {
    progress.plan(4, "Python side by side",
                  2 * rounds * s.idle_s + kBusyIdleTasks * s.busy_n * py_step * 1.5 +
                      s.reps * ((n + 4) * s.wait_s + 3.5 * n * s.compute_n * py_step + 1) +
                      s.reps * (n * (n + 1) * (s.sweep_n * py_step + s.http_delay_ms * 1e-3) + n) +
                      2);
  }
  progress.plan(5, "micro-benchmarks", s.name == "smoke" ? 3 : (s.name == "quick" ? 60 : 300));

  std::printf("cf_experiments: scale %s, %d CPUs assumed, results in %s\n", s.name.c_str(), n,
              results_dir.final_path().c_str());
  if (!python) std::printf("cf_experiments: Python side %s\n", why.c_str());

  const double load_before = load_average();
  if (load_before > 0.5) {
    std::printf(
        "cf_experiments: note: load average %.2f: other work is running, so parallel "
        "speedups will be understated\n",
        load_before);
  }
  const auto t0 = Clock::now();
  try {
    const fs::path dir = results_dir.path();
    if (config.only.count(1)) {
      progress.begin(1);
      busy_vs_idle(config, dir, progress, r);
      progress.end();
    }
    if (config.only.count(2)) {
      progress.begin(2);
      serial_threads_processes(config, progress, r);
      progress.end();
    }
    if (config.only.count(3)) {
      progress.begin(3);
      progress.note("starting the loopback HTTP server (127.0.0.1, ephemeral port)");
      bench::HttpServer::Options options;
      options.delay = std::chrono::milliseconds(s.http_delay_ms);
      options.max_requests = static_cast<std::size_t>(2 * s.reps * n * (n + 1) + 64);
      bench::HttpServer server(options);
      worker_sweep(config, progress, server.port(), r);
      progress.end();
    }
    if (python && (config.only.count(4) || config.only.count(1) || config.only.count(2) ||
                   config.only.count(3))) {
      progress.begin(4);
      python_side(config, dir, progress, r);
      progress.end();
    } else if (!python) {
      r.notes.push_back("Python side " + why);
    }
    if (config.only.count(5)) {
      progress.begin(5);
      if (!python && r.python_note.empty()) r.python_note = why;
      micro_benchmarks(config, dir, progress, r);
      if (r.py_micro) {
        // Keep Python's raw numbers beside Google Benchmark's.
        std::ostringstream raw;
        raw << "{\"python\":\"" << r.python_version << "\",\"results\":[";
        bool first = true;
        for (const auto& v : (*r.py_micro)["results"].array()) {
          raw << (first ? "" : ",") << "{\"name\":\"" << v["name"].string()
              << "\",\"value\":" << v["value"].number() << ",\"unit\":\"" << v["unit"].string_or("")
              << "\"}";
          first = false;
        }
        raw << "]}\n";
        write_file(dir / "python_micro.json", raw.str());
      }
      progress.end();
    }
    write_report(config, dir, r, seconds_since(t0), load_before);
    results_dir.commit();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cf_experiments: error: %s; no results folder was written\n", e.what());
    return 1;
  }
  std::printf("cf_experiments: done in %s; report: %s\n", duration_text(seconds_since(t0)).c_str(),
              (results_dir.final_path() / "REPORT.md").c_str());
  return 0;
}
