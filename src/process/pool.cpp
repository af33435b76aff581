// ProcessPoolExecutor's parent side: starting workers, the management thread, and
// breaking the pool when a worker dies.
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
//        └─── wake-up ─┼─► │  kExtraQueuedCalls in flight)     │     |    └──────────┘
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
//   only ever touch pending_ and the eventfd, never a worker's socket.
// - A worker's death shows up as its pidfd becoming readable (pidfd_open, Linux 5.3+).
//   The management thread first drains whatever results the worker managed to send,
//   then reaps it to learn how it died; an unexpected death breaks the pool.
// - Fair dispatch: an idle worker always gets the next call; a busy one gets more (up
//   to kMaxCallsPerWorker) only while its calls are short (kShortCall, measured by the
//   worker and sent back with each result). Short calls are batched for throughput;
//   a long call never waits behind another while a worker idles.
// - Latency: a round trip of a small call would cost four wake-ups (eventfd, worker,
//   result, user). Workers spin briefly for their next call while calls come
//   back-to-back (kSpinForCall), and this thread spins briefly for results when a spare
//   CPU allows it (kSpinForResult), which removes two of them.
// - A call leaves pending_ (and becomes RUNNING, uncancellable) only when it is
//   written to a worker, so cancel() and shutdown(cancel_futures=true) reach every call
//   that is not yet in a worker's hands.
// - Done-callbacks run on the management thread. They may submit (that only takes the
//   pending_ lock); shutdown(true) from one does not join the thread it runs on.
// - fork: all workers are forked in the constructor before the management thread
//   exists (gh-90622). forkserver: a server process, started (spawned) once per pool,
//   forks the workers on request; it is single-threaded, so forking it is safe at any
//   time, which is what lets max_tasks_per_child replace workers.

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "concurrent/futures/detail/mutex.hpp"
#include "concurrent/futures/errors.hpp"
#include "concurrent/futures/process_pool.hpp"
#include "concurrent/futures/timeline.hpp"
#include "process/image.hpp"
#include "process/io.hpp"
#include "process/remote_exception.hpp"
#include "process/wire.hpp"
#include "process/worker.hpp"

namespace concurrent::futures {
namespace detail {

namespace {

// Calls written to workers but not finished, beyond one per worker: the call queue
// holds at most max_workers + kExtraQueuedCalls calls. A call in a worker's queue is
// already RUNNING and can no longer be cancelled, and it is lost with the worker if that
// dies; in exchange a worker finds its next call already waiting instead of idling for a
// round trip through the management thread, and the management thread moves calls and
// results in batches (one send, one recv for several). CPython uses 1
// (EXTRA_QUEUED_CALLS); 4 roughly doubles the throughput of small calls here.
constexpr std::size_t kExtraQueuedCalls = 4;
// No worker holds more than this many unfinished calls, so that a long call does not
// keep short ones waiting behind it while other workers idle.
constexpr std::size_t kMaxCallsPerWorker = 4;
// Fair dispatch: a worker that is busy is given a further call only while its calls are
// short, that is, while its last finished call ran (in the worker) for less than this
// and its current one has not yet run this long. Long calls (and calls on a worker
// whose call lengths are not yet known) therefore only ever go to idle workers and wait
// in pending_ otherwise, as in CPython, whose shared call queue any free worker takes
// from: 15 calls of 0.5 s on 5 workers take 1.5 s, not 2 s. Larger: calls up to this
// long may still queue behind one another, so a worker may idle for up to about
// (kMaxCallsPerWorker - 1) x kShortCall while another still holds work. Smaller: fewer
// calls are batched, and each unbatched call leaves its worker waiting for a round trip
// through the management thread (10-50 us) before its next one.
constexpr std::chrono::microseconds kShortCall{200};
// While calls are in flight, the management thread polls without blocking for up to this
// long before it blocks in poll(), yielding the CPU between polls: a result that arrives
// within it costs no wake-up of this thread (5-50 us on a loaded machine, most of a
// small call's round trip). It spins only when that can pay and costs nobody: every busy
// worker's last call was shorter than this, and this thread plus the busy workers fit
// on the usable CPUs (on 2 CPUs: one busy worker), so the spin never takes a core from a
// worker. Longer: catches slower calls, burns more CPU when a result is late. Zero:
// never spin. (Workers spin the same way for their next call, kSpinForCall.)
constexpr std::chrono::microseconds kSpinForResult{50};
// Bytes read from a worker's socket per read(). Larger: fewer system calls for big
// results; smaller: less memory per worker.
constexpr std::size_t kReadChunk = std::size_t{64} * 1024;
// A worker whose channel closed but which has not exited after this long is killed:
// a process that closed the pool's socket can no longer be used, and waiting forever
// for it would hang shutdown.
constexpr std::chrono::milliseconds kLingerLimit{2000};

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int pidfd_send_signal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : std::string("unknown signal");
}

// How a worker ended, for BrokenProcessPool's message.
struct ExitStatus {
  bool known = false;
  bool signaled = false;
  int code = 0;  // exit code or signal number
};

ExitStatus from_wait_status(int status) {
  ExitStatus s;
  s.known = true;
  if (WIFSIGNALED(status)) {
    s.signaled = true;
    s.code = WTERMSIG(status);
  } else {
    s.code = WEXITSTATUS(status);
  }
  return s;
}

std::string describe_exit(pid_t pid, const ExitStatus& s) {
  const std::string who = "worker process " + std::to_string(pid);
  if (!s.known) return who + " ended, and how could not be learned";
  if (s.signaled) {
    return who + " was killed by signal " + std::to_string(s.code) + " (" + signal_name(s.code) +
           ")";
  }
  switch (s.code) {
    case kExitBadMessage:
      return who + " exited with code " + std::to_string(s.code) +
             " because it could not read a message from the pool";
    case kExitParentGone:
      return who + " exited with code " + std::to_string(s.code) +
             " because its channel to the pool broke";
    default:
      return who + " exited with code " + std::to_string(s.code);
  }
}

const char* const kBrokenAdvice =
    "; the process pool is broken (calls that were pending or running failed, and it "
    "accepts no more work): create a new ProcessPoolExecutor";

}  // namespace

// The fork server: a copy of this executable that forks workers on request.
class ForkServer {
 public:
  ForkServer() = default;
  ForkServer(const ForkServer&) = delete;
  ForkServer& operator=(const ForkServer&) = delete;
  ~ForkServer() { stop(); }

