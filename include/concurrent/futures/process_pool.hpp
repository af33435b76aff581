// ProcessPoolExecutor: runs calls in worker processes, in the manner of Python's
// concurrent.futures.ProcessPoolExecutor. A crash in a call (a segfault, abort(), a
// signal) takes down only its worker; the pool then reports BrokenProcessPool instead
// of taking the program with it.
//
//   int square(int x) { return x * x; }
//
//   cf::ProcessPoolExecutor pool(4);
//   cf::Future<int> f = pool.submit(square, 7);
//   f.result();                                                  // 49
//   for (int y : pool.map({.chunksize = 100}, square, inputs)) ...
//
// What crosses to a worker: free functions, static member functions, captureless
// lambdas, and function objects that are empty or cereal-serializable; arguments and
// results that cereal can serialize (standard types, and user types with a cereal
// `serialize` or `save`/`load`) and that are default constructible. Anything else fails
// to compile with a message saying what to do. A call runs in the worker as
// `fn(std::move(args)...)` on decoded copies of the arguments.
//
// Start methods: `fork` forks every worker from the pool's constructor, before the pool
// starts its own thread. `spawn` runs this executable again for each worker;
// `forkserver` (the default) runs it once as a fork server, which forks the workers. A
// re-executed worker enters worker mode before main() runs (no main() guard is needed)
// and checks that it runs the same executable as the pool (by build id); if not, it
// refuses and the pool reports BrokenProcessPool saying so.
//
// Fork safety: other threads may be inside the library while a `fork` pool starts
// (submitting to other pools, say): the pool builds the tables a worker looks up before
// it forks, and the library's process-wide locks are held across fork(), so no worker
// starts with one of them held.
//
// Output: standard output and error (stdio, and std::cout/cerr/clog) are flushed before
// every fork and before a worker exits, so nothing a worker printed is lost, or printed
// twice, when stdout is a pipe or a file (`./app | cat`).
//
// Linking: spawn and forkserver need concurrent_futures linked into the executable as a
// static library (the default). Built as a shared library (BUILD_SHARED_LIBS=ON), the
// library's initializers run before the executable's, so a re-executed worker would
// start before the executable's static initializers have registered the functions it
// may run; such a worker refuses, and the first call fails with BrokenProcessPool saying
// to link statically or use StartMethod::fork (which works either way).
//
// Dispatch: an idle worker always takes the next call; a busy worker is given more only
// while its calls are short (well under a millisecond), to save round trips. Long calls
// thus never queue behind one another while a worker is free, and calls not yet given to
// a worker stay cancellable.
//
// Exceptions: an exception thrown by a call reaches result() as the same type and
// message for the standard exception types and the library's own. A type derived from
// one of those comes back as its nearest such base, so the same catch works on both
// pools: `struct BadConfig : std::invalid_argument` is caught by
// `catch (const std::invalid_argument&)`, its what() kept, and original_type_name(e)
// (errors.hpp) says "BadConfig". std::system_error, std::filesystem::filesystem_error and
// std::ios_base::failure keep code() (and the paths); a code of a category other than
// the standard ones comes back in a category of the same name. A type derived from
// std::exception alone, or not from std::exception at all, comes back as RemoteError
// with the original type's name. To make your own type come back as itself, register it
// (register_exception<E>() below).
//
// Failures: an argument or result that fails to serialize fails
// that future only. So does one too large to cross: a message between the pool and a
// worker takes at most 2 GiB - 1 byte, so a call whose callable and arguments encode
// larger (for map(), a whole chunk's) fails with std::length_error without being sent,
// and a result that does not fit (alone, or with the rest of its map() chunk's) fails
// its element with std::length_error, saying how large it was; the rest goes on.
// A worker that dies (a signal, exit(), abort(), a crash while reading a call or writing
// a result) breaks the pool by default (OnWorkerDeath::break_pool, as in Python): every
// pending and running future finishes with BrokenProcessPool, and later submit() throws
// BrokenProcessPool. The call that was running on the dead worker is told apart from the
// bystanders: its message says the worker died while running this call and how (pid,
// signal or exit code), and it carries a WorkerDied as its nested exception; the others
// say the pool broke because of another call. Nothing hangs.
//
// Surviving crashes: with `.on_worker_death = OnWorkerDeath::replace`, a worker that
// dies fails exactly the call it was running, with WorkerDied (pid(), signal(),
// exit_code()); the calls it held that had not started run on another worker (no call
// ever runs twice), a new worker (same start method, initializer run) takes its place,
// and the pool goes on. A map() chunk is one call, answered as a whole: a crash fails
// every element of the chunk that was running. If new workers keep dying before they
// finish any call (a crashing initializer), the pool breaks with BrokenProcessPool saying
// so instead of starting workers forever; an initializer that throws breaks the pool at
// once, in either mode.
//
// Timeouts: submit(CallOptions{.timeout = 2s}, fn, args...) bounds one call, counted
// from when it starts running in its worker (not from submit, and not while it waits
// behind other calls). When it passes, the pool kills that worker (SIGKILL), the future
// fails with TimeoutError naming the timeout and the pid, the calls queued behind it run
// on another worker, and a new worker takes its place, in either OnWorkerDeath mode: the
// kill is the pool's own act, not a crash. If the call finishes just as it is killed, its
// result is kept.
//
// StartMethod::fork cannot start a worker once the pool's thread exists (gh-90622), so
// OnWorkerDeath::replace with fork throws std::invalid_argument from the constructor, and
// a CallOptions timeout on a fork pool throws it from submit(): use forkserver (the
// default) or spawn.
//
// Stopping: calls in a worker process get no std::stop_token, so request_stop() on a
// process-pool future does nothing and returns false (no stop message to the worker
// exists); cancel() still takes back a call that has not been given to a worker.
//
// Lifetime: the destructor calls shutdown(true). After it, no worker process is left
// (all are reaped) and no file descriptor of the pool stays open. Calls may be submitted
// from done-callbacks. They run on the pool's management thread, or, when a thread
// submits to an idle pool and then waits for that call, on that thread, which reads the
// result itself (one wake-up fewer). shutdown(true) from a done-callback on the
// management thread does not wait for that thread (it would wait for itself).
//
// Memory ordering: everything a call wrote in its worker process reaches the parent
// only through its result; the result is visible once result() returns, as for any
// Future.
//
// Thread safety: every member may be called from any thread.
//
// Linux only (pidfd_open, socketpairs, /proc/self/exe).
#pragma once

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "concurrent/futures/call_options.hpp"
#include "concurrent/futures/detail/exception_codec.hpp"
#include "concurrent/futures/detail/map_range.hpp"
#include "concurrent/futures/detail/max_workers.hpp"
#include "concurrent/futures/detail/process_call.hpp"
#include "concurrent/futures/detail/process_entry.hpp"
#include "concurrent/futures/detail/process_serialization.hpp"
#include "concurrent/futures/future.hpp"
#include "concurrent/futures/map_options.hpp"
#include "concurrent/futures/timeline.hpp"

