// Waiter and WaitLink: how a blocked thread (result(), wait(), as_completed()) hears
// that the futures it waits on finished. Private to the library: the templates reach
// them only through FutureCoreBase::wait_until, wait_for_cores and the completion queue.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "concurrent/futures/detail/future_core.hpp"
#include "concurrent/futures/detail/mutex.hpp"

namespace concurrent::futures::detail {

// A thread that waits for one or more futures to finish. Lives on the waiting thread's
// stack (or in an as_completed range) and is linked into each future through a WaitLink.
class Waiter {
 public:
  enum class WakeOn { any, all, failure_or_all };

  Waiter(WakeOn wake_on, std::size_t pending) : wake_on_(wake_on), pending_(pending) {}
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  // Called by a future that finished or was cancelled, under that future's lock;
  // `own_pool` as the future's WaitLink says.
  void notify(std::size_t index, bool failed, bool own_pool = false);

  // Called by FutureCoreBase::link, under the future's lock, for a future a call of the
  // pool whose worker this thread is may finish (see helps_with_pool below); `deeper`
  // if that call is nested deeper than the waiting one (see is_deeper_call below).
  void add_own_pool_future(bool deeper);

  // Blocks until the wake condition holds or `deadline` passes; true if it holds.
  // Every blocking wait in the library (result(), exception(), wait(), as_completed())
  // blocks here and nowhere else; on a thread with a WaitHelper (a thread-pool worker),
  // the helper does the waiting.
  bool wait_until(Clock::time_point deadline);

  // For a WaitHelper: blocks until the wake condition holds, `deadline` passes,
  // poke() is called (which this consumes), or no awaited future the helper's pool may
  // finish is left unfinished (then it returns `poked` too: the helper looks again).
  enum class Woken { ready, poked, timed_out };
  Woken wait_until_or_poked(Clock::time_point deadline);
  // Makes wait_until_or_poked() return, now or when next called. Lock order: whoever
  // pokes may hold its own lock, never this waiter's.
  void poke();
  // Where the wait stands now: the wake condition holds; it does not, and some awaited
  // future may be finished by a call of the waiting worker's own pool (helping may run
  // it), every such future being a call nested deeper than the waiting one
  // (deeper_calls_pending) or not (own_pool_pending); or it does not and none may
  // (helping cannot bring it nearer: wait plainly).
  enum class Status { ready, deeper_calls_pending, own_pool_pending, others_pending };
  Status status_now();
  // Blocks until the wake condition holds or `deadline` passes, running nothing.
  bool wait_plainly_until(Clock::time_point deadline);

  // Moves out the indices of the futures that finished since the last call, in the
  // order they finished.
  std::vector<std::size_t> take_finished();

 private:
  bool ready() const CONCURRENT_FUTURES_REQUIRES(mutex_);

  const WakeOn wake_on_;
  Mutex mutex_;
  std::condition_variable cv_;
  std::size_t pending_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
  bool failure_seen_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = false;
  bool poked_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = false;
  // Unfinished awaited futures a call of the waiting worker's own pool may finish.
  std::size_t own_pool_pending_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = 0;
  // One of them was not a deeper call (kept once seen: this only makes helping freer).
  bool shallower_own_pool_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = false;
  std::vector<std::size_t> finished_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
};

// What a thread that has other work to run while it blocks (a thread-pool worker, see
// src/thread_pool.cpp) installs for itself: every Waiter::wait_until on that thread
// waits through it.
class WaitHelper {
 public:
  // Returns like Waiter::wait_until(deadline), and may run other work meanwhile.
  virtual bool wait_until(Waiter& waiter, Clock::time_point deadline) = 0;

  // The FutureCoreBase::call_depth() of the call the helper's thread is running now.
  virtual std::uint16_t running_call_depth() const noexcept = 0;

  // The FutureCoreBase::pool_tag() of the calls this helper can run (never 0).
  const std::uint32_t pool_tag;

 protected:
  explicit WaitHelper(std::uint32_t tag) : pool_tag(tag) {}
  ~WaitHelper() = default;
};

// Installs `helper` for the calling thread (null: none); returns the previous one.
WaitHelper* exchange_wait_helper(WaitHelper* helper) noexcept;

// Whether a future with this FutureCoreBase::pool_tag() may be completed by a call of
// the pool whose WaitHelper the calling thread has installed (one of its calls, or a
// future of unknown completer): only then may waiting for it run queued calls.
bool helps_with_pool(std::uint32_t pool_tag) noexcept;
// Whether a future with this pool_tag() and call_depth() is a call of the calling
// thread's WaitHelper's pool nested deeper than the call the thread is running.
bool is_deeper_call(std::uint32_t pool_tag, std::uint16_t call_depth) noexcept;

// One Waiter's membership in one future's list of waiters (guarded by that future's
// lock once linked).
struct WaitLink {
  Waiter* waiter = nullptr;
  std::size_t index = 0;  // the future's position in the waiter's input
  WaitLink* prev = nullptr;
  WaitLink* next = nullptr;
  bool linked = false;
  bool own_pool = false;  // a call of the waiting worker's pool may finish the future
};

}  // namespace concurrent::futures::detail
