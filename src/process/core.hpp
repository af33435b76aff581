// ProcessPoolCore: the parent's side of a process pool, shared by the files of
// src/process/ (pool.cpp has the data-flow diagram and says which file does what), and
// the tuning constants of its dispatch (those it shares with the MPI pool are in
// worker_calls.hpp). Private to the library.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "concurrent/futures/detail/mutex.hpp"
#include "concurrent/futures/process_pool.hpp"
#include "concurrent/futures/timeline.hpp"
#include "process/child.hpp"
#include "process/fork_server.hpp"
#include "process/io.hpp"
#include "process/manager_thread.hpp"
#include "process/wire.hpp"
#include "process/worker_calls.hpp"

namespace concurrent::futures::detail {

// While calls are in flight, the management thread polls without blocking for up to this
// long before it blocks in poll(), yielding the CPU between polls: a result that arrives
// within it costs no wake-up of this thread (5-50 us on a loaded machine, most of a
// small call's round trip). It spins only when that can pay and costs nobody: every busy
// worker's last call was shorter than this, and this thread plus the busy workers fit
// on the usable CPUs (on 2 CPUs: one busy worker), so the spin never takes a core from a
// worker. Longer: catches slower calls, burns more CPU when a result is late. Zero:
// never spin. (Workers spin the same way for their next call, kSpinForCall.)
inline constexpr std::chrono::microseconds kSpinForResult{50};
// When a result for the idle fast path's call arrives before the thread that will wait
// for it has begun to read it (the worker ran on that thread's CPU between its submit
// and its wait, say), the management thread leaves it to that thread for this long
// before it reads it itself. Longer: a later wait still reads its own result; a call
// nobody waits for finishes later by up to this much.
inline constexpr std::chrono::microseconds kOwnResultGrace{50};
// Bytes read from a worker's socket per read(). Larger: fewer system calls for big
// results; smaller: less memory per worker.
inline constexpr std::size_t kReadChunk = std::size_t{64} * 1024;
// A worker whose channel closed but which has not exited after this long is killed:
// a process that closed the pool's socket can no longer be used, and waiting forever
// for it would hang shutdown.
inline constexpr std::chrono::milliseconds kLingerLimit{2000};
// OnWorkerDeath::replace gives up (the pool breaks) once this many workers in a row died
// before finishing any call, counting only workers started in place of a dead one and
// workers that died before their initializer returned; any finished call resets the
// count. Larger: calls that crash every worker they reach fail one by one for longer
// before the pool gives up; smaller: a crashing initializer costs fewer doomed
// processes before the pool says so.
inline constexpr std::size_t kCrashLoopStrikes = 3;

// Calls of at most this many bytes of arguments may take the idle fast path (a submit
// writing its call to a lent worker's socket itself, LentChannel). The submit encodes and
// writes under the pool's lock, so this bounds how long it holds it; a socket's buffer
// takes this much at once, so the write completes. Larger calls go through the
// management thread, which writes without holding the lock.
inline constexpr std::size_t kDirectCallBytes = std::size_t{64} * 1024;

struct WorkerProcess;

// The idle fast path. While the pool is idle (no call in flight or queued) and the
// management thread blocks in poll(), it lends one idle worker's socket to the next
// submit: that submit writes its call frame there itself, under mutex_, so the worker
// wakes at once. The thread that then waits for the call's future may read the result
// from the socket itself and finish the future (own_result.cpp), so that a round trip to
// an idle pool wakes two threads, the worker and the caller, like a pipe's ping-pong;
// the calls it so answers leave the worker lent for the next submit. The management
// thread watches the lent socket through lent_epoll_, which the reading thread empties
// while it reads, so a result it reads does not wake the management thread too. If no
// thread reads the result, the management thread does. Only that poll() is lent: the
// thread takes the worker back (reclaim), first asking a reading thread to let go, as
// soon as poll() returns, for whatever reason, and only then books a call still
// unanswered in the worker's in_flight, so that none of its own bookkeeping is ever
// shared.
struct LentChannel {
  // The lent worker; null when nothing is lent. Only the management thread dereferences it.
  WorkerProcess* worker = nullptr;
  int fd = -1;                       // its socket (the parent's end, non-blocking)
  pid_t pid = -1;                    // its pid, for the timeline
  wire::FrameDecoder* in = nullptr;  // its decoder: a reading thread's while it reads
  std::uint64_t seq = 0;             // the seq the call written there takes
  // How many more calls it may take before it retires (ProcessPoolOptions::max_tasks_per_child).
  std::optional<std::size_t> calls_left;
  bool taken = false;    // a submit wrote (or began to write) its call there
  InFlight flight;       // that call, RUNNING since it was written
  std::string frame;     // its call frame (the buffer is kept from call to call)
  std::size_t sent = 0;  // how much of it the submit wrote; the thread writes the rest
  std::chrono::steady_clock::time_point written_at{};
  // The call's future if it has one item (only such a call's result is read by the
  // thread waiting for it), else null.
  const FutureCoreBase* future = nullptr;
  bool watched = false;  // the socket is in lent_epoll_
  bool reading = false;  // a waiting thread reads the socket (reading_stopped_ says when it stops)
  bool give_back = false;      // the management thread asked it to stop (reader_wakeup_)
  bool manager_waits = false;  // the management thread waits on reading_stopped_
  // The calls waiting threads answered while it was lent; how long the worker's last call
  // ran, and when its result came (WorkerCalls::last_call and front_since until then).
  std::size_t answered = 0;
  std::optional<std::chrono::nanoseconds> last_call;
  std::chrono::steady_clock::time_point answered_at{};
};

// A worker process as the management thread tracks it (its calls: WorkerCalls).
struct WorkerProcess : WorkerCalls {
  pid_t pid = -1;
  UniqueFd channel;  // the parent's end, non-blocking
  UniqueFd pidfd;
  wire::FrameDecoder in;
  std::string out;
  std::size_t out_sent = 0;
  std::uint64_t calls_sent = 0;
  bool ready = false;  // it read its configuration (before its initializer runs)
  // Past its initializer (or it has none). From then on it runs its calls one at a time,
  // each one's results on the wire before it reads the next, so the first call it holds
  // without a full answer is the one it is running (or about to run).
  bool serving = false;
  bool finished_a_call = false;  // for crash-loop detection (kCrashLoopStrikes)
  bool replacement = false;      // started in place of a worker that died or was killed
  // Non-zero once the pool killed it because the call with this seq overran its
  // CallOptions::timeout (timeouts.cpp): its death is the pool's act, not a crash.
  std::uint64_t overran_seq = 0;
  std::chrono::steady_clock::time_point start_deadline{};  // to be ready by then
  bool channel_closed = false;
  bool exited = false;
  bool stop_sent = false;
  bool reaped = false;
  ExitStatus status;
  std::string note;  // what the worker said before it exits (refused, init failed)
  std::optional<std::chrono::steady_clock::time_point> linger_deadline;