  void start();
  // Forks a worker serving `channel`; returns its pid.
  pid_t fork_worker(int channel);
  // The wait status of a worker that has exited (reaps it).
  std::optional<int> wait_worker(pid_t pid);
  // Closes the control channel (the server reaps its remaining children and exits)
  // and reaps the server.
  void stop();
  int control_fd() const { return control_.get(); }

 private:
  UniqueFd control_;
  pid_t pid_ = -1;
};

struct InFlight {
  std::uint64_t seq = 0;
  std::unique_ptr<ProcessCall> call;
  std::vector<std::uint32_t> indices;  // the items that were sent (not cancelled)
  std::size_t received = 0;
  std::int64_t started_ns = 0;  // when the worker began its first item (steady clock)
};

struct WorkerProcess {
  pid_t pid = -1;
  UniqueFd channel;  // the parent's end, non-blocking
  UniqueFd pidfd;
  wire::FrameDecoder in;
  std::string out;
  std::size_t out_sent = 0;
  std::deque<InFlight> in_flight;
  std::uint64_t calls_sent = 0;
  // For fair dispatch (kShortCall): how long the worker took for its last finished call,
  // unknown before one has finished; and when it began its current call (the front of
  // in_flight), as far as the management thread can tell.
  std::optional<std::chrono::nanoseconds> last_call;
  std::chrono::steady_clock::time_point front_since{};
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

  // Whether a further call may be queued behind the ones this worker holds (see
  // kShortCall). An idle worker always takes one.
  bool takes_another(std::chrono::steady_clock::time_point now) const {
    if (in_flight.empty()) return true;
    if (in_flight.size() >= kMaxCallsPerWorker) return false;
    return last_call && *last_call < kShortCall && now - front_since < kShortCall;
  }
};

class ProcessPoolCore : public std::enable_shared_from_this<ProcessPoolCore> {
 public:
  explicit ProcessPoolCore(ProcessPoolOptions options);
  ~ProcessPoolCore();

  void start();
  void check_open() CONCURRENT_FUTURES_EXCLUDES(mutex_);
  void submit(ProcessCall call) CONCURRENT_FUTURES_EXCLUDES(mutex_);
  void shutdown(bool wait, bool cancel_futures) CONCURRENT_FUTURES_EXCLUDES(mutex_);
  void force_stop(int sig) CONCURRENT_FUTURES_EXCLUDES(mutex_);
  std::vector<int> worker_pids() const CONCURRENT_FUTURES_EXCLUDES(mutex_);
  std::size_t max_workers() const { return max_workers_; }
  // Called by the executor's destructor after shutdown(true).
  void release_thread();

