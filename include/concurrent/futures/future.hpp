// Future, AnyFuture and Promise: a result that will be ready later, in the manner of
// Python's concurrent.futures.Future.
//
// A Promise<T> is the writing side: an executor (or any code) moves it to RUNNING,
// then sets a value or an exception exactly once. A Future<T> is a copyable handle that
// reads it: poll it (done(), running(), cancelled()), block on it (result(), exception(),
// with or without a timeout), cancel it while it is still pending, or attach callbacks
// that run once it is done. AnyFuture is the same handle with the value type erased, so
// futures of different types can be waited on together.
//
//   cf::Promise<int> promise;
//   cf::Future<int> future = promise.get_future();
//   future.add_done_callback([](const cf::Future<int>& f) { ... });
//   promise.set_result(42);      // runs the callback in this thread
//   future.result();             // 42
//
// The state machine is drawn in future_state.hpp.
//
// Lifetime: all handles share one state, freed with the last Future, AnyFuture or
// Promise. Destroying the Promise of an unfinished future finishes it with
// BrokenPromise, so no reader waits forever. A done-callback holds a Future until it
// has run.
//
// Memory ordering: everything the writer did before set_result()/set_exception() is
// visible to a thread once result(), exception() or done() has observed the
// completion, and to every done-callback.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include "concurrent/futures/detail/future_core.hpp"
#include "concurrent/futures/errors.hpp"

namespace concurrent::futures {

template <class T>
class Future;
template <class T>
class Promise;
class AnyFuture;

namespace detail {

struct CoreAccess;

// What Future<T> and AnyFuture share: every member that does not need the value type.
// All members are thread-safe. Using any member but valid() on an empty handle (default
// constructed or moved from) throws InvalidStateError.
class FutureHandle {
 public:
  // Cancels the future if it has not started running.
  //
  // Preconditions: none (an empty handle throws, see below).
  // Postconditions: returns true iff the future is cancelled (it was pending, or was
  //   already cancelled); then every waiter has been woken and every done-callback has
  //   run, in this thread, before cancel() returns. Returns false, changing nothing, if
  //   it is running or finished.
  // Throws: InvalidStateError on an empty handle; nothing else (a throwing callback is
  //   reported through the error handler).
  // Thread safety: any thread, concurrently with every other member and with the
  //   Promise's completion; exactly one of a racing cancel() and completion wins.
  bool cancel() const { return core().cancel(); }
  bool cancelled() const { return state() == FutureState::cancelled; }
  // Asks the call to stop through its std::stop_token (a ThreadPoolExecutor call whose
  // first parameter is one). True if the call takes a token, the future is not done,
  // and this was the first request; false otherwise (a call without a token, a future
  // of a Promise or of a process pool, a finished future). A pending call asked to stop
  // still runs, with its token already stopped; cancel() is what keeps it from running.
  // Thread safety: any thread.
  bool request_stop() const { return core().request_stop(); }
  bool running() const { return state() == FutureState::running; }
  // Cancelled or finished.
  bool done() const { return core().done(); }
  FutureState state() const { return core().state(); }
  bool valid() const noexcept { return core_ != nullptr; }

  // The exception the work finished with, or null if it succeeded. Blocks until done.
  // Throws CancelledError if cancelled.
  std::exception_ptr exception() const { return core().exception_until(Clock::time_point::max()); }
  // Same, but throws TimeoutError if not done within `timeout` (zero or less: now).
  template <class Rep, class Period>
  std::exception_ptr exception(std::chrono::duration<Rep, Period> timeout) const {
    return core().exception_until(deadline_after(timeout));
  }

 protected:
  FutureHandle() = default;
  explicit FutureHandle(std::shared_ptr<FutureCoreBase> core) : core_(std::move(core)) {}

  FutureCoreBase& core() const {
    if (!core_) throw_empty();
    return *core_;
  }
  [[noreturn]] static void throw_empty();

  std::shared_ptr<FutureCoreBase> core_;

