// What ThreadPoolExecutor's templates hand to the pool's compiled core
// (src/thread_pool_core.hpp): a WorkItem per queue entry, and the one function that
// queues it.
#pragma once

#include <cstdint>
#include <memory>

#include "concurrent/futures/call_options.hpp"
#include "concurrent/futures/detail/future_core.hpp"

namespace concurrent::futures::detail {

class ThreadPoolCore;
class SubmittedCalls;

// Told when a call starts: a timed call's deadline counts from then (src/call_deadlines.hpp).
class CallStartListener {
 public:
  virtual void call_started() noexcept = 0;

 protected:
  ~CallStartListener() = default;
};

// What a worker hears from the WorkItem it runs.
class WorkerHooks {
 public:
  // The future has moved to RUNNING and the call is about to be made. Called at most
  // once per run(), in the worker; costs an untimed call one test of a null pointer.
  void call_started() noexcept {
    if (start_listener_ != nullptr) start_listener_->call_started();
  }
  // The call has returned or thrown, and its future is about to complete (waking any
  // reader blocked in result()). Called at most once per run(), in the worker.
  virtual void call_returned(FutureCoreBase& future) noexcept = 0;

 protected:
  WorkerHooks() = default;
  explicit WorkerHooks(CallStartListener* start_listener) : start_listener_(start_listener) {}
  ~WorkerHooks() = default;

 private:
  CallStartListener* const start_listener_ = nullptr;
};

// One queue entry: what to run and the future it completes. A null WorkItem in the
// queue is a worker's stop marker.
class WorkItem {
 public:
  virtual ~WorkItem() = default;
  // Moves the future to RUNNING (or skips a cancelled one), runs the call, tells
  // `hooks` (call_started, then call_returned), and completes the future with its value
  // or exception. Never throws.
  virtual void run(WorkerHooks& hooks) noexcept = 0;
  // The future this item completes, to cancel or fail it without running it.
  virtual FutureCoreBase& future() noexcept = 0;

  std::uint64_t timeline_id = 0;

 private:
  friend class SubmittedCalls;
  // While the item waits in the pool's lock-free stack of submitted calls
  // (src/submitted_calls.hpp): the next older item there, and the item's own ownership.
  WorkItem* next_submitted_ = nullptr;
  std::shared_ptr<WorkItem> submitted_self_;
};

// Queues `item` on `pool`, starting a worker if none is idle and fewer than max_workers
// run.
//
// Throws: BrokenThreadPool once an initializer failed; std::runtime_error after
// shutdown (the item is then not queued). Any thread may call it, a worker of `pool`
// included.
void thread_pool_submit(ThreadPoolCore& pool, std::shared_ptr<WorkItem> item);
// The same with `options` (thread_pool.hpp says what they do). Also throws
// std::invalid_argument for a timeout that is not positive, std::system_error if the
// pool's timer thread cannot start.
void thread_pool_submit(ThreadPoolCore& pool, std::shared_ptr<WorkItem> item,
                        const CallOptions& options);

}  // namespace concurrent::futures::detail