 private:
  void start_worker();
  void manager_main() noexcept;
  void run_loop();
  void dispatch();
  bool dispatch_one(WorkerProcess& w);
  void flush_out(WorkerProcess& w);
  void read_channel(WorkerProcess& w);
  void handle_frame(WorkerProcess& w, wire::MessageType type, std::string_view payload);
  void handle_exit(std::size_t index);
  ExitStatus reap(WorkerProcess& w);  // once; later calls return the same status
  ExitStatus reap_now(WorkerProcess& w);
  void remove_worker(std::size_t index);
  void send_stop(WorkerProcess& w);
  void break_pool(const std::string& reason, bool forced) CONCURRENT_FUTURES_EXCLUDES(mutex_);
  void kill_and_reap_all();
  void wake() CONCURRENT_FUTURES_EXCLUDES(mutex_);
  bool worth_spinning() const;
  bool on_manager_thread() const { return std::this_thread::get_id() == manager_id_.load(); }

  const std::size_t max_workers_;
  const std::size_t cpus_ = usable_cpus();
  const StartMethod start_method_;
  const std::optional<std::size_t> max_tasks_;
  const ProcessInitializer initializer_;
  const std::shared_ptr<Timeline> timeline_;
  std::string config_frame_;  // the first message every worker receives

  // Management thread only (and the constructor before it starts).
  std::vector<std::unique_ptr<WorkerProcess>> workers_;
  std::unique_ptr<ForkServer> fork_server_;
  std::uint64_t next_seq_ = 1;
  std::size_t in_flight_calls_ = 0;
  bool stopping_ = false;  // no more pending work will come: stop idle workers

  UniqueFd wakeup_;  // eventfd
  std::thread manager_;
  std::mutex join_mutex_;
  std::atomic<std::thread::id> manager_id_{};

  mutable Mutex mutex_;
  std::deque<ProcessCall> pending_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
  bool wake_pending_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = false;
  bool shutdown_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = false;
  bool forced_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = false;
  bool finished_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = false;  // manager loop ended
  std::string broken_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
  // pid and pidfd of each live worker, for worker_pids() and force_stop(); an entry is
  // removed (under the lock) before its pidfd is closed.
  std::vector<std::pair<pid_t, int>> live_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
};

// ---- ForkServer --------------------------------------------------------------------------

namespace {

// Runs this executable again with `marker` in its environment and `child_end` as fd 3.
pid_t spawn_self(const std::string& marker, int child_end) {
  UniqueFd moved;
  if (child_end == 3) {  // dup2(3, 3) would leave close-on-exec set
    moved.reset(::fcntl(child_end, F_DUPFD_CLOEXEC, 10));
    if (!moved) throw_errno("fcntl(F_DUPFD_CLOEXEC)");
    child_end = moved.get();
  }
  std::vector<char*> envp;
  const std::string prefix = std::string(kWorkerMarkerVariable) + "=";
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, prefix.c_str(), prefix.size()) != 0) envp.push_back(*e);
  }
  std::string assignment = prefix + marker;
  envp.push_back(assignment.data());
  envp.push_back(nullptr);
  char* argv[] = {program_invocation_name, nullptr};

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  ::posix_spawn_file_actions_adddup2(&actions, child_end, 3);
  // Nothing else of the parent's leaks into the worker (as Python's close_fds).
  ::posix_spawn_file_actions_addclosefrom_np(&actions, 4);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, "/proc/self/exe", &actions, &attr, argv, envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    errno = rc;
    throw_errno("posix_spawn(/proc/self/exe)");
  }
  return pid;
}

}  // namespace

void ForkServer::start() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    throw_errno("socketpair");
  }
  control_.reset(fds[0]);
  UniqueFd child(fds[1]);
  pid_ = spawn_self("forkserver:3", child.get());
}