  bool retiring(std::optional<std::size_t> max_tasks) const {
    return max_tasks && calls_sent >= *max_tasks;
  }

  // WorkerCalls::takes_another, but never behind a call that overran its timeout.
  bool takes_another(std::chrono::steady_clock::time_point now) const {
    return overran_seq == 0 && WorkerCalls::takes_another(now, kProcessCallWindow);
  }
};

// Who owns what:
// - The options (max_workers_ ... config_frame_) are set by the constructor and never
//   change: any thread reads them.
// - workers_, fork_server_ and the dispatch counters belong to the management thread.
//   The constructor and start() fill them before that thread exists (starting a
//   std::thread orders those writes before everything the thread does); after that no
//   other thread touches them.
// - Everything user threads and the management thread share is under mutex_: the
//   pending calls, the shutdown and broken flags, live_ (the pid and pidfd of each
//   worker, so that worker_pids() and kill_workers() need not touch workers_), and lent_
//   (the idle fast path: a worker's socket and a call a submit wrote there, which the
//   management thread moves into its own bookkeeping only after taking the worker back).
// - wakeup_ (an eventfd) is written by any thread and read by the management thread; it
//   stays open until the core is destroyed, since shutdown() may write to it late.
//
// Lifetime: the executor and the management thread each hold a shared_ptr to the core;
// manager_thread.hpp says how the last one ends the thread.
class ProcessPoolCore : public std::enable_shared_from_this<ProcessPoolCore> {
 public:
  explicit ProcessPoolCore(ProcessPoolOptions options);
  ~ProcessPoolCore();

