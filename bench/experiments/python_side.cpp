// Experiment 4, Python side by side: bench/python/experiments.py runs experiments 1-3
// with the same sizes; its busy/idle tasks report their own start and stop times, drawn
// with the same Timeline class.
#include <chrono>

#include "experiments/experiments.hpp"
#include "runner/python.hpp"
#include "runner/util.hpp"
#include "support/http.hpp"

namespace bench {

namespace {

void python_busy_idle(const Config& config, const fs::path& dir, Results& r) {
  const Scale& s = config.scale;
  const auto v = run_python(
      config, "experiments.py",
      {"busy_idle", "--busy-n", std::to_string(s.busy_n), "--idle-s", fixed(s.idle_s, 3),
       "--workers", std::to_string(kBusyIdleWorkers), "--tasks", std::to_string(kBusyIdleTasks)},
      r);
  if (!v) return;
  for (const auto& run : v->at("runs")) {
    // Python has no recorder: its tasks report their own start and stop times, and
    // the same Timeline class draws them.
    const auto origin = Clock::now();
    concurrent::futures::Timeline timeline(origin);
    for (const auto& task : run.at("tasks")) {
      const auto at = [&](const char* key) {
        return origin + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(task.at(key).get<double>()));
      };
      const auto id = timeline.on_submit();
      timeline.on_run(id, task.at("worker").get<std::string>(), at("started"), at("finished"));
    }
    const auto name = run.at("name").get<std::string>();
    write_timeline(dir, "python-" + name, timeline, name + " (Python concurrent.futures)");
    r.py_busy_idle.push_back(summarize(name, timeline, run.at("wall_s").get<double>()));
  }
}

void python_sst(const Config& config, Results& r) {
  const Scale& s = config.scale;
  const auto v =
      run_python(config, "experiments.py",
                 {"sst", "--cpus", std::to_string(config.cpus), "--wait-s", fixed(s.wait_s, 3),
                  "--compute-n", std::to_string(s.compute_n), "--reps", std::to_string(s.reps)},
                 r);
  if (!v) return;
  for (const auto& row : v->at("rows")) {
    r.py_sst.push_back({row.at("kind").get<std::string>(), row.at("mode").get<std::string>(), true,
                        row.at("wall_s").get<double>()});
  }
}

void python_sweep(const Config& config, Results& r) {
  const Scale& s = config.scale;
  HttpServer::Options options;
  options.delay = std::chrono::milliseconds(s.http_delay_ms);
  const auto cpus = static_cast<std::size_t>(config.cpus);
  options.max_requests = 4 * static_cast<std::size_t>(s.reps) * cpus * cpus + 64;
  options.idle_timeout = std::chrono::milliseconds(60'000);
  HttpServer server(options);
  const auto v = run_python(
      config, "experiments.py",
      {"sweep", "--cpus", std::to_string(config.cpus), "--cpu-n", std::to_string(s.sweep_n),
       "--port", std::to_string(server.port()), "--reps", std::to_string(s.reps)},
      r);
  if (!v) return;
  for (const auto& row : v->at("rows")) {
    r.py_sweep.push_back({row.at("kind").get<std::string>(), row.at("executor").get<std::string>(),
                          row.at("workers").get<int>(), true, row.at("wall_s").get<double>(),
                          row.at("task_mean_s").get<double>()});
  }
}

}  // namespace

void python_side(const Config& config, const fs::path& dir, Progress& progress, Results& r) {
  if (config.only.count(1)) {
    progress.note("Python busy vs idle");
    python_busy_idle(config, dir, r);
  }
  if (config.only.count(2)) {
    progress.note("Python serial vs threads vs processes");
    python_sst(config, r);
  }
  if (config.only.count(3)) {
    progress.note("Python worker sweep (starting the loopback HTTP server)");
    python_sweep(config, r);
  }
}

}  // namespace bench
