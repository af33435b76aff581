// Progress lines with a time-left estimate (see progress.hpp).
#include "runner/progress.hpp"

#include <fmt/core.h>
#include <algorithm>

#include <cstdio>

namespace bench {

void Progress::plan(int experiment, std::string title, double estimate_s) {
  steps_.push_back({experiment, std::move(title), estimate_s});
}

void Progress::begin(int experiment) {
  current_ = experiment;
  started_ = Clock::now();
}

void Progress::end() {
  for (auto& s : steps_) {
    if (s.experiment == current_) {
      done_estimate_ += s.estimate_s;
      done_actual_ += seconds_since(started_);
      s.done = true;
    }
  }
}

void Progress::note(const std::string& what) const {
  const Step* step = find(current_);
  double left_estimate = 0;
  for (const auto& s : steps_) {
    if (!s.done && s.experiment != current_) left_estimate += s.estimate_s;
  }
  const double in_step = seconds_since(started_);
  const double current_left = step ? std::max(0.0, step->estimate_s - in_step) : 0;
  const double ratio =
      done_estimate_ > 1 ? std::clamp(done_actual_ / done_estimate_, 0.5, 3.0) : 1.0;
  fmt::print("[{}/5 {}] {}  ({} elapsed, about {} left)\n", current_, step ? step->title : "", what,
             duration_text(seconds_since(run_start_)),
             duration_text((left_estimate + current_left) * ratio));
  std::fflush(stdout);
}

const Progress::Step* Progress::find(int experiment) const {
  for (const auto& s : steps_) {
    if (s.experiment == experiment) return &s;
  }
  return nullptr;
}

}  // namespace bench