namespace concurrent::futures {

enum class StartMethod { fork, spawn, forkserver };

// What a pool does when a worker dies unexpectedly (see "Failures" and "Surviving
// crashes" above): break, as Python's pool does, or replace the worker and fail only the
// call it was running.
enum class OnWorkerDeath { break_pool, replace };

// "fork", "spawn" or "forkserver", as Python names the start methods.
const char* to_string(StartMethod method) noexcept;

// A function each worker process runs once before its first call, with its arguments:
//   ProcessPoolOptions{.initializer = {load_model, std::string("model.bin")}}
// It accepts what submit() accepts and is checked the same way at compile time. If it
// throws, or the worker dies in it, the pool is broken: BrokenProcessPool (with
// OnWorkerDeath::replace, a death in it counts towards the crash loop that breaks it).
// It also runs in every worker started in place of one that died or retired.
class ProcessInitializer {
 public:
  ProcessInitializer() = default;
  template <class Fn, class... Args>
  requires(!std::is_same_v<std::decay_t<Fn>, ProcessInitializer>)
      ProcessInitializer(Fn&& fn, Args&&... args);  // NOLINT(google-explicit-constructor)

  explicit operator bool() const noexcept { return entry_key_ != nullptr; }

  // For the pool: the entry, the encoded callable and the encoded arguments.
  const char* entry_key() const noexcept { return entry_key_; }
  const std::string& fn_bytes() const noexcept { return fn_bytes_; }
  const std::string& args() const noexcept { return args_; }