pid_t ForkServer::fork_worker(int channel) {
  ForkServerRequest request{static_cast<int>(ForkServerOp::fork_worker), 0};
  iovec iov{&request, sizeof request};
  alignas(cmsghdr) char buffer[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = buffer;
  msg.msg_controllen = sizeof buffer;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &channel, sizeof(int));
  ssize_t n;
  do {
    n = ::sendmsg(control_.get(), &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof request)) throw_errno("the fork server is gone (sendmsg)");
  ForkServerReply reply{};
  do {
    n = ::recv(control_.get(), &reply, sizeof reply, 0);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof reply)) {
    errno = n < 0 ? errno : EPIPE;
    throw_errno("the fork server is gone (recv)");
  }
  if (reply.error != 0) {
    errno = reply.error;
    throw_errno("the fork server could not fork a worker");
  }
  return reply.value;
}

std::optional<int> ForkServer::wait_worker(pid_t pid) {
  ForkServerRequest request{static_cast<int>(ForkServerOp::wait_worker), pid};
  if (::send(control_.get(), &request, sizeof request, MSG_NOSIGNAL) !=
      static_cast<ssize_t>(sizeof request)) {
    return std::nullopt;
  }
  ForkServerReply reply{};
  ssize_t n;
  do {
    n = ::recv(control_.get(), &reply, sizeof reply, 0);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof reply) || reply.error != 0) return std::nullopt;
  return reply.value;
}

void ForkServer::stop() {
  control_.reset();
  if (pid_ > 0) {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

// ---- ProcessPoolCore ------------------------------------------------------------------

namespace {

std::size_t checked_workers(const ProcessPoolOptions& o) {
  const std::size_t max_workers = max_workers_or(o.max_workers, usable_cpus());
  if (o.max_tasks_per_child) {
    if (*o.max_tasks_per_child == 0) {
      throw std::invalid_argument("max_tasks_per_child must be greater than 0");
    }
    if (o.start_method == StartMethod::fork) {
      throw std::invalid_argument(
          "max_tasks_per_child cannot be used with StartMethod::fork: replacing a worker "
          "would mean forking a process that has threads (gh-90622); use "
          "StartMethod::forkserver or StartMethod::spawn");
    }
  }
  return max_workers;
}

}  // namespace

ProcessPoolCore::ProcessPoolCore(ProcessPoolOptions options)
    : max_workers_(checked_workers(options)),
      start_method_(options.start_method),
      max_tasks_(options.max_tasks_per_child),
      initializer_(std::move(options.initializer)),
      timeline_(std::move(options.timeline)) {
  wire::ConfigMessage config;
  config.build_id = executable_build_id();
  config.max_tasks = max_tasks_.value_or(0);
  config.timeline = timeline_ != nullptr;
  config.has_init = static_cast<bool>(initializer_);
  if (config.has_init) {
    config.init_key = initializer_.entry_key();
    config.init_fn = initializer_.fn_bytes();
    config.init_args = initializer_.args();
  }
  wire::encode_config(config_frame_, config);
  wakeup_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wakeup_) throw_errno("eventfd");
}

void ProcessPoolCore::start() {
  try {
    if (start_method_ == StartMethod::forkserver) {
      fork_server_ = std::make_unique<ForkServer>();
      fork_server_->start();
    }
    for (std::size_t i = 0; i < max_workers_; ++i) start_worker();
  } catch (...) {
    kill_and_reap_all();
    if (fork_server_) fork_server_->stop();
    throw;
  }
  // The management thread starts only now: with StartMethod::fork, every fork above
  // happened while the pool had no thread of its own.
  manager_ = std::thread([self = shared_from_this()] { self->manager_main(); });
}

ProcessPoolCore::~ProcessPoolCore() {
  if (manager_.joinable()) manager_.detach();
}

void ProcessPoolCore::start_worker() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) throw_errno("socketpair");
  auto w = std::make_unique<WorkerProcess>();
  w->channel.reset(fds[0]);
  UniqueFd child(fds[1]);
  switch (start_method_) {
    case StartMethod::fork: {
      const pid_t pid = ::fork();
      if (pid < 0) throw_errno("fork");
      if (pid == 0) {
        // The child keeps only its own end of the pool's channels.
        for (const auto& other : workers_) {
          ::close(other->channel.get());
          ::close(other->pidfd.get());
        }
        ::close(w->channel.get());
        ::close(wakeup_.get());
        ::_exit(worker_main(child.get()));
      }
      w->pid = pid;
      break;
    }
    case StartMethod::spawn:
      w->pid = spawn_self("worker:3", child.get());
      break;
    case StartMethod::forkserver:
      w->pid = fork_server_->fork_worker(child.get());
      break;
  }
  child.reset();
  w->pidfd.reset(pidfd_open(w->pid));
  if (!w->pidfd) {
    const int error = errno;
    ::kill(w->pid, SIGKILL);
    if (start_method_ == StartMethod::forkserver) {
      (void)fork_server_->wait_worker(w->pid);
    } else {
      int status;
      ::waitpid(w->pid, &status, 0);
    }
    errno = error;
    throw_errno("pidfd_open");
  }
  ::fcntl(w->channel.get(), F_SETFL, ::fcntl(w->channel.get(), F_GETFL) | O_NONBLOCK);
  w->out = config_frame_;
  {
    MutexLock lock(mutex_);
    live_.emplace_back(w->pid, w->pidfd.get());
  }
  workers_.push_back(std::move(w));
}

