// The shared state behind Future, AnyFuture and Promise.
//
// FutureCoreBase holds everything that does not depend on the value type: the state,
// the lock, the waiters and the done-callbacks. It is compiled once in
// src/future_core.cpp. Core<T> adds the value.
//
// The state machine is drawn in future_state.hpp.
//
// Waiters: a thread blocked in result(), wait() or as_completed() links a WaitLink
// into every future it waits on. Completion notifies each linked Waiter while holding
// the core's lock (lock order: core, then waiter), so a Waiter can be destroyed as soon
// as its thread has unlinked it. Done-callbacks run after the lock is released.
//
// Memory ordering: the value or exception is written under the core's lock before the
// state is stored with release order; every reader checks the state with acquire
// order (or under the lock) first, so whatever the task wrote before completing is
// visible to the thread that reads the result.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <stop_token>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "concurrent/futures/detail/mutex.hpp"
#include "concurrent/futures/detail/unique_function.hpp"
#include "concurrent/futures/errors.hpp"
#include "concurrent/futures/future_state.hpp"

namespace concurrent::futures::detail {

using Clock = std::chrono::steady_clock;

// The deadline `timeout` from now, saturating instead of overflowing; a timeout of
// zero or less is "now" (do not block).
template <class Rep, class Period>
Clock::time_point deadline_after(std::chrono::duration<Rep, Period> timeout) {
  const auto now = Clock::now();
  if (timeout <= timeout.zero()) return now;
  using Seconds = std::chrono::duration<double>;
  const auto room = Seconds(Clock::time_point::max() - now);
  if (std::chrono::duration_cast<Seconds>(timeout) >= room) return Clock::time_point::max();
  return now + std::chrono::ceil<Clock::duration>(timeout);
}

// A thread blocked on futures (src/waiter.hpp): result(), wait() and as_completed()
// link one WaitLink per future they wait on; completion notifies through it.
struct WaitLink;

// FutureCoreBase::pool_tag() values that name no thread pool. Unknown (a Promise's, a
// coroutine's, a when_all's future): any thread might complete it, a queued call of the
// waiting worker's own pool among them, so waiting for it helps (a plain wait could
// deadlock). Out of process (a process pool's or an MPI pool's call): only that pool's
// own thread completes it, which no thread pool's call can bring nearer, so waiting for
// it is a plain wait.
inline constexpr std::uint32_t kUnknownCompleter = 0;
inline constexpr std::uint32_t kOutOfProcessCompleter = 0xFFFF'FFFF;

class FutureCoreBase {
 public:
  FutureCoreBase() = default;
  FutureCoreBase(const FutureCoreBase&) = delete;
  FutureCoreBase& operator=(const FutureCoreBase&) = delete;

  FutureState state() const noexcept { return state_.load(std::memory_order_acquire); }
  bool done() const noexcept {
    const FutureState s = state();
    return s == FutureState::cancelled || s == FutureState::finished;
  }
  // Finished with an exception (not cancelled). Meaningful once done().
  bool failed() const noexcept { return state() == FutureState::finished && exception_; }

  // PENDING → CANCELLED, then wakes waiters and runs callbacks in this thread.
  // True if the future is now cancelled (also if it already was).
  bool cancel();

  // PENDING → RUNNING (true); CANCELLED stays (false). Throws InvalidStateError if the
  // future is already running or finished.
  bool set_running_or_notify_cancel();

  // Completes with `error`; throws InvalidStateError if already cancelled or finished,
  // std::invalid_argument (changing nothing) if `error` is null.
  void set_exception(std::exception_ptr error);
  // Same, but returns false instead of throwing. Precondition: `error` is not null.
  bool try_set_exception(std::exception_ptr error) noexcept;

  // Blocks until done or until `deadline`; true if done.
  bool wait_until(Clock::time_point deadline) const;
  void wait() const { (void)wait_until(Clock::time_point::max()); }

  // Throws CancelledError if cancelled, TimeoutError if not done by `deadline`;
  // returns the stored exception (null on success).
  std::exception_ptr exception_until(Clock::time_point deadline) const;

  // Links `link` unless the future is already done; returns whether it linked.
  bool link(WaitLink& link) const;
  // Unlinks `link` if it is still linked (completion unlinks everything itself).
  void unlink(WaitLink& link) const;

  // Runs `callback` now, in this thread, if the future is done; otherwise stores it to
  // run once in the thread that completes or cancels the future.
  void add_callback(UniqueFunction callback);
  // Stores `callback` as add_callback() does and returns true, unless the future is
  // already done: then returns false and leaves `callback` to the caller. The check and
  // the store are one step under the lock (what a coroutine's awaiter needs).
  bool add_callback_unless_done(UniqueFunction& callback);
  // Whether done-callbacks are waiting to run (a snapshot; any thread).
  bool has_callbacks() const;

