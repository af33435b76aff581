// ProcessPoolExecutor's parent side. This file holds the executor's members and what
// user threads call on the pool's core; the diagram below shows how a call travels,
// and the map after it says which file does which part.
//
// Data flow (compare CPython's Lib/concurrent/futures/process.py):
//
//  user threads        |              management thread              |  worker processes
//                      |                                             |
//  submit(fn, args)    |                                             |
//    serialize args    |                                             |
//    (user's thread)   |                                             |
//        │             |                                             |
//        ▼             |                                             |
//  ┌───────────────┐   |   ┌───────────────────────────────────┐     |    ┌──────────┐
//  │ pending_      │ ──┼─► │ dispatch: set_running_or_notify_  │     |    │ worker 0 │
//  │ (deque, lock) │   |   │ cancel(), encode a call frame and │ ──socket─► │  decode  │
//  └───────────────┘   |   │ queue it on the least busy worker │ ◄─socket── │  call fn │
//        │ eventfd     |   │ (at most max_workers +            │     |    │  encode  │
//        └─── wake-up ─┼─► │  kProcessCallWindow in flight)    │     |    └──────────┘
//                      |   │                                   │     |    ┌──────────┐
//  Future::result() ◄──┼── │ read result frames, decode value, │ ◄─socket─► worker 1 │
//                      |   │ set_result / set_exception        │     |    └──────────┘
//                      |   │ poll(): eventfd, every socket,    │     |        ...
//                      |   │ every worker's pidfd              │ ◄─pidfd── exit/signal
//                      |   └───────────────────────────────────┘     |
//
// - Each worker has its own SOCK_STREAM socketpair (calls one way, results the other):
//   private to the pool, no name in any namespace. The parent's end is non-blocking,
//   so a full socket never stalls the management thread (a worker busy with a call
//   while megabytes of its next call wait to be written cannot deadlock against a
//   worker writing a large result).
// - The wake-up channel is an eventfd, separate from the result channels: user threads
//   touch pending_ and the eventfd, and a worker's socket only when the management thread
//   lends it (the idle fast path below).
// - The idle fast path: while the pool is idle and the management thread blocks in
//   poll(), it lends one idle worker's socket (LentChannel in core.hpp). The next submit
//   (untimed, with at most kDirectCallBytes of arguments, none pending before it) writes
//   its call frame there itself, under the lock that guards pending_, instead of queueing
//   it for the management thread: the worker wakes first. The thread that waits for the
//   call then reads the result from the socket itself (own_result.cpp), and the worker
//   stays lent for the next such call. As soon as poll() returns, the management thread
//   takes the worker back (asking a thread that reads to let go) and books a call still
//   unanswered as if it had written it, so dispatch, deaths, timeouts and shutdown see
//   one kind of call. While one call is out this way, the calls behind it queue as usual.
// - A worker's death shows up as its pidfd becoming readable (pidfd_open, Linux 5.3+).
//   The management thread first drains whatever results the worker managed to send,
//   then reaps it to learn how it died. The call it was running is the first it holds
//   without a full answer (a worker runs one call at a time and puts its results on the
//   wire before it reads the next). An unexpected death breaks the pool, or with
//   OnWorkerDeath::replace fails only that call (WorkerDied): the calls queued behind it
//   go to another worker (requeued_) and a new worker takes its place. A call that
//   overruns its CallOptions::timeout gets its worker killed (SIGKILL) the same way, as
//   the pool's own act rather than a crash (timeouts.cpp).
// - Fair dispatch: an idle worker always gets the next call; a busy one gets more (up
//   to kProcessCallWindow) only while its calls are short (kShortCall, measured by the
//   worker and sent back with each result). Short calls are batched for throughput;
//   a long call never waits behind another while a worker idles.
// - Latency: a round trip of a small call through the management thread costs four
//   wake-ups (eventfd, worker, result, user); on the idle fast path it costs two (worker,
//   user), like a pipe's ping-pong.
//   Workers spin briefly for their next call while calls come back-to-back
//   (kSpinForCall), and this thread spins briefly for results when a spare CPU allows it
//   (kSpinForResult), which removes two of them while calls keep coming.
// - A call leaves pending_ (and becomes RUNNING, uncancellable) only when it is
//   written to a worker, so cancel() and shutdown(cancel_futures=true) reach every call
//   that is not yet in a worker's hands.
// - Done-callbacks run on the management thread, or on a thread that read its own result.
//   They may submit (that only takes the pending_ lock); shutdown(true) from one does not
//   join the thread it runs on.
// - fork: all workers are forked in the constructor before the management thread
//   exists (gh-90622). forkserver: a server process, started (spawned) once per pool,
//   forks the workers on request; it is single-threaded, so forking it is safe at any
//   time, which is what lets max_tasks_per_child replace workers.
//
// Which file does what (all under src/process/):
//   pool.cpp         this overview; the executor's members; submit, shutdown, kill
//                    (what user threads call on the core)
//   core.hpp         ProcessPoolCore and its workers' bookkeeping: who owns which member,
//                    the dispatch constants (kProcessCallWindow, kShortCall, ...)
//   startup.cpp      options, the configuration message, starting a worker
//   loop.cpp         the management thread's poll loop
//   dispatch.cpp     choosing a worker, writing calls, reading sockets, and the idle
//                    fast path (lending a worker's socket to a submit)
//   own_result.cpp   the idle fast path's other half: the waiting thread reads its result
//   results.cpp      matching results to calls and finishing their futures
//   worker_calls.cpp a worker's unfinished calls: queueing, matching a result, finishing
//                    (results.hpp); with the dispatch constants, shared with the MPI pool
//   deaths.cpp       reaping workers, retirements, the call a dead worker was running,
//                    replacing workers (OnWorkerDeath::replace) or breaking the pool
//   timeouts.cpp     per-call timeouts: killing a worker whose call overran
//   child.cpp        spawning this executable again, pidfds, exit statuses
//   fork_server.cpp  the fork server: protocol, the pool's client and the server
//   worker.cpp       the worker's loop, and the hook that enters it before main()
//   wire.cpp         the frames and every message's encoder and decoder
//   call_size.cpp    refusing a call too large for the wire, in the submitting thread
//   io.cpp, image.cpp, remote_exception.cpp: descriptors and blocking I/O, facts about
//                    the executable (build id, symbols), exceptions across processes

