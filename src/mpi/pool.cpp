// MPIPoolExecutor's rank-0 side: the management thread that owns the pool's MPI calls.
//
//  user threads          |            management thread             |   worker ranks
//  submit(fn, args)      |                                          |
//    serialize args      |   dispatch: set_running_or_notify_       |
//    pending_ (lock) ────┼─► cancel(), encode a call frame, Isend ──┼──► run_call
//    notify cv_          |   to the least busy worker               |    (process/worker)
//  Future::result() ◄────┼── Improbe/Mrecv results, decode, deliver ◄┼─── results
//                        |   wait: mpi/wait.hpp (spin, then naps on  |
//                        |   cv_, which a submit interrupts)         |
//
// - The process pool's format and rules: a call leaves pending_ (and becomes RUNNING,
//   uncancellable) only when it is sent; an idle worker takes the next call, a busy one
//   is given more (up to kMpiCallWindow's max_calls_per_worker) only while its calls are
//   short (kShortCall, measured by the worker and sent back with each result). Both pools track a
//   worker's calls, and dispatch by them, with process/worker_calls.hpp.
// - Every message is whole frames; MPI keeps the messages of one sender in order, so a
//   worker reads its configuration before its first call and the pool reads a worker's
//   results in the order they were made.
// - With no call in flight and no answer awaited the thread sleeps on cv_ without
//   polling MPI at all, once the spin window after the last message has passed.
// - Done-callbacks run on this thread; they may submit (that only takes the lock).

#include <fmt/format.h>
#include <mpi.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "concurrent/futures/detail/mutex.hpp"
#include "concurrent/futures/errors.hpp"
#include "concurrent/futures/mpi_pool.hpp"
#include "mpi/frames.hpp"
#include "mpi/runtime.hpp"
#include "mpi/sends.hpp"
#include "mpi/wait.hpp"
#include "process/image.hpp"
#include "process/manager_thread.hpp"
#include "process/wire.hpp"
#include "process/worker_calls.hpp"

namespace concurrent::futures {
namespace detail {

namespace {

// Messages read per round before the thread dispatches again.
constexpr int kMessagesPerRound = 64;

const char* const kBrokenAdvice =
    "; the MPI pool is broken (calls that were pending or running failed, and it accepts no "
    "more work): create a new MPIPoolExecutor";

// A worker rank as the management thread tracks it (its calls: WorkerCalls).
struct WorkerRank : WorkerCalls {
  int rank = 0;
  bool ready = false;
};

}  // namespace

class MPIPoolCore : public std::enable_shared_from_this<MPIPoolCore> {
 public:
  explicit MPIPoolCore(const MPIPoolOptions& options);
  ~MPIPoolCore();
  MPIPoolCore(const MPIPoolCore&) = delete;
  MPIPoolCore& operator=(const MPIPoolCore&) = delete;

  void start();
  void check_open() CONCURRENT_FUTURES_EXCLUDES(mutex_);
  void submit(ProcessCall call) CONCURRENT_FUTURES_EXCLUDES(mutex_);
  void shutdown(bool wait, bool cancel_futures) CONCURRENT_FUTURES_EXCLUDES(mutex_);
  void release_thread();
  std::size_t max_workers() const { return set_.ranks.size(); }

 private:
  void manager_main() noexcept;
  void run_loop();
  void dispatch();
  bool dispatch_one(WorkerRank& w);
  void send(int rank);  // sends_.next()
  bool poll_messages();
  void handle_message(WorkerRank& w, std::string_view message);
  void handle_frame(WorkerRank& w, wire::MessageType type, std::string_view payload);
  void stop_workers();
  void break_pool(const std::string& reason) CONCURRENT_FUTURES_EXCLUDES(mutex_);
  bool broken() const CONCURRENT_FUTURES_EXCLUDES(mutex_);

  mpi::WorkerSet set_;
  std::string config_frame_;