void ProcessPoolCore::check_open() {
  MutexLock lock(mutex_);
  if (!broken_.empty() && !forced_) throw BrokenProcessPool(broken_);
  if (shutdown_) throw std::runtime_error("cannot schedule new futures after shutdown");
}

void ProcessPoolCore::submit(ProcessCall call) {
  if (timeline_) {
    call.timeline_ids.reserve(call.size());
    for (std::size_t i = 0; i < call.size(); ++i)
      call.timeline_ids.push_back(timeline_->on_submit());
  }
  bool notify = false;
  {
    MutexLock lock(mutex_);
    if (!broken_.empty() && !forced_) throw BrokenProcessPool(broken_);
    if (shutdown_) throw std::runtime_error("cannot schedule new futures after shutdown");
    pending_.push_back(std::move(call));
    notify = !std::exchange(wake_pending_, true);
  }
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
  if (wait && !on_manager_thread()) {
    std::lock_guard join_lock(join_mutex_);
    if (manager_.joinable()) manager_.join();
  }
}

void ProcessPoolCore::release_thread() {
  std::lock_guard join_lock(join_mutex_);
  if (!manager_.joinable()) return;
  if (on_manager_thread()) {
    manager_.detach();  // it holds its own reference to the core until it returns
  } else {
    manager_.join();
  }
}

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

void ProcessPoolCore::manager_main() noexcept {
  manager_id_.store(std::this_thread::get_id());
  try {
    run_loop();
  } catch (const std::exception& e) {
    break_pool(std::string("the process pool's management thread failed: ") + e.what(), false);
  } catch (...) {
    break_pool("the process pool's management thread failed", false);
  }
  kill_and_reap_all();
  if (fork_server_) fork_server_->stop();
  // wakeup_ stays open until the core is destroyed: shutdown() may still write to it.
  MutexLock lock(mutex_);
  finished_ = true;
}

void ProcessPoolCore::run_loop() {
  std::vector<pollfd> fds;
  for (;;) {
    // Control: new work, shutdown.
    bool shutting_down;
    {
      MutexLock lock(mutex_);
      wake_pending_ = false;
      shutting_down = shutdown_;
      if (!broken_.empty()) return;
    }
    dispatch();
    // Checked after dispatch(): it may just have dropped the last pending calls (cancelled
    // ones), and nothing would wake this thread to look again.
    if (shutting_down && in_flight_calls_ == 0) {
      MutexLock lock(mutex_);
      stopping_ = pending_.empty();
    }
    if (stopping_) {
      for (auto& w : workers_) send_stop(*w);
      if (workers_.empty()) return;
    }

    // Wait for a result, a wake-up or a death.
    fds.clear();
    fds.push_back({wakeup_.get(), POLLIN, 0});
    std::optional<std::chrono::steady_clock::time_point> deadline;
    for (auto& w : workers_) {
      short events = 0;
      if (!w->channel_closed) {
        events = POLLIN;
        if (w->out_sent < w->out.size()) events |= POLLOUT;
      }
      fds.push_back({w->channel_closed ? -1 : w->channel.get(), events, 0});
      fds.push_back({w->pidfd.get(), POLLIN, 0});
      if (w->linger_deadline && (!deadline || *w->linger_deadline < *deadline)) {
        deadline = w->linger_deadline;
      }
    }
    int timeout = -1;
    if (deadline) {
      const auto left = *deadline - std::chrono::steady_clock::now();
      timeout = static_cast<int>(
          std::max<std::int64_t>(0, std::chrono::ceil<std::chrono::milliseconds>(left).count()));
    }
    int n = 0;
    if (timeout != 0 && worth_spinning()) {
      const auto start = std::chrono::steady_clock::now();
      do {
        n = ::poll(fds.data(), fds.size(), 0);
        if (n != 0) break;
        ::sched_yield();
      } while (std::chrono::steady_clock::now() - start < kSpinForResult);
    }
    if (n == 0) n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    if (fds[0].revents & POLLIN) {
      std::uint64_t count;
      while (::read(wakeup_.get(), &count, sizeof count) > 0) {
      }
    }
    // Results first, then deaths: a worker's last results arrive before it is reaped.
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      WorkerProcess& w = *workers_[i];
      const pollfd& channel = fds[1 + 2 * i];
      if (channel.revents & POLLOUT) flush_out(w);
      if (channel.revents & (POLLIN | POLLHUP | POLLERR)) read_channel(w);
      if (fds[2 + 2 * i].revents & POLLIN) w.exited = true;
      {
        MutexLock lock(mutex_);
        if (!broken_.empty()) return;
      }
    }
    const auto now = std::chrono::steady_clock::now();
    for (std::size_t i = workers_.size(); i-- > 0;) {
      WorkerProcess& w = *workers_[i];
      if (!w.exited && w.linger_deadline && now >= *w.linger_deadline) {
        (void)pidfd_send_signal(w.pidfd.get(), SIGKILL);
        w.linger_deadline.reset();
      }
      if (w.exited) {
        handle_exit(i);
        MutexLock lock(mutex_);
        if (!broken_.empty()) return;
      }
    }
  }
}

