// ThreadPoolExecutor: runs calls on a pool of threads, in the manner of Python's
// concurrent.futures.ThreadPoolExecutor.
//
//   cf::ThreadPoolExecutor pool(4);
//   cf::Future<int> f = pool.submit([](int x) { return x * x; }, 7);
//   f.result();                                         // 49
//   for (int y : pool.map([](int x) { return x + 1; }, std::vector{1, 2, 3})) ...
//
// Workers start on demand, one per submit while none is idle, up to max_workers; an
// idle worker is reused before a new one starts. All workers take calls from one FIFO
// queue. shutdown() puts one stop marker per worker at the end of the queue, so the
// calls already queued run first (unless cancel_futures cancels them).
//
// Waiting inside a worker: result(), exception(), wait() and as_completed() called in one
// of this pool's calls, while they wait for a future one of this pool's calls may
// finish, run the pool's queued calls (the most recently queued first), nested on the
// worker's stack, and return as soon as what they wait for is done, so nested submits
// never deadlock the pool: a 1-worker pool whose call submits another and waits for it
// completes. The rules:
//   - Only this pool's calls are run that way, and only while at least one of the
//     awaited futures is one of its calls (or a then(fn) continuation of one) or a future
//     whose completer is unknown (a Promise's, a coroutine's, a when_all's: one of the
//     queued calls may complete it). Waiting only for futures of another thread pool or
//     of a process pool blocks plainly: running this pool's calls would not bring them
//     nearer, only delay noticing them.
//   - At most 1024 calls nest on one worker's stack (each level holds the frames of one
//     call and one wait, about a kilobyte); past that depth a wait blocks plainly, which
//     deadlocks the pool if every worker is there waiting on the others. Workers that
//     wait on each other's calls nest deeper than the recursion: recursive fib(16) with
//     nested submits on 2 workers reaches a few hundred levels.
//   - A helping worker counts as busy: it does not take a submit's place as an idle one.
//
// Lifetime: the destructor calls shutdown(true). Calls may submit more work or shut the
// pool down from inside a task or a done-callback; shutdown(true) from one of the pool's
// own workers does not wait for the workers (it would wait for itself), the destructor
// does.
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "concurrent/futures/call_options.hpp"
#include "concurrent/futures/detail/map_range.hpp"
#include "concurrent/futures/detail/max_workers.hpp"
#include "concurrent/futures/detail/thread_pool_work.hpp"
#include "concurrent/futures/future.hpp"
#include "concurrent/futures/map_options.hpp"
#include "concurrent/futures/timeline.hpp"

namespace concurrent::futures {

// Every member has a default initializer, so that designated initializers naming
// only some members do not trip g++'s -Wmissing-field-initializers.
struct ThreadPoolOptions {
  // Default: min(32, usable cpus + 4), as Python's. 0 throws std::invalid_argument.
  std::optional<std::size_t> max_workers = {};
  // Workers are named "<prefix>_<n>" (the OS shows the first 15 characters); default
  // prefix "ThreadPool-<k>", k counting pools.
  std::string thread_name_prefix = {};
  // Runs once in each worker before its first call. If it throws, the pool is broken:
  // queued and later calls fail with BrokenThreadPool.
  std::function<void()> initializer = {};
  // Records every call's submit, start and end times and its worker (timeline.hpp).
  std::shared_ptr<Timeline> timeline = {};
};

class ThreadPoolExecutor {
 public:
  explicit ThreadPoolExecutor(ThreadPoolOptions options = {});
  // `max_workers` must be greater than 0 (std::invalid_argument otherwise).
  template <std::integral I>
  explicit ThreadPoolExecutor(I max_workers)
      : ThreadPoolExecutor(
            ThreadPoolOptions{.max_workers = detail::checked_max_workers(max_workers)}) {}
  ~ThreadPoolExecutor();

  ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;