  // pool.cpp: what user threads call.
  void start();
  void check_open() CONCURRENT_FUTURES_EXCLUDES(mutex_);
  void submit(ProcessCall call) CONCURRENT_FUTURES_EXCLUDES(mutex_);
  void shutdown(bool wait, bool cancel_futures) CONCURRENT_FUTURES_EXCLUDES(mutex_);
  void force_stop(int sig) CONCURRENT_FUTURES_EXCLUDES(mutex_);
  std::vector<int> worker_pids() const CONCURRENT_FUTURES_EXCLUDES(mutex_);
  std::size_t max_workers() const { return max_workers_; }
  // Called by the executor's destructor after shutdown(true).
  void release_thread();
  // own_result.cpp: the thread waiting for `future` reads its result from the lent socket
  // and finishes it, if it is the lent call's, until `deadline`. False if it did not
  // finish it (it is not that call's, another thread reads it, the deadline passed, the
  // management thread took the worker back, or the message is one to leave to it).
  bool read_own_result(const FutureCoreBase& future, std::chrono::steady_clock::time_point deadline)
      CONCURRENT_FUTURES_EXCLUDES(mutex_);

 private:
  // startup.cpp
  void start_worker();
  // loop.cpp
  void manager_main() noexcept;
  void run_loop();
  bool worth_spinning() const;
  // dispatch.cpp
  void dispatch();
  // The idle fast path (LentChannel): lend() before the management thread blocks in
  // poll(), reclaim() as soon as poll() returns. submit_direct() is the submit's side:
  // false if `call` cannot take it (nothing lent, or the call is timed or large), else it
  // took `call` and wrote what the socket took, and sets `wake_manager` if the
  // management thread must write the rest. lend() returns the index of the worker it
  // lent, if any (only then is there anything to reclaim).
  std::optional<std::size_t> lend() CONCURRENT_FUTURES_EXCLUDES(mutex_);
  // `result_arrived`: poll() returned because the lent socket became readable.
  void reclaim(bool result_arrived) CONCURRENT_FUTURES_EXCLUDES(mutex_);
  // own_result.cpp: puts the lent socket in lent_epoll_ or takes it out; false if the
  // kernel had no memory for it (nothing changed).
  bool watch_lent(bool watch) CONCURRENT_FUTURES_REQUIRES(mutex_);
  // Gives a thread that may wait for the lent call kOwnResultGrace to read the result
  // that has arrived for it (the worker may have run on its CPU between its submit and
  // its wait), then asks a thread still reading the lent socket to stop, and waits until
  // it has.
  void stop_reading(MutexLock& lock, bool result_arrived) CONCURRENT_FUTURES_REQUIRES(mutex_);
  bool submit_direct(ProcessCall& call, bool& wake_manager) CONCURRENT_FUTURES_REQUIRES(mutex_);
  // Whether a call written now may have to be sent again, to another worker, if its
  // worker dies before it starts (OnWorkerDeath::replace, or once a timed call was
  // submitted): only then does it keep its arguments once written.
  bool calls_may_be_resent() const CONCURRENT_FUTURES_REQUIRES(mutex_) {
    return on_worker_death_ == OnWorkerDeath::replace || timed_calls_;
  }
  bool dispatch_one(WorkerProcess& w);
  void flush_out(WorkerProcess& w);
  // Writes `buffer` from `sent` on into the non-blocking socket `fd` until it is all
  // written, the socket is full (false) or closed (false, and `closed` set).
  static bool send_some(int fd, const std::string& buffer, std::size_t& sent, bool& closed);
  void read_channel(WorkerProcess& w);
  // Handles the complete frames `w` has received; false if that broke the pool.
  bool handle_frames(WorkerProcess& w);
  void send_stop(WorkerProcess& w);
  // results.cpp
  void handle_frame(WorkerProcess& w, wire::MessageType type, std::string_view payload);
  void start_serving(WorkerProcess& w);
  // Shows `flight`'s items, which `r` answers, running on worker `pid` (if there is a timeline).
  void record_run(const InFlight& flight, pid_t pid, const wire::ResultFrame& r);
  // deaths.cpp
  void handle_exit(std::size_t index);
  ExitStatus reap(WorkerProcess& w);  // once; later calls return the same status
  ExitStatus reap_now(WorkerProcess& w);
  void remove_worker(std::size_t index);
  // The call `w` was running when it died (its first without a full answer, once it is
  // serving), taken out of its in_flight; nullopt if it was running none.
  std::optional<InFlight> take_running_call(WorkerProcess& w);
  // Moves the calls `w` still holds (none of them started) to requeued_.
  void requeue_calls(WorkerProcess& w);
  // Fails every item of `running` (a chunk is answered as a whole) with `error`, and draws
  // them on the timeline as cut short (`how`), from `since` (when they started, as far as this
  // thread knows) to now, on worker `pid`.
  void fail_cut_short(InFlight& running, pid_t pid, std::chrono::steady_clock::time_point since,
                      const std::string& how, const std::exception_ptr& error);
  void survive_death(std::size_t index, const ExitStatus& status);
  void break_after_death(WorkerProcess& w, const ExitStatus& status);
  // Replaces the worker at `index` (removed) with a new one, if work may still come.
  // False if the new one could not be started: then the pool is broken, saying why.
  bool replace_worker(std::size_t index);
  // Fails every pending and running call and stops every worker. The calls fail with
  // `reason` (plus advice), or with `bystanders` when that is given: the reason says
  // which call caused it, the calls that merely failed with the pool say so.
  void break_pool(const std::string& reason, bool forced, const std::string& bystanders = {})
      CONCURRENT_FUTURES_EXCLUDES(mutex_);
  void kill_and_reap_all();
  // timeouts.cpp
  std::optional<std::chrono::steady_clock::time_point> call_deadline(const WorkerProcess& w) const;
  void kill_overrunning_calls(std::chrono::steady_clock::time_point now);
  // After the worker at `index`, killed for a timeout, has exited: fails the call it was
  // running, requeues the others and replaces it.
  void settle_kill(std::size_t index, const ExitStatus& status);