  // Asks the call behind this future to stop through its std::stop_token. True if the
  // call takes a token, the future is not done, and this was the first request.
  bool request_stop() noexcept { return !done() && stop_.request_stop(); }
  // Whether the call behind this future takes a std::stop_token.
  bool takes_stop_token() const noexcept { return stop_.stop_possible(); }
  // Fails the future with `error` (what a call's timeout does), then asks the call to
  // stop through its token, if it takes one. False, changing nothing, if it was done.
  bool fail_and_request_stop(std::exception_ptr error) noexcept {
    if (!try_set_exception(std::move(error))) return false;
    (void)stop_.request_stop();
    return true;
  }

  // The thread pool whose call completes this future, so that a worker waiting on it
  // knows whether running its own pool's queued calls can help (src/thread_pool.cpp,
  // "Helping"): a thread pool's tag, kUnknownCompleter or kOutOfProcessCompleter. Set
  // before the future is shared; then(fn) passes it on, its continuation finishing in the
  // same thread.
  std::uint32_t pool_tag() const noexcept { return pool_tag_; }
  void set_pool_tag(std::uint32_t tag) noexcept { pool_tag_ = tag; }
  // For a thread pool's call: how many of its pool's calls it is nested in, 0 for a call
  // submitted from outside them, one more than the submitting call's for a call
  // submitted from inside one (saturating). A worker that waits only on calls nested
  // deeper than its own runs only such calls meanwhile, which keeps helping free of
  // deadlock (src/thread_pool.cpp, "Helping"). Set before the future is shared.
  std::uint16_t call_depth() const noexcept { return call_depth_; }
  void set_call_depth(std::uint16_t depth) noexcept { call_depth_ = depth; }

  // Throws the InvalidStateError for completing a future that is already done.
  [[noreturn]] void throw_already_done(const char* operation) const;

  // Like Python's repr(): "<Future at 0x... state=finished returned int>". `value_type`
  // names what a success returned; null leaves it out (AnyFuture).
  std::string repr(const std::type_info* value_type) const;

 protected:
  ~FutureCoreBase() = default;

  // Completes the future: under the lock, checks that it is neither cancelled nor
  // finished, calls `store()` to write the value, then finishes. Returns false
  // (storing nothing) if it was already done.
  template <class Store>
  bool try_complete(Store&& store, bool failed) {
    std::vector<UniqueFunction> callbacks;
    {
      MutexLock lock(mutex_);
      if (is_done_locked()) return false;
      store();
      callbacks = finish_locked(FutureState::finished, failed);
    }
    run_callbacks(callbacks);
    return true;
  }

  std::exception_ptr exception_;  // written once, under the lock, before FINISHED
  // Engaged by an executor whose call takes a std::stop_token (the thread pool), before
  // the future is shared; otherwise it holds no state and allocates nothing.
  std::stop_source stop_{std::nostopstate};

 private:
  bool is_done_locked() const CONCURRENT_FUTURES_REQUIRES(mutex_) {
    const FutureState s = state_.load(std::memory_order_relaxed);
    return s == FutureState::cancelled || s == FutureState::finished;
  }
  // Stores `final_state`, notifies and unlinks every waiter; returns the callbacks.
  std::vector<UniqueFunction> finish_locked(FutureState final_state, bool failed)
      CONCURRENT_FUTURES_REQUIRES(mutex_);
  static void run_callbacks(std::vector<UniqueFunction>& callbacks) noexcept;

  mutable Mutex mutex_;
  std::atomic<FutureState> state_{FutureState::pending};
  // Both beside the one-byte state, in what would be padding: no bigger a future.
  std::uint16_t call_depth_ = 0;
  std::uint32_t pool_tag_ = kUnknownCompleter;
  mutable WaitLink* waiters_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = nullptr;
  std::vector<UniqueFunction> callbacks_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
};

// Not final: an executor may keep its call in the same allocation as the state.
template <class T>
class Core : public FutureCoreBase {
 public:
  template <class... Args>
  bool try_set_value(Args&&... args) {
    return try_complete([&] { value_.emplace(std::forward<Args>(args)...); }, false);
  }
  // Precondition: finished without an exception.
  const T& value() const { return *value_; }

 private:
  std::optional<T> value_;
};

template <>
class Core<void> : public FutureCoreBase {
 public:
  bool try_set_value() {
    return try_complete([] {}, false);
  }
};

}  // namespace concurrent::futures::detail
