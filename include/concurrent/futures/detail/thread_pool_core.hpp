// The non-template heart of ThreadPoolExecutor: the work queue, the worker threads and
// the shutdown protocol. Compiled once in src/thread_pool.cpp.
//
// Lifetime: the executor and every worker thread share the core through a shared_ptr,
// so a worker that outlives the executor (one that called shutdown from inside a task)
// still has its queue.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "concurrent/futures/detail/future_core.hpp"
#include "concurrent/futures/detail/mutex.hpp"

namespace concurrent::futures {
class Timeline;
}

namespace concurrent::futures::detail {

// What a worker hears from the WorkItem it runs.
class WorkerHooks {
 public:
  // The call has returned or thrown, and its future is about to complete (waking any
  // reader blocked in result()). Called at most once per run(), in the worker.
  virtual void call_returned(FutureCoreBase& future) noexcept = 0;

 protected:
  ~WorkerHooks() = default;
};

// One submitted call: what to run and the future it completes. A null WorkItem in the
// queue is a worker's stop marker.
class WorkItem {
 public:
  virtual ~WorkItem() = default;
  // Moves the future to RUNNING (or skips a cancelled one), runs the call, tells
  // `hooks`, and completes the future with its value or exception. Never throws.
  virtual void run(WorkerHooks& hooks) noexcept = 0;
  // The future this item completes, to cancel or fail it without running it.
  virtual FutureCoreBase& future() noexcept = 0;

  std::uint64_t timeline_id = 0;
};

struct ThreadPoolConfig {
  std::size_t max_workers;
  std::string thread_name_prefix;
  std::function<void()> initializer;
  std::shared_ptr<Timeline> timeline;
};

class ThreadPoolCore : public std::enable_shared_from_this<ThreadPoolCore> {
 public:
  explicit ThreadPoolCore(ThreadPoolConfig config);
  ~ThreadPoolCore();

  // Queues `item`, starting a worker if none is idle and fewer than max_workers run.
  // Throws BrokenThreadPool if an initializer failed, std::runtime_error after shutdown.
  void submit(std::shared_ptr<WorkItem> item) CONCURRENT_FUTURES_EXCLUDES(mutex_);

  void shutdown(bool wait, bool cancel_futures) CONCURRENT_FUTURES_EXCLUDES(mutex_);

  // Detaches the threads still running (only a worker that shut its own pool down
  // leaves any); called by the executor's destructor.
  void release_threads() CONCURRENT_FUTURES_EXCLUDES(mutex_);

  std::size_t max_workers() const { return config_.max_workers; }
  const std::shared_ptr<Timeline>& timeline() const { return config_.timeline; }

 private:
  class Worker;

  void worker_main(std::size_t index) CONCURRENT_FUTURES_EXCLUDES(mutex_);
  void run_item(WorkItem& item, WorkerHooks& hooks, const std::string& worker_name);
  void break_pool(const std::string& reason) CONCURRENT_FUTURES_EXCLUDES(mutex_);
  // Moves the queued calls out, leaving the stop markers in place.
  std::deque<std::shared_ptr<WorkItem>> take_queued_calls_locked()
      CONCURRENT_FUTURES_REQUIRES(mutex_);
  bool is_own_worker() const;

  const ThreadPoolConfig config_;
  Mutex mutex_;
  std::condition_variable work_available_;
  std::deque<std::shared_ptr<WorkItem>> queue_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
  std::vector<std::thread> threads_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
  // Workers that hold no call: waiting for one, or about to look for one (a worker
  // counts itself idle once its call has returned, before its future completes).
  std::size_t idle_workers_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = 0;
  bool shutdown_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = false;
  std::optional<std::string> broken_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
  // Serialises joining, so that a second shutdown(true) returns only once the
  // workers are really gone.
  std::mutex join_mutex_;
};

}  // namespace concurrent::futures::detail
