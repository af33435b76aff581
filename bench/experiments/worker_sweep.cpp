// Experiment 3, thread pool vs process pool by worker count: CPU-bound (cos steps) and
// I/O-bound (an HTTP GET from a loopback server this program starts) for w = 1 .. N.
#include <chrono>
#include <memory>

#include "experiments/experiments.hpp"
#include "runner/pools.hpp"
#include "support/http.hpp"

namespace bench {

void worker_sweep(const Config& config, Progress& progress, Results& r) {
  const Scale& s = config.scale;
  const int n = config.cpus;
  progress.note("starting the loopback HTTP server (127.0.0.1, ephemeral port)");
  HttpServer::Options options;
  options.delay = std::chrono::milliseconds(s.http_delay_ms);
  const auto cpus = static_cast<std::size_t>(n);
  options.max_requests = 2 * static_cast<std::size_t>(s.reps) * cpus * (cpus + 1) + 64;
  HttpServer server(options);
  const int port = server.port();

  for (const std::string kind : {"cpu", "io"}) {
    for (const Pool pool : {Pool::threads, Pool::processes}) {
      for (int w = 1; w <= n; ++w) {
        std::vector<double> walls, durations;
        for (int rep = 0; rep < s.reps; ++rep) {
          progress.note(kind + "/" + pool_name(pool) + " w=" + std::to_string(w) + " (rep " +
                        std::to_string(rep + 1) + "/" + std::to_string(s.reps) + ")");
          auto timeline = std::make_shared<concurrent::futures::Timeline>();
          walls.push_back(kind == "cpu" ? run_on_pool(pool, w, w, compute_task, s.sweep_n, timeline)
                                        : run_on_pool(pool, w, w, fetch_task, port, timeline));
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

}  // namespace bench