  friend struct CoreAccess;
};

// For wait(), as_completed() and executors: the state behind a handle.
struct CoreAccess {
  static const std::shared_ptr<FutureCoreBase>& core(const FutureHandle& handle) {
    return handle.core_;
  }
};

// For executors that create the shared state themselves (without a Promise).
template <class T>
Future<T> make_future(std::shared_ptr<Core<T>> core);

}  // namespace detail

// A type-erased handle to any Future<T>: every member of Future except result().
// Two AnyFutures compare equal when they refer to the same state.
class AnyFuture : public detail::FutureHandle {
 public:
  AnyFuture() = default;
  template <class T>
  AnyFuture(const Future<T>& future)  // NOLINT(google-explicit-constructor): by design
      : FutureHandle(detail::CoreAccess::core(future)) {}

  // `fn(AnyFuture)` runs once the future is done: now, in this thread, if it already is;
  // otherwise in the thread that finishes or cancels it. Callbacks run in the order
  // added; one that throws is reported through the error handler (errors.hpp).
  template <class F>
  void add_done_callback(F&& fn) const;

  friend bool operator==(const AnyFuture& a, const AnyFuture& b) noexcept {
    return a.core_ == b.core_;
  }
};

// A handle to a result that will be ready later. Copies share one state.
template <class T>
class Future : public detail::FutureHandle {
  static_assert(std::is_void_v<T> || (std::is_object_v<T> && !std::is_array_v<T>),
                "Future<T>: T must be void or an object type (no references or arrays)");
  // Whether result() on a temporary can return a copy.
  static constexpr bool kCopyableResult = std::is_void_v<T> || std::is_copy_constructible_v<T>;

 public:
  Future() = default;

  // The value (nothing for Future<void>), blocking until the future is done.
  // Rethrows the exception the work finished with; CancelledError if cancelled.
  // On a handle that lives on, a `const T&` into the shared state, valid while any
  // handle to it does.
  decltype(auto) result() const& { return result_until(detail::Clock::time_point::max()); }
  // On a temporary (`pool.submit(f).result()`), a copy: the temporary may hold the last
  // reference to the state, so a reference would dangle at the end of the expression.
  // A T that cannot be copied is still returned as `const T&` (use it within the
  // expression, or keep the future).
  T result() && requires kCopyableResult { return result_until(detail::Clock::time_point::max()); }
  // Same, but throws TimeoutError if not done within `timeout` (zero or less: now).
  template <class Rep, class Period>
  decltype(auto) result(std::chrono::duration<Rep, Period> timeout) const& {
    return result_until(detail::deadline_after(timeout));
  }
  template <class Rep, class Period>
  requires kCopyableResult T result(std::chrono::duration<Rep, Period> timeout) && {
    return result_until(detail::deadline_after(timeout));
  }

  // `fn(Future<T>)` runs once the future is done: now, in this thread, if it already
  // is; otherwise in the thread that finishes or cancels it. Callbacks run in the order
  // added; one that throws is reported through the error handler (errors.hpp).
  template <class F>
  void add_done_callback(F&& fn) const;

  friend bool operator==(const Future& a, const Future& b) noexcept { return a.core_ == b.core_; }

 private:
  friend class Promise<T>;
  friend Future detail::make_future<T>(std::shared_ptr<detail::Core<T>> core);
  explicit Future(std::shared_ptr<detail::Core<T>> core) : FutureHandle(std::move(core)) {}

  const detail::Core<T>& typed_core() const { return static_cast<const detail::Core<T>&>(core()); }
  decltype(auto) result_until(detail::Clock::time_point deadline) const;
};

// The writing side of a Future. Movable, not copyable. Destroying a Promise whose
// future is not done finishes it with BrokenPromise.
template <class T>
class Promise {
 public:
  Promise() : core_(std::make_shared<detail::Core<T>>()) {}
  Promise(Promise&&) noexcept = default;
  Promise& operator=(Promise&& other) noexcept {
    if (this != &other) {
      abandon();
      core_ = std::move(other.core_);
    }
    return *this;
  }
  ~Promise() { abandon(); }

  // A handle to the future; may be called any number of times.
  Future<T> get_future() const { return Future<T>(checked_core_ptr()); }

  // For executors, before running the work: PENDING → RUNNING and true; false if the
  // future was cancelled (its waiters and callbacks already know). Throws
  // InvalidStateError if it is already running or finished.
  bool set_running_or_notify_cancel() { return checked_core().set_running_or_notify_cancel(); }

