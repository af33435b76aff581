// Timeline: an opt-in recorder of when each task of an executor was submitted, when it
// started and finished, and on which worker (a thread's name, or a process id).
//
//   auto timeline = std::make_shared<cf::Timeline>();
//   cf::ThreadPoolExecutor pool({.max_workers = 4, .timeline = timeline});
//   ... submit work, wait for it ...
//   timeline->write_chrome_trace(file);   // opens in Perfetto and chrome://tracing
//   timeline->write_svg(file, "busy-threads");  // a Gantt chart: one bar per task
//
// Times are std::chrono::steady_clock time points; on Linux that clock is the same in
// every process, so a process pool's workers report their own start and stop times.
//
// Thread safety: all members may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "concurrent/futures/detail/mutex.hpp"

namespace concurrent::futures {

class Timeline {
 public:
  using Clock = std::chrono::steady_clock;

  struct Task {
    std::uint64_t id = 0;  // in submission order, from 0
    std::string worker;    // "ThreadPool-1_0", "pid 4242", ...
    Clock::time_point submitted;
    Clock::time_point started;   // equal to submitted until the task ran
    Clock::time_point finished;  // equal to started until the task ran
    // Empty for a task that returned or threw; else how it was cut short ("worker died:
    // ...", "killed: ..."), its `finished` then being when its executor learned of it.
    std::string killed;
  };

  // Times are drawn relative to `origin` (the construction time by default).
  Timeline();
  explicit Timeline(Clock::time_point origin);

  Clock::time_point origin() const { return origin_; }

  // Called by an executor when a task is submitted; returns the task's id.
  std::uint64_t on_submit();
  // Called by an executor once task `id` has run on `worker` from `started` to `finished`.
  // An id that on_submit() never handed out is ignored.
  // `killed` says how the task was cut short, if it was (see Task::killed).
  void on_run(std::uint64_t id, std::string worker, Clock::time_point started,
              Clock::time_point finished, std::string killed = {});

  // The tasks that ran, by id (tasks that never ran, e.g. cancelled ones, are left out).
  std::vector<Task> tasks() const;

  // Chrome trace-event JSON: one complete event ("ph":"X") per task, one track per worker
  // (a thread's name becomes a tid of this process; "pid N" becomes process N), times
  // in microseconds since origin(). The submission time is in each event's args, and
  // a task cut short says how in args.killed (its name ends in "(killed)").
  void write_chrome_trace(std::ostream& out) const;
  // An SVG Gantt chart: one bar per task from start to stop, task number down the y
  // axis, seconds along x (since origin()), bars coloured by worker, with a thin line
  // for the time each task waited in the queue, axis ticks, the title and a legend. A
  // task cut short (a worker that died or was killed) ends in a black bar and a cross.
  void write_svg(std::ostream& out, std::string_view title) const;

 private:
  const Clock::time_point origin_;
  mutable detail::Mutex mutex_;
  std::vector<Task> tasks_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);  // index = id
  std::vector<bool> ran_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);    // index = id
};

}  // namespace concurrent::futures