bool ProcessPoolCore::worth_spinning() const {
  if (in_flight_calls_ == 0 || kSpinForResult.count() == 0) return false;
  std::size_t busy = 0;
  for (const auto& w : workers_) {
    if (w->in_flight.empty()) continue;
    if (!w->last_call || *w->last_call >= kSpinForResult) return false;
    ++busy;
  }
  return busy + 1 <= cpus_;
}

void ProcessPoolCore::dispatch() {
  const auto now = std::chrono::steady_clock::now();
  while (in_flight_calls_ < max_workers_ + kExtraQueuedCalls) {
    WorkerProcess* best = nullptr;
    for (auto& w : workers_) {
      if (w->channel_closed || w->exited || w->stop_sent || w->retiring(max_tasks_) ||
          !w->takes_another(now)) {
        continue;
      }
      if (best == nullptr || w->in_flight.size() < best->in_flight.size()) best = w.get();
    }
    if (best == nullptr || !dispatch_one(*best)) return;
  }
}

bool ProcessPoolCore::dispatch_one(WorkerProcess& w) {
  std::unique_ptr<ProcessCall> call;
  {
    MutexLock lock(mutex_);
    if (pending_.empty()) return false;
    call = std::make_unique<ProcessCall>(std::move(pending_.front()));
    pending_.pop_front();
  }
  InFlight flight;
  flight.seq = next_seq_++;
  // From here on the items are RUNNING: cancel() can no longer stop them.
  for (std::size_t i = 0; i < call->size(); ++i) {
    if (call->sink->start(i)) flight.indices.push_back(static_cast<std::uint32_t>(i));
  }
  if (flight.indices.empty()) return true;  // all cancelled
  const std::size_t start = wire::begin_frame(w.out, wire::MessageType::call);
  wire::Writer writer(w.out);
  writer.u64(flight.seq);
  writer.str(call->entry_key);
  writer.str(call->fn_bytes);
  writer.u32(static_cast<std::uint32_t>(flight.indices.size()));
  for (std::uint32_t i : flight.indices) {
    writer.u32(i);
    writer.str(call->item_args(i));
  }
  wire::end_frame(w.out, start);
  // The arguments now live in the frame; keep only what the results need.
  call->args = std::string();
  call->fn_bytes = std::string();
  flight.call = std::move(call);
  if (w.in_flight.empty()) w.front_since = std::chrono::steady_clock::now();
  w.in_flight.push_back(std::move(flight));
  ++w.calls_sent;
  ++in_flight_calls_;
  flush_out(w);
  return true;
}

