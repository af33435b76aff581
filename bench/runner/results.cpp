// Rows from timelines, and timelines to files (see results.hpp).
#include "runner/results.hpp"

#include <chrono>
#include <set>
#include <sstream>

#include "runner/util.hpp"

namespace bench {

TaskTimes summarize(const std::string& name, const concurrent::futures::Timeline& timeline,
                    double wall_s) {
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

void write_timeline(const std::filesystem::path& dir, const std::string& stem,
                    const concurrent::futures::Timeline& timeline, const std::string& title) {
  std::ostringstream svg, trace;
  timeline.write_svg(svg, title);
  timeline.write_chrome_trace(trace);
  write_file(dir / (stem + ".svg"), svg.str());
  write_file(dir / (stem + ".trace.json"), trace.str());
}

}  // namespace bench