 private:
  const char* entry_key_ = nullptr;
  std::string fn_bytes_;
  std::string args_;
};

// Every member has a default initializer, so that designated initializers naming only
// some members do not trip g++'s -Wmissing-field-initializers.
struct ProcessPoolOptions {
  // Default: the number of CPUs this process may use. 0 throws std::invalid_argument.
  std::optional<std::size_t> max_workers = {};
  StartMethod start_method = StartMethod::forkserver;
  // A worker exits after this many calls (a map() chunk counts as one) and a new one
  // takes its place. 0, or any value with StartMethod::fork, throws
  // std::invalid_argument.
  std::optional<std::size_t> max_tasks_per_child = {};
  ProcessInitializer initializer = {};
  // Records every call's submit time, its start and end times (measured in the
  // worker), and the worker ("pid N").
  std::shared_ptr<Timeline> timeline = {};
  // How long a new worker may take to report ready: to start, finish the program's
  // static initializers (spawn, forkserver) and read its configuration (the
  // initializer runs after). A worker that does not is killed and the pool breaks with
  // BrokenProcessPool saying so, instead of waiting forever for a process that is stuck
  // (for example, with StartMethod::fork, on a lock another thread held at the fork).
  std::chrono::milliseconds worker_start_timeout = std::chrono::seconds(60);
  // break_pool (Python's behaviour) or replace. replace with StartMethod::fork throws
  // std::invalid_argument.
  OnWorkerDeath on_worker_death = OnWorkerDeath::break_pool;
};

// Makes exceptions of type E thrown in a worker come back from result() as E itself,
// rather than as its nearest standard base. E derives from std::exception and is
// constructible from its what() message (a std::string). If E is also cereal-
// serializable (a serialize() member, or save()/load()), its state crosses too: the
// worker saves it and the parent loads it into E(what()); such an E may instead be
// default constructible only (its what() must then come from its state).
// Only E itself is matched, not types derived from it. Returns true, so that it can
// initialize a constant at namespace scope, which registers it in every process of the
// program, workers included, whatever the start method:
//
//   struct BadConfig : std::invalid_argument {
//     using std::invalid_argument::invalid_argument;
//   };
//   [[maybe_unused]] const bool registered = cf::register_exception<BadConfig>();
//
// (Registered at run time in the parent instead, E still comes back as E, from its
// message; only its state needs the worker to know E.) Thread-safe.
template <class E>
bool register_exception();

namespace detail {
class ProcessPoolCore;
}

class ProcessPoolExecutor {
 public:
  // Starts the workers (all of them, at once). Throws std::invalid_argument for bad
  // options, std::system_error if the processes or channels cannot be created.
  explicit ProcessPoolExecutor(ProcessPoolOptions options = {});
  // `max_workers` must be greater than 0 (std::invalid_argument otherwise).
  template <std::integral I>
  explicit ProcessPoolExecutor(I max_workers)
      : ProcessPoolExecutor(
            ProcessPoolOptions{.max_workers = detail::checked_max_workers(max_workers)}) {}
  ~ProcessPoolExecutor();

  ProcessPoolExecutor(const ProcessPoolExecutor&) = delete;
  ProcessPoolExecutor& operator=(const ProcessPoolExecutor&) = delete;

  // Schedules fn(args...) in a worker and returns its future. Throws std::runtime_error
  // after shutdown, BrokenProcessPool once the pool is broken. If an argument cannot
  // be serialized, the returned future holds the serializer's exception.
  template <class Fn, class... Args>
  requires(!std::is_same_v<std::decay_t<Fn>, CallOptions>) auto submit(Fn&& fn, Args&&... args);
  // The same, with per-call options: `.timeout` bounds the call's run in its worker (see
  // "Timeouts" above). A timeout of zero or less, or any timeout with StartMethod::fork,
  // throws std::invalid_argument.
  template <class Fn, class... Args>
  auto submit(const CallOptions& options, Fn&& fn, Args&&... args);