  // Schedules fn(args...) and returns its future. An `fn` that cannot be called with
  // `args` alone but can with a std::stop_token in front of them is called as
  // fn(token, args...): Future::request_stop(), and shutdown() with cancel_futures, ask it
  // to stop through that token. Only such calls carry stop state; others allocate none.
  //
  // Preconditions: fn(args...) or fn(token, args...) is callable with the decay-copied
  // arguments as rvalues (a static_assert says so otherwise).
  // Postconditions: the call is queued behind every call submitted before it, and a
  // worker will run it unless its future is cancelled first; `fn` and `args` are
  // decay-copied into the call and released once it has run.
  // Throws: std::runtime_error ("cannot schedule new futures after shutdown") after
  // shutdown(); BrokenThreadPool once an initializer failed; std::bad_alloc, or what
  // copying `fn` or `args` throws. Nothing is queued when it throws.
  // Threads: any, a worker of this pool and a done-callback included.
  template <class Fn, class... Args>
  requires(!std::is_same_v<std::decay_t<Fn>, CallOptions>) auto submit(Fn&& fn, Args&&... args);

  // The same, with per-call options:
  //
  //   pool.submit({.timeout = 2s}, [](std::stop_token st, int n) {...}, 5);
  //
  // `timeout`, counted from the moment the call starts running (not from submit): when
  // it passes, the future fails with TimeoutError (its what() names the timeout) and the
  // call's std::stop_token, if it takes one, is asked to stop. The call itself is not
  // interrupted: one that ignores its token keeps its worker busy until it returns, and
  // what it returns then is dropped. The future's done-callbacks, and the token's
  // std::stop_callbacks, then run in the pool's timer thread: one thread per pool,
  // started with its first timed call and joined by shutdown(wait = true) or the
  // destructor. A call without a timeout costs what submit(fn, args...) costs.
  //
  // Throws: as submit(fn, args...); also std::invalid_argument for a timeout that is
  // not greater than zero, std::system_error if the timer thread cannot start.
  template <class Fn, class... Args>
  auto submit(const CallOptions& options, Fn&& fn, Args&&... args);

  // fn applied to the zipped elements of `iterables`, as an input range of results in
  // input order (MapOptions and detail/map_range.hpp say how it iterates). An `fn` whose
  // first parameter is a std::stop_token gets one, shared by the elements of a chunk.
  template <class Fn, class... Iterables>
  requires(!std::is_same_v<std::decay_t<Fn>, MapOptions>) auto map(Fn&& fn,
                                                                   Iterables&&... iterables) {
    return map(MapOptions{}, std::forward<Fn>(fn), std::forward<Iterables>(iterables)...);
  }
  template <class Fn, class... Iterables>
  auto map(const MapOptions& options, Fn&& fn, Iterables&&... iterables);

  // Stops accepting work.
  //
  // Postconditions: submit() throws. With `cancel_futures`, every call that had not
  // started is cancelled (its future's done-callbacks have run), and every running call
  // that takes a std::stop_token has been asked to stop. With `wait`, every
  // queued call has run or was cancelled and the workers have exited, unless this
  // thread is one of the pool's workers: then it returns at once, and the destructor
  // joins the workers.
  // Throws: nothing but std::system_error from joining a thread.
  // Threads: any; idempotent, and concurrent calls all wait (with `wait`).
  void shutdown(bool wait = true, bool cancel_futures = false);

  std::size_t max_workers() const;

 private:
  std::shared_ptr<detail::ThreadPoolCore> core_;
};

// ---------------------------------------------------------------------------------
// Implementation.

namespace detail {

// Whether `fn` takes a std::stop_token that the worker supplies: it cannot be called with
// `args` alone, but can with a token in front of them.
template <class Fn, class... Args>
inline constexpr bool takes_stop_token_v =
    !std::is_invocable_v<std::decay_t<Fn>, std::decay_t<Args>...> &&
    std::is_invocable_v<std::decay_t<Fn>, std::stop_token, std::decay_t<Args>...>;

template <bool TakesToken, class F, class... A>
struct InvokeResult {
  using type = std::invoke_result_t<F, A...>;
};
template <class F, class... A>
struct InvokeResult<true, F, A...> {
  using type = std::invoke_result_t<F, std::stop_token, A...>;
};

template <class Fn, class... Args>
using CallResult =
    std::decay_t<typename InvokeResult<takes_stop_token_v<Fn, Args...>, std::decay_t<Fn>,
                                       std::decay_t<Args>...>::type>;

// Whether fn(args...) (or fn(token, args...)) can be called the way a worker calls it; a
// static_assert saying why not otherwise, so that the caller can stop there instead of
// piling up follow-on errors.
template <class Fn, class... Args>
constexpr bool check_thread_call() {
  constexpr bool ok = std::is_invocable_v<std::decay_t<Fn>, std::decay_t<Args>...> ||
                      takes_stop_token_v<Fn, Args...>;
  static_assert(ok,
                "submit(fn, args...) / map(fn, inputs...): fn cannot be called with these "
                "arguments (they are decay-copied and passed as rvalues), nor with a "
                "std::stop_token in front of them");
  return ok;
}

// fn(args...), or fn(token, args...) for a call that takes a token, the arguments moved
// out of `args`.
template <bool TakesToken, class F, class Tuple>
decltype(auto) invoke_call(F&& fn, const std::stop_source& stop, Tuple&& args) {
  if constexpr (TakesToken) {
    return std::apply(
        [&](auto&&... a) -> decltype(auto) {
          return std::invoke(std::forward<F>(fn), stop.get_token(),
                             std::forward<decltype(a)>(a)...);
        },
        std::forward<Tuple>(args));
  } else {
    return std::apply(std::forward<F>(fn), std::forward<Tuple>(args));
  }
}

// One submitted call and its future's state in one allocation: the queue and the
// futures share it.
template <class R, class Fn, class... Args>
class Task final : public Core<R>, public WorkItem {
 public:
  template <class F, class... A>
  explicit Task(F&& fn, A&&... args) : fn_(std::forward<F>(fn)), args_(std::forward<A>(args)...) {
    if constexpr (kTakesToken) this->stop_ = std::stop_source();  // only these allocate one
  }