void ProcessPoolCore::flush_out(WorkerProcess& w) {
  while (w.out_sent < w.out.size() && !w.channel_closed) {
    const ssize_t n = ::send(w.channel.get(), w.out.data() + w.out_sent, w.out.size() - w.out_sent,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      w.out_sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      // The worker is gone (EPIPE, ECONNRESET): its pidfd will say how.
      w.channel_closed = true;
      w.linger_deadline = std::chrono::steady_clock::now() + kLingerLimit;
    }
  }
  if (w.out_sent == w.out.size()) {
    w.out.clear();
    w.out_sent = 0;
  } else if (w.out_sent > (1u << 20) && w.out_sent > w.out.size() / 2) {
    w.out.erase(0, w.out_sent);
    w.out_sent = 0;
  }
}

void ProcessPoolCore::read_channel(WorkerProcess& w) {
  for (;;) {
    char* buffer = w.in.prepare(kReadChunk);
    const ssize_t n = ::recv(w.channel.get(), buffer, kReadChunk, MSG_DONTWAIT);
    if (n > 0) {
      w.in.commit(static_cast<std::size_t>(n));
      wire::MessageType type;
      std::string_view payload;
      try {
        while (w.in.next(type, payload)) {
          handle_frame(w, type, payload);
          MutexLock lock(mutex_);
          if (!broken_.empty()) return;
        }
      } catch (const wire::WireError& e) {
        (void)pidfd_send_signal(w.pidfd.get(), SIGKILL);
        break_pool("worker process " + std::to_string(w.pid) +
                       " sent a message the pool cannot read (" + e.what() + ")",
                   false);
        return;
      }
      if (static_cast<std::size_t>(n) < kReadChunk) return;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      // End of file or a reset: the worker is exiting; its pidfd tells how.
      w.channel_closed = true;
      if (!w.exited) w.linger_deadline = std::chrono::steady_clock::now() + kLingerLimit;
      return;
    }
  }
}

void ProcessPoolCore::handle_frame(WorkerProcess& w, wire::MessageType type,
                                   std::string_view payload) {
  switch (type) {
    case wire::MessageType::ready:
      (void)wire::decode_ready(payload);
      return;
    case wire::MessageType::refused:
    case wire::MessageType::init_failed:
      w.note = std::string(wire::decode_text(payload));
      return;
    case wire::MessageType::result:
      break;
    default:
      throw wire::WireError("a worker sent a message of type " +
                            std::to_string(static_cast<int>(type)));
  }
  const wire::ResultMessage r = wire::decode_result(payload);
  if (w.in_flight.empty()) throw wire::WireError("a result for no call");
  InFlight& flight = w.in_flight.front();
  if (r.seq != flight.seq || flight.received >= flight.indices.size() ||
      r.index != flight.indices[flight.received]) {
    throw wire::WireError("a result that does not match the call it should answer");
  }
  if (flight.received == 0) flight.started_ns = r.started_ns;
  ++flight.received;
  ProcessCall& call = *flight.call;
  if (timeline_ && r.index < call.timeline_ids.size()) {
    using Clock = std::chrono::steady_clock;
    timeline_->on_run(call.timeline_ids[r.index], "pid " + std::to_string(w.pid),
                      Clock::time_point(std::chrono::nanoseconds(r.started_ns)),
                      Clock::time_point(std::chrono::nanoseconds(r.finished_ns)));
  }
  // Runs done-callbacks on this thread.
  if (r.status == wire::ResultStatus::value) {
    call.sink->deliver(r.index, r.value);
  } else {
    call.sink->fail(r.index, rebuild_exception(r.kind, r.type_name, r.message));
  }
  if (flight.received == flight.indices.size()) {
    w.last_call = std::chrono::nanoseconds(r.finished_ns - flight.started_ns);
    // The next call began no later than now. (Not at r.finished_ns: when this thread
    // reads results late, that would make short calls look long and stop batching
    // exactly when the pool is busiest.)
    w.front_since = std::chrono::steady_clock::now();
    w.in_flight.pop_front();
    --in_flight_calls_;
  }
}

ExitStatus ProcessPoolCore::reap(WorkerProcess& w) {
  if (w.reaped) return w.status;
  w.reaped = true;
  w.status = reap_now(w);
  return w.status;
}

ExitStatus ProcessPoolCore::reap_now(WorkerProcess& w) {
  if (start_method_ == StartMethod::forkserver) {
    if (fork_server_) {
      if (std::optional<int> status = fork_server_->wait_worker(w.pid)) {
        return from_wait_status(*status);
      }
    }
    return {};
  }
  siginfo_t info{};
  int r;
  do {
    r = ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(w.pidfd.get()), &info, WEXITED);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return {};
  ExitStatus s;
  s.known = true;
  s.signaled = info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED;
  s.code = info.si_status;
  return s;
}