  // fn applied to the zipped elements of `iterables`, as an input range of results in
  // input order. `chunksize` elements travel to a worker in one message and their
  // results come back in one; each element keeps its own value or exception, so one
  // failing element does not hide the others. `buffersize` counts chunks, as in
  // Python. Destroying the range, or a timeout, cancels the chunks not yet sent to a
  // worker; a chunk is started, and cancelled, as a whole.
  template <class Fn, class... Iterables>
  requires(!std::is_same_v<std::decay_t<Fn>, MapOptions>) auto map(Fn&& fn,
                                                                   Iterables&&... iterables) {
    return map(MapOptions{}, std::forward<Fn>(fn), std::forward<Iterables>(iterables)...);
  }
  template <class Fn, class... Iterables>
  auto map(const MapOptions& options, Fn&& fn, Iterables&&... iterables);

  // Stops accepting work. With `wait`, returns once every submitted call has finished
  // (or was cancelled) and every worker has exited and been reaped. With
  // `cancel_futures`, cancels the calls that have not been sent to a worker yet.
  // Idempotent.
  void shutdown(bool wait = true, bool cancel_futures = false);

  // shutdown(false, true), then SIGTERM (terminate) or SIGKILL (kill) to every worker.
  // Calls that were running finish with BrokenProcessPool; later submit() throws
  // std::runtime_error (the pool is shut down).
  void terminate_workers();
  void kill_workers();

  std::size_t max_workers() const noexcept;
  // The pids of the worker processes alive now (for diagnostics and tests).
  std::vector<int> worker_pids() const;

 private:
  std::shared_ptr<detail::ProcessPoolCore> core_;
};

// ---------------------------------------------------------------------------------
// Implementation.

namespace detail {

// Throws std::runtime_error after shutdown, BrokenProcessPool once broken.
void process_pool_check_open(ProcessPoolCore& core);
// Queues `call` (its futures pending) for the management thread; same errors.
void process_pool_submit(ProcessPoolCore& core, ProcessCall call);

template <class Fn, class... Args>
constexpr bool check_process_call() {
  constexpr bool callable_ok = is_process_callable_v<Fn>;
  static_assert(callable_ok,
                "ProcessPoolExecutor: fn must be a free function, a static member function, "
                "a captureless lambda, or a function object that is empty or cereal-"
                "serializable; a lambda with captures cannot travel to another process: pass "
                "what it captures as arguments instead");
  constexpr bool args_ok = (is_process_value_v<Args> && ...);
  static_assert(args_ok,
                "ProcessPoolExecutor: every argument must be cereal-serializable (give your "
                "type a serialize() member, or save()/load()) and default constructible; "
                "pointers and references cannot travel to another process: pass values");
  constexpr bool invocable = std::is_invocable_v<Fn&, Args...>;
  static_assert(!callable_ok || !args_ok || invocable,
                "ProcessPoolExecutor: fn cannot be called with these arguments (the worker "
                "calls fn(std::move(args)...) on decoded copies)");
  return callable_ok && args_ok && invocable;
}

template <class Fn, class... Args>
constexpr bool check_process_result() {
  if constexpr (std::is_invocable_v<Fn&, Args...>) {
    using R = ProcessCallResult<Fn, Args...>;
    constexpr bool ok = std::is_void_v<R> || is_process_value_v<R>;
    static_assert(ok,
                  "ProcessPoolExecutor: the result type must be void or cereal-serializable "
                  "and default constructible; return a value, not a pointer or reference");
    return ok;
  } else {
    return false;
  }
}

template <class A>
decltype(auto) as_process_arg(A&& a) {
  if constexpr (std::is_same_v<ProcessArg<A>, std::decay_t<A>>) {
    return static_cast<const std::decay_t<A>&>(a);
  } else {
    return std::string(a);
  }
}

// Encodes one item's arguments onto call.args; on a serialization error, the call's
// arguments are left as they were and the error propagates.
template <class... Args>
void append_process_args(ProcessCall& call, ValueWriter& writer, Args&&... args) {
  const std::size_t before = call.args.size();
  try {
    writer.write(as_process_arg(std::forward<Args>(args))...);
  } catch (...) {
    call.args.resize(before);
    throw;
  }
  call.ends.push_back(call.args.size());
}

// map()'s Source for a pool of worker processes (`Core`: ProcessPoolCore, or
// MPIPoolCore): each batch is one chunk of up to `chunksize` elements, sent as one
// message and answered by one, behind one future (ChunkSink).
template <class Core, class R, class Fn, class... Iterables>
class ProcessMapSource {
 public:
  ProcessMapSource(std::weak_ptr<Core> pool, Fn fn, std::size_t chunksize, Iterables&&... iterables)
      : pool_(std::move(pool)),
        fn_(std::move(fn)),
        chunksize_(chunksize),
        zip_(std::forward<Iterables>(iterables)...) {}