  void wake() CONCURRENT_FUTURES_EXCLUDES(mutex_);
  bool broken() const CONCURRENT_FUTURES_EXCLUDES(mutex_);
  // Throws std::runtime_error after shutdown, BrokenProcessPool once broken.
  void throw_if_closed() const CONCURRENT_FUTURES_REQUIRES(mutex_);

  const std::size_t max_workers_;
  const std::size_t cpus_ = usable_cpus();
  const StartMethod start_method_;
  const std::optional<std::size_t> max_tasks_;
  const std::chrono::milliseconds start_timeout_;
  const OnWorkerDeath on_worker_death_;
  const ProcessInitializer initializer_;
  const std::shared_ptr<Timeline> timeline_;
  std::string config_frame_;  // the first message every worker receives

  // Management thread only (and the constructor before it starts).
  std::vector<std::unique_ptr<WorkerProcess>> workers_;
  std::unique_ptr<ForkServer> fork_server_;
  std::uint64_t next_seq_ = 1;
  std::size_t in_flight_calls_ = 0;  // written to workers or requeued_, not yet answered
  // Calls taken back from a worker that died or was killed before it started them. They
  // are RUNNING already (no longer cancellable) and go to the next free worker before
  // anything in pending_, keeping their seq.
  std::deque<InFlight> requeued_;
  std::size_t crash_strikes_ = 0;  // see kCrashLoopStrikes
  bool stopping_ = false;          // no more pending work will come: stop idle workers

  UniqueFd wakeup_;         // eventfd
  UniqueFd lent_epoll_;     // holds the lent socket while no thread reads it (LentChannel)
  UniqueFd reader_wakeup_;  // eventfd: tells a thread reading the lent socket to stop
  ManagerThread manager_;

  mutable Mutex mutex_;
  std::deque<ProcessCall> pending_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
  bool wake_pending_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = false;
  bool shutdown_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = false;
  bool forced_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = false;
  // A call with a timeout has been submitted. Killing a worker for overrunning one sends
  // the calls queued behind it again, so from then on calls keep their arguments until
  // answered, as they do in OnWorkerDeath::replace mode (calls_may_be_resent).
  bool timed_calls_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = false;
  std::string broken_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
  // pid and pidfd of each live worker, for worker_pids() and force_stop(); an entry is
  // removed (under the lock) before its pidfd is closed.
  std::vector<std::pair<pid_t, int>> live_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
  LentChannel lent_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
  // A thread reading the lent socket stopped, while lent_.manager_waits.
  std::condition_variable reading_stopped_;
};

}  // namespace concurrent::futures::detail
