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
//
// Composing: then(fn) below, when_all()/when_any() (wait.hpp) and `co_await`
// (coroutine.hpp) are done-callbacks underneath, with the same ordering. Like a
// callback, a continuation (and a coroutine after `co_await f`) runs in the thread that
// finished the future. For a process-pool future that is the pool's management thread,
// which feeds all its workers: long work there delays every call of that pool, so move
// it off with then(executor, fn) or `co_await resume_on(thread_pool)`.
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
  using value_type = T;

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

  // A new future for `fn(value)` (`fn()` for Future<void>), U the decayed result: fn
  // runs once this future finished successfully, in the thread that finished it (at
  // once, in this thread, if it already had). If this future fails, the new one fails
  // with the same exception and fn is not called; if it is cancelled, so is the new one.
  // An exception from fn fails the new future.
  //
  // Cancelling the new future, while fn has not started, means fn never runs, and
  // cancels this future too if it is still pending (as CPython cancels a call that has
  // not started, and leaves a running one alone); cancel() on it returns false once fn
  // runs. Other continuations of this future then see it cancelled.
  template <class F>
  auto then(F&& fn) const;
  // The same, but fn runs as a call on `executor` (a ThreadPoolExecutor, a
  // ProcessPoolExecutor for functions it accepts, or anything whose submit(fn, value)
  // returns a Future): executor.submit(fn, value). Cancelling the new future also
  // cancels that call if it has not started. The executor must outlive this future's
  // completion; if submit() throws, the new future fails with that exception.
  template <class Executor, class F>
  auto then(Executor& executor, F&& fn) const;

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

namespace detail {

// Whether `then` can call F with a Future<T>'s value; the one check behind its
// static_assert, so that nothing else is instantiated when it fails.
template <class T, class F>
constexpr bool then_callable() {
  if constexpr (std::is_void_v<T>) {
    return std::is_invocable_v<std::decay_t<F>&>;
  } else {
    return std::is_invocable_v<std::decay_t<F>&, const T&>;
  }
}

template <class T, class F>
auto then_result_type() {
  if constexpr (std::is_void_v<T>) {
    return std::type_identity<std::decay_t<std::invoke_result_t<std::decay_t<F>&>>>();
  } else {
    return std::type_identity<std::decay_t<std::invoke_result_t<std::decay_t<F>&, const T&>>>();
  }
}
template <class T, class F>
using ThenResult = typename decltype(then_result_type<T, F>())::type;

// Carries a cancelled or failed `source` over to `target`; true if it did (`target`
// then needs nothing more). Precondition: `source` is done.
bool carry_failure(FutureCoreBase& target, const FutureCoreBase& source) noexcept;

// Once `target` is cancelled, cancels `upstream` too if it is still alive and pending.
void cancel_with(FutureCoreBase& target, std::weak_ptr<FutureCoreBase> upstream);

// Runs `fn` on the value of `source` (finished successfully) and completes `target`
// with what it returns or throws; does nothing if `target` was cancelled meanwhile.
template <class U, class T, class F>
void run_continuation(Core<U>& target, const Future<T>& source, F& fn) noexcept {
  try {
    if (!target.set_running_or_notify_cancel()) return;
    if constexpr (std::is_void_v<U> && std::is_void_v<T>) {
      fn();
      target.try_set_value();
    } else if constexpr (std::is_void_v<U>) {
      fn(source.result());
      target.try_set_value();
    } else if constexpr (std::is_void_v<T>) {
      target.try_set_value(fn());
    } else {
      target.try_set_value(fn(source.result()));
    }
  } catch (...) {
    target.try_set_exception(std::current_exception());
  }
}

// Completes `target` with the outcome of `source` (done), copying its value.
template <class U>
void forward_outcome(Core<U>& target, const Future<U>& source) noexcept {
  if (carry_failure(target, *CoreAccess::core(source))) return;
  try {
    if constexpr (std::is_void_v<U>) {
      target.try_set_value();
    } else {
      target.try_set_value(source.result());
    }
  } catch (...) {  // U's copy constructor threw
    target.try_set_exception(std::current_exception());
  }
}

}  // namespace detail

template <class T>
template <class F>
auto Future<T>::then(F&& fn) const {
  constexpr bool callable = detail::then_callable<T, F>();
  static_assert(callable,
                "then(fn): fn must be callable with the future's value as `const T&` (with no "
                "arguments for Future<void>)");
  if constexpr (callable) {
    using U = detail::ThenResult<T, F>;
    auto target = std::make_shared<detail::Core<U>>();
    target->set_pool_tag(core().pool_tag());  // it finishes where this future does
    detail::cancel_with(*target, core_);
    add_done_callback([target, fn = std::forward<F>(fn)](const Future& source) mutable {
      if (detail::carry_failure(*target, source.core())) return;
      detail::run_continuation(*target, source, fn);
    });
    return detail::make_future<U>(std::move(target));
  } else {
    return Future<void>();
  }
}

template <class T>
template <class Executor, class F>
auto Future<T>::then(Executor& executor, F&& fn) const {
  constexpr bool callable = detail::then_callable<T, F>();
  static_assert(callable,
                "then(executor, fn): fn must be callable with the future's value as `const T&` "
                "(with no arguments for Future<void>)");
  if constexpr (callable) {
    const auto submit = [&executor](std::decay_t<F>& f, const Future& source) {
      if constexpr (std::is_void_v<T>) {
        return executor.submit(f);
      } else {
        return executor.submit(f, source.result());
      }
    };
    using Inner = std::invoke_result_t<decltype(submit), std::decay_t<F>&, const Future&>;
    using U = typename Inner::value_type;
    static_assert(std::is_void_v<U> || std::is_copy_constructible_v<U>,
                  "then(executor, fn): fn's result must be copyable (it is copied from the "
                  "executor's future into the new one)");
    auto target = std::make_shared<detail::Core<U>>();
    detail::cancel_with(*target, core_);
    add_done_callback([target, submit, fn = std::forward<F>(fn)](const Future& source) mutable {
      if (detail::carry_failure(*target, source.core())) return;
      if (target->done()) return;  // cancelled: do not submit
      try {
        Inner inner = submit(fn, source);
        detail::cancel_with(*target, detail::CoreAccess::core(inner));
        inner.add_done_callback(
            [target](const Inner& done) { detail::forward_outcome(*target, done); });
      } catch (...) {
        target->try_set_exception(std::current_exception());
      }
    });
    return detail::make_future<U>(std::move(target));
  } else {
    return Future<void>();
  }
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