  bool submit_next(MapBatches<R>& out) {
    std::shared_ptr<Core> pool = pool_.lock();
    if (!pool || exhausted_) return false;
    using Entry = ProcessEntry<false, Fn, ProcessArg<ElementOf<Iterables>>...>;
    (void)Entry::registered;
    ProcessCall call;
    call.entry_key = Entry::key();
    call.args.reserve(std::min<std::size_t>(chunksize_, 4096) * 8);
    call.ends.reserve(std::min<std::size_t>(chunksize_, 4096));
    {
      ValueWriter writer(&call.args);
      for (std::size_t taken = 0; taken < chunksize_; ++taken) {
        std::exception_ptr error;
        const bool more = zip_.next([&](auto&... args) {
          try {
            append_process_args(call, writer, args...);
          } catch (...) {
            error = std::current_exception();
          }
        });
        if (!more) {
          exhausted_ = true;
          break;
        }
        // An element whose arguments failed to serialize gets a failed future of its
        // own, in its place in the output.
        if (error) {
          flush(*pool, call, out);
          Promise<R> failed;
          failed.set_exception(error);
          out.push_back(failed.get_future());
          call.args.clear();
          call.ends.clear();
        }
      }
    }
    flush(*pool, call, out);
    return !exhausted_;
  }

 private:
  void flush(Core& pool, ProcessCall& call, MapBatches<R>& out) {
    if (call.size() == 0) return;
    ProcessCall message;
    message.entry_key = call.entry_key;
    save_callable(fn_, message.fn_bytes);
    message.args = std::move(call.args);
    message.ends = std::move(call.ends);
    call.args = std::string();
    call.ends = {};
    try {
      check_call_size(message);
    } catch (...) {  // the chunk fails as a whole, and the pool never sees it
      Promise<ChunkResults<R>> failed;
      failed.set_exception(std::current_exception());
      out.emplace_back(failed.get_future(), message.size());
      return;
    }
    auto sink = std::make_unique<ChunkSink<R>>(message.size());
    out.emplace_back(sink->future(), message.size());
    message.sink = std::move(sink);
    process_pool_submit(pool, std::move(message));
  }

