// Progress lines on stdout: which experiment, how far, and how long is left (from
// per-experiment estimates, scaled by how the estimates have held up so far).
#pragma once

#include <string>
#include <vector>

#include "runner/util.hpp"

namespace bench {

class Progress {
 public:
  void plan(int experiment, std::string title, double estimate_s);
  void begin(int experiment);
  void end();
  void note(const std::string& what) const;

 private:
  struct Step {
    int experiment;
    std::string title;
    double estimate_s;
    bool done = false;
  };
  const Step* find(int experiment) const;

  std::vector<Step> steps_;
  int current_ = 0;
  Clock::time_point run_start_ = Clock::now();
  Clock::time_point started_ = Clock::now();
  double done_estimate_ = 0, done_actual_ = 0;
};

}  // namespace bench