  void run(WorkerHooks& hooks) noexcept override {
    if (!this->set_running_or_notify_cancel()) return;
    hooks.call_started();
    // The outcome is held until the worker has been told, so that it counts itself idle
    // before a reader blocked in result() wakes up and submits again.
    std::exception_ptr error;
    std::optional<std::conditional_t<std::is_void_v<R>, char, R>> value;
    try {
      if constexpr (std::is_void_v<R>) {
        invoke_call<kTakesToken>(std::move(fn_), this->stop_, std::move(args_));
      } else {
        value.emplace(invoke_call<kTakesToken>(std::move(fn_), this->stop_, std::move(args_)));
      }
    } catch (...) {
      error = std::current_exception();
    }
    hooks.call_returned(*this);
    if (error) {
      this->try_set_exception(std::move(error));
      return;
    }
    try {
      if constexpr (std::is_void_v<R>) {
        this->try_set_value();
      } else {
        this->try_set_value(std::move(*value));
      }
    } catch (...) {  // R's move constructor threw
      this->try_set_exception(std::current_exception());
    }
  }

  FutureCoreBase& future() noexcept override { return *this; }

 private:
  static constexpr bool kTakesToken = takes_stop_token_v<Fn, Args...>;

  Fn fn_;
  std::tuple<Args...> args_;
};

// A new call, and its future. Precondition: check_thread_call<Fn, Args...>().
template <class Fn, class... Args>
auto make_task(Fn&& fn, Args&&... args) {
  using R = CallResult<Fn, Args...>;
  auto task = std::make_shared<Task<R, std::decay_t<Fn>, std::decay_t<Args>...>>(
      std::forward<Fn>(fn), std::forward<Args>(args)...);
  Future<R> future = make_future<R>(task);
  return std::pair<std::shared_ptr<WorkItem>, Future<R>>(std::move(task), std::move(future));
}

// A map() chunk: `fn` applied to several elements as one queue entry, each element's
// value or exception kept in its place (ChunkResults).
template <class R, class Fn, class... Args>
class ChunkTask final : public Core<ChunkResults<R>>, public WorkItem {
 public:
  ChunkTask(const Fn& fn, std::size_t capacity) : fn_(fn) {
    args_.reserve(capacity);
    if constexpr (kTakesToken) this->stop_ = std::stop_source();  // one token per chunk
  }

  template <class... A>
  void add(A&&... args) {
    args_.emplace_back(std::forward<A>(args)...);
  }
  std::size_t size() const noexcept { return args_.size(); }

  void run(WorkerHooks& hooks) noexcept override {
    if (!this->set_running_or_notify_cancel()) return;
    hooks.call_started();
    std::exception_ptr error;  // only if the results themselves could not be stored
    ChunkResults<R> results;
    try {
      results.reserve(args_.size());
      for (auto& args : args_) {
        try {
          results.add_value(call(args));
        } catch (...) {
          results.add_error(std::current_exception());
        }
      }
    } catch (...) {
      error = std::current_exception();
    }
    args_.clear();  // drop the arguments before the reader hears of the results
    hooks.call_returned(*this);
    if (error) {
      this->try_set_exception(std::move(error));
      return;
    }
    this->try_set_value(std::move(results));
  }

