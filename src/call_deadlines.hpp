// CallDeadlines: the thread pool's per-call timeouts (CallOptions::timeout), one timer
// thread per pool for all of its timed calls, and TimedCall, the queue entry that arms
// and disarms a call's deadline around running it. Untimed calls never meet either.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "concurrent/futures/detail/mutex.hpp"
#include "concurrent/futures/detail/thread_pool_work.hpp"

namespace concurrent::futures::detail {

// The deadlines of a pool's running timed calls, and the thread that fails each call's
// future with TimeoutError when its deadline passes, then asks its stop token to stop.
// The thread starts with the first timed call and sleeps until the earliest deadline;
// the future's done-callbacks and the token's stop callbacks run in it.
class CallDeadlines : public std::enable_shared_from_this<CallDeadlines> {
 public:
  struct Armed {
    std::shared_ptr<WorkItem> call;
    Clock::duration timeout;
  };
  // Ordered by deadline, then by arming order (unique keys, to disarm by key).
  using Key = std::pair<Clock::time_point, std::uint64_t>;
  using Map = std::map<Key, Armed>;

  explicit CallDeadlines(std::string thread_name) : thread_name_(std::move(thread_name)) {}
  ~CallDeadlines();
  CallDeadlines(const CallDeadlines&) = delete;
  CallDeadlines& operator=(const CallDeadlines&) = delete;

  // Starts the timer thread unless it runs. Throws std::system_error if it cannot.
  void start() CONCURRENT_FUTURES_EXCLUDES(mutex_);
  // Stops the timer thread and joins it (detaches it, if called in it). Deadlines still
  // armed then do not fire: the pool calls this once no call can run any more.
  void stop() CONCURRENT_FUTURES_EXCLUDES(mutex_);

  // A map node allocated ahead, so that arming a call allocates nothing.
  static Map::node_type make_node();
  // Arms `node` (from make_node) for `call`, due `timeout` from now; returns its key.
  Key arm(Map::node_type node, std::shared_ptr<WorkItem> call, Clock::duration timeout) noexcept
      CONCURRENT_FUTURES_EXCLUDES(mutex_);
  // Disarms the deadline `key` unless it has fired.
  void disarm(const Key& key) noexcept CONCURRENT_FUTURES_EXCLUDES(mutex_);

 private:
  void run() CONCURRENT_FUTURES_EXCLUDES(mutex_);
  static void fire(const Armed& armed) noexcept;

  const std::string thread_name_;
  Mutex mutex_;
  std::condition_variable changed_;
  Map armed_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
  std::uint64_t armed_count_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = 0;
  bool stopping_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = false;
  std::thread thread_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
};

// A call submitted with a CallOptions timeout: its deadline is armed when it starts
// running (so a call queued behind others is timed from its own start) and disarmed
// when it returns. It runs the call with itself as the hooks, to hear of the start, and
// passes the rest on to the worker's.
class TimedCall final : public WorkItem, private WorkerHooks, private CallStartListener {
 public:
  TimedCall(std::shared_ptr<WorkItem> call, Clock::duration timeout, CallDeadlines& deadlines)
      : WorkerHooks(this),
        call_(std::move(call)),
        timeout_(timeout),
        deadlines_(deadlines),
        node_(CallDeadlines::make_node()) {}

  void run(WorkerHooks& hooks) noexcept override;
  FutureCoreBase& future() noexcept override { return call_->future(); }

 private:
  void call_started() noexcept override;
  void call_returned(FutureCoreBase& future) noexcept override;

  std::shared_ptr<WorkItem> call_;
  const Clock::duration timeout_;
  CallDeadlines& deadlines_;  // the pool's, alive while any of its calls runs
  CallDeadlines::Map::node_type node_;
  WorkerHooks* worker_ = nullptr;  // while run() runs
  std::optional<CallDeadlines::Key> armed_;
};

}  // namespace concurrent::futures::detail
