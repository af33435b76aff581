// C++20 coroutines over futures: `co_await future`, Future<T> as a coroutine's return
// type, and `co_await resume_on(pool)`.
//
//   cf::Future<std::size_t> fetch_all(cf::ThreadPoolExecutor& pool) {
//     co_await cf::resume_on(pool);                    // from here on, a worker thread
//     std::string page = co_await pool.submit(download, "https://example.com");
//     co_return page.size();                           // finishes the returned future
//   }
//
// `co_await f` suspends until f is done, then yields f.result() (by value), rethrows the
// exception it failed with, or throws CancelledError. A coroutine returning Future<T>
// runs in its caller until it first suspends; `co_return v` finishes its future, an
// exception escaping it fails the future. Its frame lives until it has run to the end;
// dropping the returned Future neither stops nor leaks it.
//
// Where a coroutine goes on: after `co_await f` it runs in the thread that finished f
// (the caller itself if f was already done). For a thread-pool future that is the
// worker that ran the call; for a process-pool future it is the pool's management
// thread, which also feeds every worker: work done there delays every call of that
// pool. `co_await resume_on(pool)` moves the coroutine onto one of a ThreadPoolExecutor's
// workers, the way off any thread it should not occupy.
//
// Because a coroutine may go on in another thread, what it learnt about its thread
// before a `co_await` may be stale after it. Mind that compilers may reuse such values
// across the suspension on their own: clang 14 reuses pthread_self() (glibc declares it
// const, and std::this_thread::get_id() calls it) and may reuse a thread_local's
// address. After a `co_await`, learn the thread through a system call the compiler
// cannot fold (gettid(), prctl(PR_GET_NAME)).
//
// The awaiter is a done-callback (future.hpp): it inherits its ordering and memory
// guarantees. It registers with the "already done" check under the future's lock, so a
// completion can neither be missed nor resume the coroutine twice; when the future
// completes during registration the coroutine goes on without a nested resume, so a
// loop over many futures does not grow the stack.
#pragma once

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "concurrent/futures/errors.hpp"
#include "concurrent/futures/future.hpp"
#include "concurrent/futures/thread_pool.hpp"

namespace concurrent::futures {
namespace detail {

// Stores `resume` as a done-callback of `core` unless it is done already: true if the
// coroutine is now suspended, false if it should go on at once.
bool suspend_until_done(FutureCoreBase& core, std::coroutine_handle<> coroutine);

template <class T>
class FutureAwaiter {
 public:
  explicit FutureAwaiter(Future<T> future) : future_(std::move(future)) {}

  bool await_ready() const { return future_.done(); }
  bool await_suspend(std::coroutine_handle<> coroutine) {
    return suspend_until_done(*CoreAccess::core(future_), coroutine);
  }
  decltype(auto) await_resume() { return std::move(future_).result(); }

 private:
  Future<T> future_;
};

template <class T>
class FinalAwaiter;

// What a coroutine returning Future<T> finished with, kept in its frame until the
// frame is gone (the future completes after it, see FinalAwaiter).
template <class T>
class CoroutinePromiseBase {
 public:
  Future<T> get_return_object() { return make_future<T>(core_); }
  std::suspend_never initial_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { error_ = std::current_exception(); }

 protected:
  template <class U>
  friend class FinalAwaiter;

  std::shared_ptr<Core<T>> core_ = std::make_shared<Core<T>>();
  std::exception_ptr error_;
  std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> value_;  // co_return's
};

// Completes the future, then frees the frame. The coroutine's locals are gone by then
// (a lock it held is released before an awaiting coroutine goes on); its parameters
// go with the frame, and the frame is never resumed again.
template <class T>
class FinalAwaiter {
 public:
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  void await_suspend(std::coroutine_handle<Promise> coroutine) const noexcept {
    CoroutinePromiseBase<T>& promise = coroutine.promise();
    const std::shared_ptr<Core<T>> core = std::move(promise.core_);
    try {
      if (promise.error_) {
        core->try_set_exception(std::move(promise.error_));
      } else if constexpr (std::is_void_v<T>) {
        core->try_set_value();
      } else {
        core->try_set_value(std::move(*promise.value_));
      }
    } catch (...) {  // T's move constructor threw
      core->try_set_exception(std::current_exception());
    }
    coroutine.destroy();
  }
  void await_resume() const noexcept {}
};

template <class T>
class CoroutinePromise : public CoroutinePromiseBase<T> {
 public:
  FinalAwaiter<T> final_suspend() const noexcept { return {}; }
  template <class U = T>
  void return_value(U&& value) {
    this->value_.emplace(std::forward<U>(value));
  }
};

template <>
class CoroutinePromise<void> : public CoroutinePromiseBase<void> {
 public:
  FinalAwaiter<void> final_suspend() const noexcept { return {}; }
  void return_void() { value_.emplace(true); }
};

class ResumeOnAwaiter {
 public:
  explicit ResumeOnAwaiter(ThreadPoolExecutor& pool) : pool_(&pool) {}

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> coroutine);
  // Throws CancelledError if the pool cancelled the hop (shutdown with cancel_futures).
  void await_resume() const;

 private:
  ThreadPoolExecutor* pool_;
  bool cancelled_ = false;  // written only when the hop was cancelled and never ran
};

}  // namespace detail

// `co_await future`: see the top of this file.
template <class T>
detail::FutureAwaiter<T> operator co_await(const Future<T>& future) {
  return detail::FutureAwaiter<T>(future);
}

// `co_await resume_on(pool)`: goes on as a call on one of `pool`'s workers. Throws (in
// the coroutine) what pool.submit() throws after shutdown, and CancelledError if the
// pool cancels the call before it ran.
inline detail::ResumeOnAwaiter resume_on(ThreadPoolExecutor& pool) {
  return detail::ResumeOnAwaiter(pool);
}

}  // namespace concurrent::futures

template <class T, class... Args>
struct std::coroutine_traits<concurrent::futures::Future<T>, Args...> {
  using promise_type = concurrent::futures::detail::CoroutinePromise<T>;
};