  FutureCoreBase& future() noexcept override { return *this; }

 private:
  static constexpr bool kTakesToken = takes_stop_token_v<Fn, Args...>;

  // Called once per element: as an lvalue when it can be, else on a copy (a callable
  // that can only be called as an rvalue).
  R call(std::tuple<Args...>& args) {
    constexpr bool as_lvalue = kTakesToken ? std::is_invocable_v<Fn&, std::stop_token, Args...>
                                           : std::is_invocable_v<Fn&, Args...>;
    if constexpr (as_lvalue) {
      return invoke_call<kTakesToken>(fn_, this->stop_, std::move(args));
    } else {
      return invoke_call<kTakesToken>(Fn(fn_), this->stop_, std::move(args));
    }
  }

  Fn fn_;
  std::vector<std::tuple<Args...>> args_;
};

// map()'s Source for the thread pool: one queue entry per element, or with a chunksize
// above 1, one per chunk. Holds the pool weakly, as Python's map iterator does: once the
// executor is gone, nothing more is submitted.
template <class R, class Fn, class... Iterables>
class ThreadPoolMapSource {
 public:
  ThreadPoolMapSource(std::weak_ptr<ThreadPoolCore> pool, Fn fn, std::size_t chunksize,
                      Iterables&&... iterables)
      : pool_(std::move(pool)),
        fn_(std::move(fn)),
        chunksize_(chunksize),
        zip_(std::forward<Iterables>(iterables)...) {}

  bool submit_next(MapBatches<R>& out) {
    std::shared_ptr<ThreadPoolCore> pool = pool_.lock();
    if (!pool) return false;
    if (chunksize_ == 1) {
      return zip_.next([&](auto&... args) {
        auto [task, future] = make_task(fn_, args...);
        out.push_back(std::move(future));
        thread_pool_submit(*pool, std::move(task));
      });
    }
    using Chunk = ChunkTask<R, Fn, std::decay_t<ElementOf<Iterables>>...>;
    auto chunk = std::make_shared<Chunk>(fn_, chunksize_);
    bool more = true;
    while (chunk->size() < chunksize_ &&
           (more = zip_.next([&](auto&... args) { chunk->add(args...); }))) {
    }
    if (chunk->size() == 0) return false;
    out.emplace_back(make_future<ChunkResults<R>>(chunk), chunk->size());
    thread_pool_submit(*pool, std::move(chunk));
    return more;
  }

 private:
  std::weak_ptr<ThreadPoolCore> pool_;
  Fn fn_;
  std::size_t chunksize_;
  Zip<Iterables...> zip_;
};

}  // namespace detail

template <class Fn, class... Args>
requires(!std::is_same_v<std::decay_t<Fn>, CallOptions>) auto ThreadPoolExecutor::submit(
    Fn&& fn, Args&&... args) {
  return submit(CallOptions{}, std::forward<Fn>(fn), std::forward<Args>(args)...);
}

template <class Fn, class... Args>
auto ThreadPoolExecutor::submit(const CallOptions& options, Fn&& fn, Args&&... args) {
  if constexpr (detail::check_thread_call<Fn, Args...>()) {
    auto [task, future] = detail::make_task(std::forward<Fn>(fn), std::forward<Args>(args)...);
    detail::thread_pool_submit(*core_, std::move(task), options);
    return future;
  } else {
    return Future<int>();  // unreachable: the static_assert above has failed
  }
}

template <class Fn, class... Iterables>
auto ThreadPoolExecutor::map(const MapOptions& options, Fn&& fn, Iterables&&... iterables) {
  if constexpr (detail::check_thread_call<Fn, detail::ElementOf<Iterables>...>()) {
    using R = detail::CallResult<Fn, detail::ElementOf<Iterables>...>;
    using Source = detail::ThreadPoolMapSource<R, std::decay_t<Fn>, Iterables...>;
    detail::validate_map_options(options);
    return detail::MapRange<R, Source>(
        Source(core_, std::forward<Fn>(fn), static_cast<std::size_t>(options.chunksize),
               std::forward<Iterables>(iterables)...),
        options);
  } else {
    return 0;  // unreachable: the static_assert above has failed
  }
}

}  // namespace concurrent::futures