  std::weak_ptr<Core> pool_;
  Fn fn_;
  std::size_t chunksize_;
  Zip<Iterables...> zip_;
  bool exhausted_ = false;
};

}  // namespace detail

template <class E>
bool register_exception() {
  using Codec = detail::ExceptionCodecFor<E>;
  static_assert(Codec::usable,
                "register_exception<E>: E must derive from std::exception, be copy "
                "constructible, and be constructible from its what() message (a std::string) "
                "or be default constructible and cereal-serializable");
  if constexpr (Codec::usable) detail::register_exception_codec(typeid(E).name(), Codec::codec());
  return true;
}

template <class Fn, class... Args>
requires(!std::is_same_v<std::decay_t<Fn>, ProcessInitializer>)
    ProcessInitializer::ProcessInitializer(Fn&& fn, Args&&... args) {
  using F = std::decay_t<Fn>;
  if constexpr (detail::check_process_call<F, detail::ProcessArg<Args>...>()) {
    using Entry = detail::ProcessEntry<true, F, detail::ProcessArg<Args>...>;
    (void)Entry::registered;
    detail::check_process_entry(Entry::key());
    detail::save_callable(static_cast<const F&>(fn), fn_bytes_);
    detail::ValueWriter(&args_).write(detail::as_process_arg(std::forward<Args>(args))...);
    entry_key_ = Entry::key();
  }
}

namespace detail {

// submit() and map() of a pool of worker processes (`Core`: ProcessPoolCore, or
// MPIPoolCore), which provides process_pool_check_open(Core&) and
// process_pool_submit(Core&, ProcessCall).
template <class Core, class Fn, class... Args>
auto submit_process_call(Core& core, const CallOptions& options, Fn&& fn, Args&&... args) {
  using F = std::decay_t<Fn>;
  constexpr bool call_ok = check_process_call<F, ProcessArg<Args>...>();
  constexpr bool result_ok = check_process_result<F, ProcessArg<Args>...>();
  if constexpr (call_ok && result_ok) {
    using Entry = ProcessEntry<false, F, ProcessArg<Args>...>;
    using R = typename Entry::Result;
    (void)Entry::registered;
    process_pool_check_open(core);
    check_process_entry(Entry::key());
    auto sink = std::make_unique<PromiseSink<R>>(1);
    Future<R> future = sink->future(0);
    ProcessCall call;
    call.entry_key = Entry::key();
    call.timeout = options.timeout;
    try {
      save_callable(static_cast<const F&>(fn), call.fn_bytes);
      ValueWriter writer(&call.args);
      append_process_args(call, writer, std::forward<Args>(args)...);
      check_call_size(call);
    } catch (...) {
      // Only this future fails; the pool never saw the call.
      sink->fail(0, std::current_exception());
      return future;
    }
    call.sink = std::move(sink);
    process_pool_submit(core, std::move(call));
    return future;
  } else {
    return Future<int>();  // unreachable: a static_assert above has failed
  }
}

template <class Core, class Fn, class... Iterables>
auto map_process_calls(const std::shared_ptr<Core>& core, const MapOptions& options, Fn&& fn,
                       Iterables&&... iterables) {
  using F = std::decay_t<Fn>;
  constexpr bool call_ok = check_process_call<F, ProcessArg<ElementOf<Iterables>>...>();
  constexpr bool result_ok = check_process_result<F, ProcessArg<ElementOf<Iterables>>...>();
  if constexpr (call_ok && result_ok) {
    using R = ProcessCallResult<F, ProcessArg<ElementOf<Iterables>>...>;
    using Source = ProcessMapSource<Core, R, F, Iterables...>;
    validate_map_options(options);
    process_pool_check_open(*core);
    return MapRange<R, Source>(
        Source(core, std::forward<Fn>(fn), static_cast<std::size_t>(options.chunksize),
               std::forward<Iterables>(iterables)...),
        options);
  } else {
    return 0;  // unreachable: a static_assert above has failed
  }
}

}  // namespace detail

template <class Fn, class... Args>
requires(!std::is_same_v<std::decay_t<Fn>, CallOptions>) auto ProcessPoolExecutor::submit(
    Fn&& fn, Args&&... args) {
  return detail::submit_process_call(*core_, CallOptions{}, std::forward<Fn>(fn),
                                     std::forward<Args>(args)...);
}

template <class Fn, class... Args>
auto ProcessPoolExecutor::submit(const CallOptions& options, Fn&& fn, Args&&... args) {
  return detail::submit_process_call(*core_, options, std::forward<Fn>(fn),
                                     std::forward<Args>(args)...);
}

template <class Fn, class... Iterables>
auto ProcessPoolExecutor::map(const MapOptions& options, Fn&& fn, Iterables&&... iterables) {
  return detail::map_process_calls(core_, options, std::forward<Fn>(fn),
                                   std::forward<Iterables>(iterables)...);
}

}  // namespace concurrent::futures