void ProcessPoolCore::remove_worker(std::size_t index) {
  WorkerProcess& w = *workers_[index];
  {
    MutexLock lock(mutex_);
    std::erase_if(live_, [&](const auto& e) { return e.first == w.pid; });
  }
  workers_.erase(workers_.begin() + static_cast<std::ptrdiff_t>(index));
}

void ProcessPoolCore::send_stop(WorkerProcess& w) {
  if (w.stop_sent || w.channel_closed) return;
  w.stop_sent = true;
  const std::size_t start = wire::begin_frame(w.out, wire::MessageType::stop);
  wire::end_frame(w.out, start);
  flush_out(w);
}

void ProcessPoolCore::handle_exit(std::size_t index) {
  WorkerProcess& w = *workers_[index];
  // Whatever it sent before it died. Also when a send to it already failed: a worker
  // whose initializer threw says why and exits while the calls sent to it sit unread,
  // so the send fails (EPIPE) but its message is still there to read.
  read_channel(w);
  {
    MutexLock lock(mutex_);
    if (!broken_.empty()) return;
  }
  const ExitStatus status = reap(w);
  const bool clean = status.known && !status.signaled && status.code == 0 && w.in_flight.empty();
  const bool expected = clean && (w.stop_sent || w.retiring(max_tasks_));
  bool forced;
  {
    MutexLock lock(mutex_);
    forced = forced_;
  }
  if (!expected || forced) {
    std::string reason;
    if (forced) {
      reason = "the pool's workers were stopped by terminate_workers() or kill_workers() (" +
               describe_exit(w.pid, status) + ")";
    } else if (!w.note.empty()) {
      reason = w.note;
    } else {
      reason = describe_exit(w.pid, status);
      if (clean) reason += " unexpectedly";
    }
    break_pool(reason, forced);
    return;
  }
  const bool replace = w.retiring(max_tasks_) && !w.stop_sent;
  remove_worker(index);
  if (replace) {
    bool needed;
    {
      MutexLock lock(mutex_);
      needed = !shutdown_ || !pending_.empty() || in_flight_calls_ > 0;
    }
    if (needed) start_worker();
  }
}

void ProcessPoolCore::break_pool(const std::string& reason, bool forced) {
  const std::string message =
      forced ? reason + "; the call could not finish" : reason + kBrokenAdvice;
  std::deque<ProcessCall> pending;
  {
    MutexLock lock(mutex_);
    if (!broken_.empty()) return;
    broken_ = message;
    forced_ = forced_ || forced;
    pending.swap(pending_);
  }
  std::vector<std::unique_ptr<ProcessCall>> running;
  for (auto& w : workers_) {
    for (InFlight& flight : w->in_flight) running.push_back(std::move(flight.call));
    w->in_flight.clear();
  }
  in_flight_calls_ = 0;
  // Stop every worker before failing the futures, so that none still runs a call whose
  // future has already failed. (Failing a finished item is a no-op.)
  kill_and_reap_all();
  auto fail = [&](ProcessCall& call, std::size_t i) {
    call.sink->fail(i, std::make_exception_ptr(BrokenProcessPool(message)));
  };
  for (auto& call : running) {
    for (std::size_t i = 0; i < call->size(); ++i) fail(*call, i);
  }
  for (ProcessCall& call : pending) {
    for (std::size_t i = 0; i < call.size(); ++i) fail(call, i);
  }
}

void ProcessPoolCore::kill_and_reap_all() {
  for (auto& w : workers_) {
    if (!w->exited) (void)pidfd_send_signal(w->pidfd.get(), SIGKILL);
  }
  while (!workers_.empty()) {
    WorkerProcess& w = *workers_.back();
    (void)reap(w);
    {
      MutexLock lock(mutex_);
      std::erase_if(live_, [&](const auto& e) { return e.first == w.pid; });
    }
    // The in-flight calls stay with their promises until break_pool fails them.
    for (InFlight& flight : w.in_flight) {
      for (std::size_t i = flight.received; i < flight.indices.size(); ++i) {
        flight.call->sink->fail(
            flight.indices[i],
            std::make_exception_ptr(BrokenProcessPool("the worker running this call was stopped")));
      }
    }
    workers_.pop_back();
  }
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