  // Management thread only.
  std::deque<WorkerRank> workers_;           // a deque: WorkerRank is not copyable
  std::vector<std::size_t> worker_of_rank_;  // rank in set_.comm -> index in workers_
  mpi::Sends sends_;
  std::string incoming_;
  std::uint64_t next_seq_ = 1;
  std::size_t in_flight_calls_ = 0;
  std::size_t unready_ = 0;  // workers that have not answered the configuration

  ManagerThread manager_;

  mutable Mutex mutex_;
  std::condition_variable cv_;
  std::deque<ProcessCall> pending_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
  bool wake_pending_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = false;
  bool shutdown_ CONCURRENT_FUTURES_GUARDED_BY(mutex_) = false;
  std::string broken_ CONCURRENT_FUTURES_GUARDED_BY(mutex_);
};

// ---- Pools alive, for the runtime's exit ------------------------------------------------

namespace {

struct LivePools {
  std::mutex mutex;
  std::vector<std::weak_ptr<MPIPoolCore>> pools;
};

LivePools& live_pools() {
  static auto* pools = new LivePools();  // never destroyed: used until the process ends
  return *pools;
}

}  // namespace

void mpi::shutdown_live_pools() noexcept {
  std::vector<std::shared_ptr<MPIPoolCore>> alive;
  {
    LivePools& live = live_pools();
    std::lock_guard lock(live.mutex);
    for (auto& weak : live.pools) {
      if (auto pool = weak.lock()) alive.push_back(std::move(pool));
    }
    live.pools.clear();
  }
  for (auto& pool : alive) {
    pool->shutdown(true, false);
    pool->release_thread();
  }
}

// ---- MPIPoolCore ------------------------------------------------------------------------

MPIPoolCore::MPIPoolCore(const MPIPoolOptions& options)
    : set_(mpi::claim_workers(options.max_workers)) {
  wire::ConfigMessage config;
  config.build_id = executable_build_id();
  config.has_init = static_cast<bool>(options.initializer);
  if (config.has_init) {
    config.init_key = options.initializer.entry_key();
    config.init_fn = options.initializer.fn_bytes();
    config.init_args = options.initializer.args();
  }
  wire::encode_config(config_frame_, config);
  int highest = 0;
  for (int rank : set_.ranks) highest = std::max(highest, rank);
  worker_of_rank_.assign(static_cast<std::size_t>(highest) + 1, 0);
  for (int rank : set_.ranks) {
    worker_of_rank_[static_cast<std::size_t>(rank)] = workers_.size();
    workers_.emplace_back().rank = rank;
  }
  unready_ = workers_.size();
}

MPIPoolCore::~MPIPoolCore() = default;

void MPIPoolCore::start() {
  {
    LivePools& live = live_pools();
    std::lock_guard lock(live.mutex);
    std::erase_if(live.pools, [](const auto& weak) { return weak.expired(); });
    live.pools.push_back(weak_from_this());
  }
  manager_.start([self = shared_from_this()] { self->manager_main(); });
}

void MPIPoolCore::check_open() {
  MutexLock lock(mutex_);
  if (!broken_.empty()) throw BrokenExecutor(broken_);
  if (shutdown_) throw std::runtime_error("cannot schedule new futures after shutdown");
}

void MPIPoolCore::submit(ProcessCall call) {
  {
    MutexLock lock(mutex_);
    if (!broken_.empty()) throw BrokenExecutor(broken_);
    if (shutdown_) throw std::runtime_error("cannot schedule new futures after shutdown");
    pending_.push_back(std::move(call));
    if (std::exchange(wake_pending_, true)) return;
  }
  cv_.notify_one();
}

void MPIPoolCore::shutdown(bool wait, bool cancel_futures) {
  std::deque<ProcessCall> cancelled;
  {
    MutexLock lock(mutex_);
    shutdown_ = true;
    wake_pending_ = true;
    if (cancel_futures) cancelled.swap(pending_);
  }
  cv_.notify_one();
  // Cancelling runs done-callbacks: outside the lock.
  for (ProcessCall& call : cancelled) {
    for (std::size_t i = 0; i < call.size(); ++i) call.sink->cancel(i);
  }
  cancelled.clear();
  if (wait) manager_.join();
}

void MPIPoolCore::release_thread() { manager_.release(); }

bool MPIPoolCore::broken() const {
  MutexLock lock(mutex_);
  return !broken_.empty();
}

void MPIPoolCore::manager_main() noexcept {
  mpi::use_fine_timer_slack();
  try {
    for (const WorkerRank& w : workers_) {
      sends_.next() = config_frame_;
      send(w.rank);
    }
    run_loop();
  } catch (const std::exception& e) {
    break_pool(std::string("the MPI pool's management thread failed: ") + e.what());
  } catch (...) {
    break_pool("the MPI pool's management thread failed");
  }
  try {
    stop_workers();
  } catch (...) {
    // MPI_ERRORS_ARE_FATAL: an MPI failure here has already ended the job.
  }
  mpi::release_workers(set_);
}

void MPIPoolCore::run_loop() {
  mpi::Backoff backoff;
  for (;;) {
    bool shutting_down;
    {
      MutexLock lock(mutex_);
      wake_pending_ = false;
      shutting_down = shutdown_;
      if (!broken_.empty()) return;
    }
    dispatch();
    bool activity = sends_.progress();
    activity = poll_messages() || activity;
    if (broken()) return;
    if (shutting_down && in_flight_calls_ == 0) {
      MutexLock lock(mutex_);
      if (pending_.empty()) return;
    }
    if (activity) {
      backoff.reset();
      continue;
    }
    // Within the spin window after a message this thread polls on, also when nothing is
    // in flight: a user who submits the next call as soon as a result arrives finds it
    // awake. After that it naps while answers are awaited, and sleeps until a submit
    // when none are.
    const bool awaiting = in_flight_calls_ > 0 || unready_ > 0 || !sends_.empty();
    const std::chrono::microseconds pause = backoff.next_pause();
    if (pause.count() == 0) {
      ::sched_yield();
      continue;
    }
    MutexLock lock(mutex_);
    if (wake_pending_ || !broken_.empty()) continue;
    if (!awaiting) {
      lock.wait(cv_);
      backoff.reset();
    } else {
      (void)lock.wait_until(cv_, std::chrono::steady_clock::now() + pause);
    }
  }
}

void MPIPoolCore::dispatch() {
  const auto now = std::chrono::steady_clock::now();
  while (in_flight_calls_ < workers_.size() + kMpiCallWindow.extra_queued_calls) {
    WorkerRank* best = nullptr;
    for (WorkerRank& w : workers_) {
      if (!w.takes_another(now, kMpiCallWindow)) continue;
      if (best == nullptr || w.in_flight.size() < best->in_flight.size()) best = &w;
    }
    if (best == nullptr || !dispatch_one(*best)) return;
  }
}

bool MPIPoolCore::dispatch_one(WorkerRank& w) {
  std::unique_ptr<ProcessCall> call;
  {
    MutexLock lock(mutex_);
    if (pending_.empty()) return false;
    call = std::make_unique<ProcessCall>(std::move(pending_.front()));
    pending_.pop_front();
  }
  InFlight flight;
  flight.seq = next_seq_++;
  start_items(flight, *call);
  if (flight.indices.empty()) return true;  // all cancelled
  std::string& frame = sends_.next();
  encode_call_frame(frame, flight.seq, *call, flight.indices);
  call->args = std::string();
  call->fn_bytes = std::string();
  flight.call = std::move(call);
  w.add(std::move(flight));
  ++in_flight_calls_;
  send(w.rank);
  return true;
}

void MPIPoolCore::send(int rank) { sends_.start(rank, set_.tag, set_.comm); }

bool MPIPoolCore::poll_messages() {
  bool any = false;
  for (int n = 0; n < kMessagesPerRound; ++n) {
    int found = 0;
    MPI_Message message;
    MPI_Status status;
    MPI_Improbe(MPI_ANY_SOURCE, set_.tag, set_.comm, &found, &message, &status);
    if (found == 0) break;
    any = true;
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    incoming_.resize(static_cast<std::size_t>(count));
    MPI_Mrecv(incoming_.data(), count, MPI_BYTE, &message, MPI_STATUS_IGNORE);
    const auto source = static_cast<std::size_t>(status.MPI_SOURCE);
    if (source >= worker_of_rank_.size() ||
        workers_[worker_of_rank_[source]].rank != status.MPI_SOURCE) {
      break_pool(fmt::format("rank {}, which is not a worker of this pool, sent it a message",
                             status.MPI_SOURCE));
      return true;
    }
    WorkerRank& w = workers_[worker_of_rank_[source]];
    try {
      handle_message(w, incoming_);
    } catch (const wire::WireError& e) {
      break_pool(
          fmt::format("worker rank {} sent a message the pool cannot read ({})", w.rank, e.what()));
    }
    if (broken()) return true;
  }
  return any;
}

void MPIPoolCore::handle_message(WorkerRank& w, std::string_view message) {
  while (!message.empty()) {
    std::string_view payload;
    const wire::MessageType type = mpi::take_frame(message, payload);
    handle_frame(w, type, payload);
    if (broken()) return;
  }
}

void MPIPoolCore::handle_frame(WorkerRank& w, wire::MessageType type, std::string_view payload) {
  switch (type) {
    case wire::MessageType::ready:
      wire::decode_ready(payload);
      if (!w.ready) {
        w.ready = true;
        --unready_;
      }
      return;
    case wire::MessageType::refused:
    case wire::MessageType::init_failed:
      break_pool(fmt::format("worker rank {}: {}", w.rank, wire::decode_text(payload)));
      return;
    case wire::MessageType::result:
      break;
    default:
      throw wire::WireError(
          fmt::format("a worker sent a message of type {}", static_cast<int>(type)));
  }
  w.finish_answered(wire::read_result(payload));  // runs done-callbacks on this thread
  --in_flight_calls_;
}

void MPIPoolCore::stop_workers() {
  for (const WorkerRank& w : workers_) {
    wire::encode_stop(sends_.next());
    send(w.rank);
  }
  // Every send must complete before the ranks go back to the runtime (or the spawned
  // workers are disconnected).
  sends_.complete(0);
}

void MPIPoolCore::break_pool(const std::string& reason) {
  const std::string message = reason + kBrokenAdvice;
  std::deque<ProcessCall> pending;
  {
    MutexLock lock(mutex_);
    if (!broken_.empty()) return;
    broken_ = message;
    pending.swap(pending_);
  }
  auto fail = [&](ProcessCall& call, std::size_t i) {
    call.sink->fail(i, std::make_exception_ptr(BrokenExecutor(message)));
  };
  for (WorkerRank& w : workers_) {
    for (InFlight& flight : w.in_flight) {
      for (std::size_t i = 0; i < flight.call->size(); ++i) fail(*flight.call, i);
    }
    w.in_flight.clear();
  }
  in_flight_calls_ = 0;
  for (ProcessCall& call : pending) {
    for (std::size_t i = 0; i < call.size(); ++i) fail(call, i);
  }
}

void process_pool_check_open(MPIPoolCore& core) { core.check_open(); }

void process_pool_submit(MPIPoolCore& core, ProcessCall call) { core.submit(std::move(call)); }

}  // namespace detail

// ---- MPIPoolExecutor ---------------------------------------------------------------------

// By value, as the other executors' constructors (the API's signature).
MPIPoolExecutor::MPIPoolExecutor(
    MPIPoolOptions options)  // NOLINT(performance-unnecessary-value-param)
    : core_(std::make_shared<detail::MPIPoolCore>(options)) {
  core_->start();
}

MPIPoolExecutor::~MPIPoolExecutor() {
  core_->shutdown(true, false);
  core_->release_thread();
}

void MPIPoolExecutor::shutdown(bool wait, bool cancel_futures) {
  core_->shutdown(wait, cancel_futures);
}

std::size_t MPIPoolExecutor::max_workers() const noexcept { return core_->max_workers(); }

}  // namespace concurrent::futures