  // Finishes the future with a value built from `args` (none for Promise<void>).
  //
  // Preconditions: none (a moved-from Promise throws, see below).
  // Postconditions: the future is FINISHED with the value; every waiter has been woken
  //   and every done-callback has run, in this thread, before set_result() returns.
  //   Whatever this thread wrote before the call is visible to every reader.
  // Throws: InvalidStateError, changing nothing, if the future is already finished or
  //   cancelled (call set_running_or_notify_cancel() first to learn of a cancellation
  //   before doing the work), or the Promise is empty; whatever T's constructor throws,
  //   leaving the future as it was.
  // Thread safety: any one thread at a time per Promise (it is not shared); safe against
  //   concurrent cancel() and readers of the future.
  template <class... Args>
  void set_result(Args&&... args) {
    if (!checked_core().try_set_value(std::forward<Args>(args)...)) {
      throw_already_done("set_result()");
    }
  }

  // Finishes the future with `error`, which result() and exception() then report.
  //
  // Preconditions: none (a moved-from Promise throws, see below).
  // Postconditions: as set_result(), with the exception in place of a value.
  // Throws: std::invalid_argument, changing nothing, if `error` is null;
  //   InvalidStateError as set_result().
  // Thread safety: as set_result().
  void set_exception(std::exception_ptr error) { checked_core().set_exception(std::move(error)); }

 private:
  detail::Core<T>& checked_core() const { return *checked_core_ptr(); }
  const std::shared_ptr<detail::Core<T>>& checked_core_ptr() const;
  [[noreturn]] void throw_already_done(const char* operation) const;
  void abandon() noexcept {
    if (core_ && !core_->done()) {
      core_->try_set_exception(std::make_exception_ptr(BrokenPromise()));
    }
  }

  std::shared_ptr<detail::Core<T>> core_;
};

// ---------------------------------------------------------------------------------
// Implementation.

namespace detail {

[[noreturn]] void throw_empty_promise();

template <class Handle, class F>
UniqueFunction make_done_callback(Handle handle, F&& fn) {
  static_assert(std::is_invocable_v<std::decay_t<F>&, const Handle&>,
                "add_done_callback(fn): fn must be callable with the future");
  return [handle = std::move(handle), fn = std::forward<F>(fn)]() mutable { fn(handle); };
}

template <class T>
Future<T> make_future(std::shared_ptr<Core<T>> core) {
  return Future<T>(std::move(core));
}

}  // namespace detail

template <class F>
void AnyFuture::add_done_callback(F&& fn) const {
  core().add_callback(detail::make_done_callback(*this, std::forward<F>(fn)));
}

template <class T>
template <class F>
void Future<T>::add_done_callback(F&& fn) const {
  core().add_callback(detail::make_done_callback(*this, std::forward<F>(fn)));
}

template <class T>
decltype(auto) Future<T>::result_until(detail::Clock::time_point deadline) const {
  if (std::exception_ptr error = core().exception_until(deadline)) std::rethrow_exception(error);
  if constexpr (std::is_void_v<T>) {
    return;
  } else {
    return static_cast<const T&>(typed_core().value());
  }
}

template <class T>
const std::shared_ptr<detail::Core<T>>& Promise<T>::checked_core_ptr() const {
  if (!core_) detail::throw_empty_promise();
  return core_;
}

template <class T>
void Promise<T>::throw_already_done(const char* operation) const {
  core_->throw_already_done(operation);
}

}  // namespace concurrent::futures

// Hashes agree with ==: handles of one state hash alike, so a Future or an AnyFuture
// can key an unordered container (Python's `{executor.submit(...): url}`).
template <>
struct std::hash<concurrent::futures::AnyFuture> {
  std::size_t operator()(const concurrent::futures::AnyFuture& f) const noexcept {
    return std::hash<const void*>()(concurrent::futures::detail::CoreAccess::core(f).get());
  }
};
template <class T>
struct std::hash<concurrent::futures::Future<T>> {
  std::size_t operator()(const concurrent::futures::Future<T>& f) const noexcept {
    return std::hash<const void*>()(concurrent::futures::detail::CoreAccess::core(f).get());
  }
};
