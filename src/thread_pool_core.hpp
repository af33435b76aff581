// The non-template heart of ThreadPoolExecutor: the work queue, the worker threads and
// the shutdown protocol (private; the templates reach it through
// detail/thread_pool_work.hpp). src/thread_pool.cpp says how idle workers are counted
// and woken.
//
// Lifetime: the executor and every worker thread share the core through a shared_ptr,
// so a worker that outlives the executor (one that called shutdown from inside a task)
// still has its queue.
#pragma once

#include <atomic>
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

#include "concurrent/futures/detail/mutex.hpp"
#include "concurrent/futures/detail/thread_pool_work.hpp"
#include "submitted_calls.hpp"

namespace concurrent::futures {
class Timeline;
}

namespace concurrent::futures::detail {

class Waiter;
class CallDeadlines;

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

  // thread_pool_submit() (detail/thread_pool_work.hpp).
  void submit(std::shared_ptr<WorkItem> item) CONCURRENT_FUTURES_EXCLUDES(mutex_);
  // The same for a call with a timeout; starts the pool's timer thread with the first.
  void submit_timed(std::shared_ptr<WorkItem> call, Clock::duration timeout)
      CONCURRENT_FUTURES_EXCLUDES(mutex_);

  void shutdown(bool wait, bool cancel_futures) CONCURRENT_FUTURES_EXCLUDES(mutex_);

  // Detaches the threads still running (only a worker that shut its own pool down
  // leaves any); called by the executor's destructor.
  void release_threads() CONCURRENT_FUTURES_EXCLUDES(mutex_);

  std::size_t max_workers() const { return config_.max_workers; }

 private:
  class Worker;
  class Helper;

  void worker_main(std::size_t index) CONCURRENT_FUTURES_EXCLUDES(mutex_);
  void run_item(const std::shared_ptr<WorkItem>& item, WorkerHooks& hooks,
                const std::string& worker_name) CONCURRENT_FUTURES_EXCLUDES(mutex_);
  void break_pool(const std::string& reason) CONCURRENT_FUTURES_EXCLUDES(mutex_);
  // Moves the queued calls out, leaving the stop markers in place, and closes
  // submitted_: the pool takes no more calls.
  std::deque<std::shared_ptr<WorkItem>> take_queued_calls_locked()
      CONCURRENT_FUTURES_REQUIRES(mutex_);
  bool is_own_worker() const;
  // Moves the calls submitted without the mutex into queue_, after those queued before.
  void drain_submitted_locked() CONCURRENT_FUTURES_REQUIRES(mutex_) {
    submitted_.drain_into(queue_);
  }
  // After a submit: starts a worker if the idle ones cannot cover the queue, and says
  // whether the caller must signal work_available_ (as wake_needed_locked).
  bool start_or_wake_locked() CONCURRENT_FUTURES_REQUIRES(mutex_);
  // Recomputes submit_must_lock_ from the counts below; called whenever one of them
  // changes, before the caller looks at the queue (src/thread_pool.cpp says why).
  void update_submit_path_locked() CONCURRENT_FUTURES_REQUIRES(mutex_);
  // Whether the caller must signal work_available_ (after unlocking) so that a sleeper
  // takes the calls no awake worker will; pokes a helping worker instead when no worker
  // sleeps.
  bool wake_needed_locked(std::size_t awake_idle) CONCURRENT_FUTURES_REQUIRES(mutex_);
  // For a helping worker: the most recently queued call (not a stop marker) whose
  // FutureCoreBase::call_depth() exceeds `deeper_than` (-1: any call), or null.
  std::shared_ptr<WorkItem> take_newest_call_locked(int deeper_than)
      CONCURRENT_FUTURES_REQUIRES(mutex_);
  bool has_call_deeper_than_locked(int deeper_than) const CONCURRENT_FUTURES_REQUIRES(mutex_);

  const ThreadPoolConfig config_;
  // This pool's FutureCoreBase::pool_tag(), on every future of its calls.
  const std::uint32_t tag_;
  // Whether a submit must take the mutex after pushing to submitted_: a worker may have
  // to be started, a sleeper or a blocked helper woken. Written under the mutex, read
  // without it ("Submitting without the mutex" in src/thread_pool.cpp).
  std::atomic<bool> submit_must_lock_{true};
  SubmittedCalls submitted_;
  // On a cache line of its own: submitting threads read tag_ and submit_must_lock_ on
  // every call, and sharing a line with the mutex the workers take made each submit
  // wait for that line.
  alignas(kCacheLine) Mutex mutex_;
  std::condition_variable work_available_;
  std::deque<std::shared_ptr<WorkItem>> queue_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
  std::vector<std::thread> threads_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
  // The running calls that take a std::stop_token, for shutdown(cancel_futures) to stop.
  std::vector<std::shared_ptr<WorkItem>> running_with_token_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
  // Workers that hold no call: waiting for one, or about to look for one (a worker
  // counts itself idle once its call has returned, before its future completes).
  std::size_t idle_workers_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = 0;
  // The idle workers blocked on work_available_.
  std::size_t sleeping_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = 0;
  // A sleeper has been signalled and no worker has woken since.
  bool wake_pending_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = false;
  // Workers blocked in a wait inside a call with nothing to help with: poked when calls
  // they may take arrive that no other worker will (src/thread_pool.cpp, "Helping").
  struct BlockedHelper {
    Waiter* waiter;
    int takes_deeper_than;  // as take_newest_call_locked()
  };
  std::vector<BlockedHelper> helpers_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
  // The timer of calls with a CallOptions timeout, made with the first of them.
  std::shared_ptr<CallDeadlines> deadlines_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
  bool shutdown_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = false;
  std::optional<std::string> broken_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
  // Serialises joining, so that a second shutdown(true) returns only once the
  // workers are really gone.
  std::mutex join_mutex_;
};

}  // namespace concurrent::futures::detail