#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <deque>
#include <stdexcept>
#include <utility>

#include "call_timeout.hpp"
#include "concurrent/futures/errors.hpp"
#include "process/core.hpp"
#include "process/fork_safety.hpp"
#include "process/own_result.hpp"

namespace concurrent::futures {
namespace detail {

void ProcessPoolCore::check_open() {
  MutexLock lock(mutex_);
  throw_if_closed();
}

void ProcessPoolCore::throw_if_closed() const {
  if (!broken_.empty() && !forced_) throw BrokenProcessPool(broken_);
  if (shutdown_) throw std::runtime_error("cannot schedule new futures after shutdown");
}

void ProcessPoolCore::submit(ProcessCall call) {
  if (call.timeout) {
    check_call_timeout(call.timeout, "ProcessPoolExecutor::submit()");
    if (start_method_ == StartMethod::fork) {
      throw fork_cannot_replace_workers("CallOptions::timeout",
                                        "the worker of a call that overruns is replaced, and ");
    }
  }
  if (timeline_) {
    call.timeline_ids.reserve(call.size());
    for (std::size_t i = 0; i < call.size(); ++i)
      call.timeline_ids.push_back(timeline_->on_submit());
  }
  bool notify = false;
  bool direct = false;
  {
    MutexLock lock(mutex_);
    throw_if_closed();
    timed_calls_ = timed_calls_ || call.timeout.has_value();
    direct = submit_direct(call, notify);
    if (!direct) {
      pending_.push_back(std::move(call));
      notify = !std::exchange(wake_pending_, true);
    }
  }
  if (direct) remember_own_call(weak_from_this());
  if (notify) wake();
}

void ProcessPoolCore::wake() {
  const std::uint64_t one = 1;
  (void)!::write(wakeup_.get(), &one, sizeof one);
}

void ProcessPoolCore::shutdown(bool wait, bool cancel_futures) {
  std::deque<ProcessCall> cancelled;
  {
    MutexLock lock(mutex_);
    shutdown_ = true;
    if (cancel_futures) cancelled.swap(pending_);
  }
  // Cancelling runs done-callbacks: outside the lock.
  for (ProcessCall& call : cancelled) {
    for (std::size_t i = 0; i < call.size(); ++i) call.sink->cancel(i);
  }
  cancelled.clear();
  wake();
  if (wait) manager_.join();
}

void ProcessPoolCore::release_thread() { manager_.release(); }

void ProcessPoolCore::force_stop(int sig) {
  shutdown(false, true);
  MutexLock lock(mutex_);
  forced_ = true;
  for (const auto& [pid, pidfd] : live_) (void)pidfd_send_signal(pidfd, sig);
}

std::vector<int> ProcessPoolCore::worker_pids() const {
  MutexLock lock(mutex_);
  std::vector<int> pids;
  for (const auto& entry : live_) pids.push_back(entry.first);
  return pids;
}

}  // namespace detail

// ---- ProcessPoolExecutor ------------------------------------------------------------------

namespace detail {

void process_pool_check_open(ProcessPoolCore& core) { core.check_open(); }

void process_pool_submit(ProcessPoolCore& core, ProcessCall call) { core.submit(std::move(call)); }

}  // namespace detail

ProcessPoolExecutor::ProcessPoolExecutor(ProcessPoolOptions options)
    : core_(std::make_shared<detail::ProcessPoolCore>(std::move(options))) {
  core_->start();
}

ProcessPoolExecutor::~ProcessPoolExecutor() {
  core_->shutdown(true, false);
  core_->release_thread();
}

const char* to_string(StartMethod method) noexcept {
  switch (method) {
    case StartMethod::fork:
      return "fork";
    case StartMethod::spawn:
      return "spawn";
    case StartMethod::forkserver:
      return "forkserver";
  }
  return "unknown";
}

void ProcessPoolExecutor::shutdown(bool wait, bool cancel_futures) {
  core_->shutdown(wait, cancel_futures);
}

void ProcessPoolExecutor::terminate_workers() { core_->force_stop(SIGTERM); }

void ProcessPoolExecutor::kill_workers() { core_->force_stop(SIGKILL); }

std::size_t ProcessPoolExecutor::max_workers() const noexcept { return core_->max_workers(); }

std::vector<int> ProcessPoolExecutor::worker_pids() const { return core_->worker_pids(); }

}  // namespace concurrent::futures
