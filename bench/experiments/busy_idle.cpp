// Experiment 1, busy vs idle: 15 tasks on 5 workers, busy (a summing loop) or idle (a
// sleep), on the thread pool and the process pool; Gantt charts from cf::Timeline.
#include <memory>
#include <string>

#include "experiments/experiments.hpp"
#include "runner/pools.hpp"

namespace bench {

void busy_vs_idle(const Config& config, const fs::path& dir, Progress& progress, Results& r) {
  for (const bool busy : {true, false}) {
    for (const Pool pool : {Pool::threads, Pool::processes}) {
      const std::string name = std::string(busy ? "busy-" : "idle-") + pool_name(pool);
      progress.note(name + ": " + std::to_string(kBusyIdleTasks) + " tasks on " +
                    std::to_string(kBusyIdleWorkers) + " workers");
      auto timeline = std::make_shared<concurrent::futures::Timeline>();
      const double wall = busy ? run_on_pool(pool, kBusyIdleWorkers, kBusyIdleTasks, busy_task,
                                             config.scale.busy_n, timeline)
                               : run_on_pool(pool, kBusyIdleWorkers, kBusyIdleTasks, idle_task,
                                             config.scale.idle_s, timeline);
      write_timeline(dir, name, *timeline, name + " (C++ concurrent::futures)");
      r.busy_idle.push_back(summarize(name, *timeline, wall));
    }
  }
}

}  // namespace bench
