// ThreadPoolExecutor's compiled core: the work queue, the workers and shutdown.
//
// Idle-worker bookkeeping. Three counts, all under the pool's mutex, decide what a submit
// does. `idle_workers_` counts workers that hold no call: sleeping on the condition
// variable, or awake and about to look at the queue (a worker counts itself idle once its
// call has returned, before it completes the future, so that a reader woken by result()
// who submits again at once reuses it: CPython's test_idle_thread_reuse). `sleeping_`
// counts the idle ones blocked on the condition variable; the others will see the queue
// without being woken. `wake_pending_` says a wake-up is on its way and not yet taken.
// A submit starts a thread only while the idle workers cannot cover the queue, and wakes
// a sleeper only if no wake-up is pending and the awake idle workers cannot cover the
// queue. A woken worker clears `wake_pending_`, takes a call and, if calls remain that
// nobody awake will take, wakes the next sleeper itself. So at most one wake-up is in
// flight, the submitting thread pays for at most one futex wake per burst, and a burst
// ramps the workers up one by one. (Signalling a sleeper on every submit an idle worker
// could cover made a pool with more workers than CPUs slow: each signal cost the
// submitter a futex call and, more often than not, its CPU to the woken worker.)
// No wake-up is lost: a worker counts itself sleeping under the mutex that the condition
// variable releases, and every submit or take that leaves calls nobody awake will take,
// while a worker sleeps and no wake-up is pending, wakes one.
//
// Submitting without the mutex. A submit pushes its call onto a lock-free stack
// (src/submitted_calls.hpp) that whoever holds the mutex drains into the queue before
// looking at it. It then takes the mutex only if `submit_must_lock_` says the pool may
// need it: a worker may have to be started (fewer than max_workers run), a sleeper woken
// (one sleeps and no wake-up is pending) or a blocked helper poked (one is listed).
// Otherwise every worker is awake, or about to be woken, and each looks at the queue
// again before it sleeps, so the call is taken without the submitter doing anything more.
// No call is stranded: a worker about to sleep counts itself sleeping, which sets the
// flag, and only then drains the stack a last time (a helper lists itself before it looks,
// likewise). The flag's store and the stack's drain on that side, and the push and the
// flag's load on the submitter's, are sequentially consistent, so (as in Dekker's mutual
// exclusion) either the last drain sees the call or the submit sees the flag and wakes the
// sleeper under the mutex. On a 2-CPU machine this made submit+result 1.9x faster at one
// worker: with a busy worker the submitter had spent a third of its time blocked on the
// mutex or handing it over. A pool with a Timeline takes the mutex on every submit, so
// that the timeline's ids follow the queue's order.
//
// Helping. Every worker installs a WaitHelper (src/waiter.hpp) for its thread, so
// that result(), exception(), wait() and as_completed() called inside one of its calls
// do not just block: until the awaited futures are done, the worker takes this pool's
// most recently queued call (in fork-join code, what the waiting call just submitted) and
// runs it nested on its stack, then looks again. It runs no other pool's calls, and
// helps only while one of the awaited futures may be finished by a call of its own pool:
// one of its calls, or a future whose completer is unknown (a Promise's, a coroutine's),
// which one of its queued calls may complete. The futures carry their pool's tag, and
// the Waiter counts those unfinished. Waiting only on futures no call of its own can
// finish (another pool's, a process pool's) it blocks plainly, passing on a wake-up it
// was poked with. With nothing queued it blocks on its Waiter, listed in `helpers_`: a
// submit that finds no sleeper to wake pokes a listed helper instead (under the pool's
// mutex, which the helper also holds to unlist itself, so a poked Waiter is alive). A
// worker that helps stays busy for the bookkeeping above: nested calls report to a
// Helper whose call_returned() counts nothing, and it is never counted idle or sleeping.
// Nesting is bounded (kMaxHelpDepth): past it, a wait blocks plainly. So a 1-worker pool
// whose call submits and waits for another call completes, and recursive fork-join keeps
// every worker running calls instead of blocking.
//
// Which calls a helper may take. Every call has a depth (FutureCoreBase::call_depth()):
// 0 if submitted from outside the pool's calls, one more than the submitting call's if
// submitted from inside one. A wait whose awaited own-pool futures are all calls deeper
// than the waiting call (fork-join: it waits for what it submitted) takes only calls
// deeper than the waiting call. Then every "cannot finish before" relation points to a
// deeper call: a waiting call needs deeper calls, and a call with others run nested above
// it on its stack needs those, deeper too. A cycle of them, which a deadlock is, cannot
// exist, and a stack nests no more calls than the call tree is deep. (Taking any call
// let two workers waiting on each other's calls nest each other's subtrees ever deeper,
// until both reached kMaxHelpDepth and blocked plainly, each under calls the other
// needed: fib(18) with nested submits on 2 workers did so.) A wait on anything else
// (an earlier sibling's future, a Promise's) takes any call, as such waits may need.
// Blocked helpers are listed with the depth they take: a submit pokes only one that may
// take a queued call, and a helper that takes a call passes the wake-up on, as a worker
// does, when calls remain that nobody awake will take.

#include "concurrent/futures/thread_pool.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "call_deadlines.hpp"
#include "call_timeout.hpp"
#include "concurrent/futures/errors.hpp"
#include "concurrent/futures/timeline.hpp"
#include "thread_pool_core.hpp"
#include "waiter.hpp"

namespace concurrent::futures {

namespace {

// How deep calls may nest on one worker's stack while it helps. Larger: deeper recursion
// keeps every worker running calls; smaller: less stack per worker (a level holds the
// frames of one call and one wait, about a kilobyte). Past it, a wait blocks plainly, and
// if every worker gets there waiting on the others the pool deadlocks. Fork-join nests
// no deeper than its recursion (see "Which calls a helper may take"); 1024 levels fit
// an 8 MiB thread stack with a wide margin.
constexpr int kMaxHelpDepth = 1024;

// Tags for FutureCoreBase::pool_tag(), never one of the two that name no pool.
// (Wrapping past 2^32 pools could only make a wait on a long-gone pool's future run
// calls while it waits.)
std::uint32_t next_pool_tag() {
  static std::atomic<std::uint32_t> pools{0};
  std::uint32_t tag = detail::kUnknownCompleter;
  while (tag == detail::kUnknownCompleter || tag == detail::kOutOfProcessCompleter) {
    tag = pools.fetch_add(1, std::memory_order_relaxed);
  }
  return tag;
}

// The OS name of a pool thread: the kernel keeps 15 characters, so shorten the prefix,
// not the suffix that tells the pool's threads apart.
std::string os_thread_name(const std::string& prefix, const std::string& suffix) {
  return (prefix.substr(0, 15 - std::min<std::size_t>(15, suffix.size())) + suffix).substr(0, 15);
}

std::string default_prefix() {
  static std::atomic<unsigned> pools{0};
  return fmt::format("ThreadPool-{}", pools.fetch_add(1, std::memory_order_relaxed));
}

detail::ThreadPoolConfig make_config(ThreadPoolOptions options) {
  // Python's default: min(32, usable cpus + 4).
  const std::size_t default_max_workers = std::min<std::size_t>(32, detail::usable_cpus() + 4);
  return detail::ThreadPoolConfig{
      .max_workers = detail::max_workers_or(options.max_workers, default_max_workers),
      .thread_name_prefix = options.thread_name_prefix.empty()
                                ? default_prefix()
                                : std::move(options.thread_name_prefix),
      .initializer = std::move(options.initializer),
      .timeline = std::move(options.timeline),
  };
}

// The pool whose worker is the current thread, if any: shutdown(true) from a worker
// must not wait for that worker.
thread_local const detail::ThreadPoolCore* current_pool = nullptr;
// The FutureCoreBase::call_depth() of the call the current worker thread is running.
thread_local std::uint16_t current_call_depth = 0;
// Whether the current thread is a worker that already counts itself idle (its call
// returned) while it still completes the future: a submit from a done-callback must
// not count on it.
thread_local bool current_worker_counted_idle = false;

}  // namespace

ThreadPoolExecutor::ThreadPoolExecutor(ThreadPoolOptions options)
    : core_(std::make_shared<detail::ThreadPoolCore>(make_config(std::move(options)))) {}

ThreadPoolExecutor::~ThreadPoolExecutor() {
  core_->shutdown(/*wait=*/true, /*cancel_futures=*/false);
  core_->release_threads();
}

void ThreadPoolExecutor::shutdown(bool wait, bool cancel_futures) {
  core_->shutdown(wait, cancel_futures);
}

std::size_t ThreadPoolExecutor::max_workers() const { return core_->max_workers(); }

namespace detail {

void validate_map_options(const MapOptions& options) {
  if (options.chunksize < 1) {
    throw std::invalid_argument(
        fmt::format("map(): chunksize must be at least 1, got {}", options.chunksize));
  }
  if (options.buffersize && *options.buffersize < 1) {
    throw std::invalid_argument(fmt::format(
        "map(): buffersize must be at least 1 (or unset), got {}", *options.buffersize));
  }
}

void throw_map_timeout() {
  throw TimeoutError(
      "map(): a result was not ready before the timeout; the calls that had not started were "
      "cancelled and the iteration has ended");
}

void thread_pool_submit(ThreadPoolCore& pool, std::shared_ptr<WorkItem> item) {
  pool.submit(std::move(item));
}

void thread_pool_submit(ThreadPoolCore& pool, std::shared_ptr<WorkItem> item,
                        const CallOptions& options) {
  if (!options.timeout) {
    pool.submit(std::move(item));
    return;
  }
  check_call_timeout(options.timeout, "ThreadPoolExecutor::submit()");
  pool.submit_timed(std::move(item), std::chrono::ceil<Clock::duration>(*options.timeout));
}

ThreadPoolCore::ThreadPoolCore(ThreadPoolConfig config)
    : config_(std::move(config)), tag_(next_pool_tag()) {}

ThreadPoolCore::~ThreadPoolCore() {
  // Calls still queued here never had a worker (starting a thread failed); without a
  // Promise to break them, fail them so that no reader waits forever.
  std::deque<std::shared_ptr<WorkItem>> orphans;
  std::shared_ptr<CallDeadlines> deadlines;
  {
    MutexLock lock(mutex_);
    orphans = take_queued_calls_locked();
    deadlines = std::move(deadlines_);
  }
  if (deadlines) deadlines->stop();  // no call runs any more
  for (auto& item : orphans) {
    item->future().try_set_exception(std::make_exception_ptr(
        BrokenPromise("the thread pool was destroyed before it could start a worker for this call; "
                      "check the earlier error from submit()")));
  }
}

void ThreadPoolCore::submit(std::shared_ptr<WorkItem> item) {
  item->future().set_pool_tag(tag_);  // before anyone else can see the future
  if (is_own_worker() && current_call_depth < UINT16_MAX) {
    item->future().set_call_depth(static_cast<std::uint16_t>(current_call_depth + 1));
  }
  // The push fails once the pool is shut down or broken: the locked path then throws.
  if (!config_.timeline && submitted_.push(item)) {
    if (!submit_must_lock_.load(std::memory_order_seq_cst)) return;
    bool wake = false;
    {
      MutexLock lock(mutex_);
      wake = start_or_wake_locked();
    }
    if (wake) work_available_.notify_one();
    return;
  }
  bool wake = false;
  {
    MutexLock lock(mutex_);
    if (broken_) throw BrokenThreadPool(*broken_);
    if (shutdown_) throw std::runtime_error("cannot schedule new futures after shutdown");
    if (config_.timeline) item->timeline_id = config_.timeline->on_submit();
    drain_submitted_locked();  // queued before this call
    queue_.push_back(std::move(item));
    wake = start_or_wake_locked();
  }
  if (wake) work_available_.notify_one();
}

bool ThreadPoolCore::start_or_wake_locked() {
  drain_submitted_locked();
  if (broken_) return false;  // break_pool() failed every queued call
  if (shutdown_) {
    // A call pushed just before shutdown closed submitted_ is queued ahead of the stop
    // markers, for the running workers to take; a pool that never started one needs one
    // (and its stop marker) now.
    if (threads_.empty() && std::any_of(queue_.begin(), queue_.end(),
                                        [](const auto& item) { return item != nullptr; })) {
      threads_.emplace_back([self = shared_from_this()] { self->worker_main(0); });
      queue_.push_back(nullptr);
    }
    return false;
  }
  std::size_t idle = idle_workers_;
  const bool self_idle = idle > 0 && current_worker_counted_idle && is_own_worker();
  if (self_idle) --idle;
  if (idle < queue_.size() && threads_.size() < config_.max_workers) {
    const std::size_t index = threads_.size();
    threads_.emplace_back([self = shared_from_this(), index] { self->worker_main(index); });
    update_submit_path_locked();
  }
  return wake_needed_locked(idle - sleeping_);
}

void ThreadPoolCore::update_submit_path_locked() {
  const bool must_lock = threads_.size() < config_.max_workers ||
                         (sleeping_ > 0 && !wake_pending_) || !helpers_.empty();
  // Stored only when it changes: submitters read the flag's cache line on every call.
  if (submit_must_lock_.load(std::memory_order_relaxed) != must_lock) {
    submit_must_lock_.store(must_lock, std::memory_order_seq_cst);
  }
}

void ThreadPoolCore::submit_timed(std::shared_ptr<WorkItem> call, Clock::duration timeout) {
  std::shared_ptr<CallDeadlines> deadlines;
  {
    MutexLock lock(mutex_);
    if (!deadlines_ && !shutdown_) {
      deadlines_ =
          std::make_shared<CallDeadlines>(os_thread_name(config_.thread_name_prefix, "_timer"));
    }
    deadlines = deadlines_;
  }
  if (deadlines) deadlines->start();  // submit() throws after shutdown
  submit(deadlines ? std::make_shared<TimedCall>(std::move(call), timeout, *deadlines)
                   : std::move(call));
}

bool ThreadPoolCore::wake_needed_locked(std::size_t awake_idle) {
  drain_submitted_locked();
  if (wake_pending_ || queue_.size() <= awake_idle) return false;
  if (sleeping_ > 0) {
    wake_pending_ = true;
    update_submit_path_locked();
    return true;
  }
  for (auto helper = helpers_.rbegin(); helper != helpers_.rend(); ++helper) {
    if (!has_call_deeper_than_locked(helper->takes_deeper_than)) continue;
    wake_pending_ = true;
    helper->waiter->poke();  // under the lock: the helper unlists itself under it too
    helpers_.erase(std::next(helper).base());
    update_submit_path_locked();
    break;
  }
  return false;
}

namespace {

bool is_call_deeper_than(const std::shared_ptr<WorkItem>& item, int deeper_than) {
  return item && item->future().call_depth() > deeper_than;  // null: a stop marker
}

}  // namespace

std::shared_ptr<WorkItem> ThreadPoolCore::take_newest_call_locked(int deeper_than) {
  drain_submitted_locked();
  const auto newest = std::find_if(queue_.rbegin(), queue_.rend(), [&](const auto& item) {
    return is_call_deeper_than(item, deeper_than);
  });
  if (newest == queue_.rend()) return nullptr;
  std::shared_ptr<WorkItem> item = std::move(*newest);
  queue_.erase(std::next(newest).base());
  return item;
}

bool ThreadPoolCore::has_call_deeper_than_locked(int deeper_than) const {
  return std::any_of(queue_.rbegin(), queue_.rend(),
                     [&](const auto& item) { return is_call_deeper_than(item, deeper_than); });
}

// Helping (see the top of this file): the WaitHelper every worker installs for its
// thread, and the hooks of the calls it runs nested inside a wait.
class ThreadPoolCore::Helper final : public WaitHelper, public WorkerHooks {
 public:
  // Installs itself as the calling thread's WaitHelper until destroyed.
  Helper(ThreadPoolCore& pool, const std::string& worker_name)
      : WaitHelper(pool.tag_),
        pool_(pool),
        worker_name_(worker_name),
        previous_(exchange_wait_helper(this)) {}
  ~Helper() { (void)exchange_wait_helper(previous_); }
  Helper(const Helper&) = delete;
  Helper& operator=(const Helper&) = delete;

  std::uint16_t running_call_depth() const noexcept override { return current_call_depth; }

  bool wait_until(Waiter& waiter, Clock::time_point deadline) override {
    if (depth_ >= kMaxHelpDepth) return waiter.wait_plainly_until(deadline);
    bool poked = false;  // a submit's wake-up came to this worker and is not yet used
    for (;;) {
      std::shared_ptr<WorkItem> item;
      bool wake = false;
      Waiter::Status status = Waiter::Status::ready;
      {
        MutexLock lock(pool_.mutex_);
        status = waiter.status_now();  // lock order: pool, then waiter
        if (may_help(status)) {
          const int takes_deeper_than =
              status == Waiter::Status::deeper_calls_pending ? running_call_depth() : -1;
          // Listed before it looks, so that a submit whose call this look misses
          // takes the mutex and pokes it ("Submitting without the mutex").
          pool_.helpers_.push_back({&waiter, takes_deeper_than});
          pool_.update_submit_path_locked();
          item = pool_.take_newest_call_locked(takes_deeper_than);
          if (item) {
            pool_.helpers_.pop_back();
            pool_.update_submit_path_locked();
            wake = pool_.wake_needed_locked(pool_.idle_workers_ - pool_.sleeping_);
          }
        }
      }
      if (wake) pool_.work_available_.notify_one();
      if (!may_help(status)) {
        if (poked) pass_wake_on();
        if (status == Waiter::Status::ready) return true;
        // No awaited future can be finished by this pool's calls: running them would
        // not end the wait.
        return waiter.wait_plainly_until(deadline);
      }
      poked = false;
      if (item) {
        ++depth_;
        pool_.run_item(item, *this, worker_name_);
        --depth_;
        continue;
      }
      const Waiter::Woken woken = waiter.wait_until_or_poked(deadline);
      poked = !unlist(waiter);
      if (woken == Waiter::Woken::timed_out) {
        if (poked) pass_wake_on();
        return false;
      }
    }
  }

  // A call run nested inside a wait leaves the worker busy with the call that waits.
  void call_returned(FutureCoreBase& /*future*/) noexcept override {}

 private:
  static bool may_help(Waiter::Status status) {
    return status == Waiter::Status::deeper_calls_pending ||
           status == Waiter::Status::own_pool_pending;
  }

  // A submit's wake-up poked this worker, which will not take the call after all: wake
  // a worker that will, as the submit would have.
  void pass_wake_on() {
    bool wake = false;
    {
      MutexLock lock(pool_.mutex_);
      wake = pool_.wake_needed_locked(pool_.idle_workers_ - pool_.sleeping_);
    }
    if (wake) pool_.work_available_.notify_one();
  }

  // Takes `waiter` off the pool's list of blocked helpers; false if a submit already
  // did, poking it (its wake-up is then this worker's to use or pass on).
  bool unlist(Waiter& waiter) {
    MutexLock lock(pool_.mutex_);
    auto listed =
        std::find_if(pool_.helpers_.begin(), pool_.helpers_.end(),
                     [&](const BlockedHelper& helper) { return helper.waiter == &waiter; });
    const bool was_listed = listed != pool_.helpers_.end();
    if (was_listed) {
      pool_.helpers_.erase(listed);
    } else {
      pool_.wake_pending_ = false;  // this worker now looks at the queue
    }
    pool_.update_submit_path_locked();
    return was_listed;
  }

  ThreadPoolCore& pool_;
  const std::string& worker_name_;
  WaitHelper* const previous_;
  int depth_ = 0;
};

// A worker's own bookkeeping, told by each WorkItem when its call has returned.
class ThreadPoolCore::Worker final : public WorkerHooks {
 public:
  explicit Worker(ThreadPoolCore& pool) : pool_(pool) {}

  // Counts this worker idle before the future completes, so that a caller woken by
  // result() that submits again at once reuses it instead of starting a new thread
  // (CPython's test_idle_thread_reuse). Not when done-callbacks will run here first:
  // a worker running callbacks is busy, as in CPython.
  //
  // While holding the lock anyway, it takes the next queued call if there is one: the
  // worker then stays busy, and a loaded pool locks its queue once per call, not twice.
  void call_returned(FutureCoreBase& future) noexcept override {
    if (future.has_callbacks()) return;
    MutexLock lock(pool_.mutex_);
    pool_.drain_submitted_locked();
    if (!pool_.queue_.empty()) {
      taken_ = std::move(pool_.queue_.front());
      pool_.queue_.pop_front();
      has_taken_ = true;
      return;
    }
    ++pool_.idle_workers_;
    counted_idle_ = true;
    current_worker_counted_idle = true;
  }

  // Takes the next item (null: this worker's stop marker), waiting for one.
  std::shared_ptr<WorkItem> next() {
    if (has_taken_) {
      has_taken_ = false;
      return std::move(taken_);
    }
    bool wake = false;
    std::shared_ptr<WorkItem> item;
    {
      MutexLock lock(pool_.mutex_);
      for (;;) {
        pool_.drain_submitted_locked();
        if (!pool_.queue_.empty()) break;
        if (!counted_idle_) {
          ++pool_.idle_workers_;
          counted_idle_ = true;
        }
        // Counted sleeping before the last look: a submit whose call that look misses
        // sees submit_must_lock_ and wakes this worker ("Submitting without the mutex").
        ++pool_.sleeping_;
        pool_.update_submit_path_locked();
        pool_.drain_submitted_locked();
        const bool sleeps = pool_.queue_.empty();
        if (sleeps) lock.wait(pool_.work_available_);
        --pool_.sleeping_;
        if (sleeps) pool_.wake_pending_ = false;
        pool_.update_submit_path_locked();
      }
      if (counted_idle_) {
        --pool_.idle_workers_;
        counted_idle_ = false;
        current_worker_counted_idle = false;
      }
      item = std::move(pool_.queue_.front());
      pool_.queue_.pop_front();
      wake = pool_.wake_needed_locked(pool_.idle_workers_ - pool_.sleeping_);
    }
    if (wake) pool_.work_available_.notify_one();
    return item;
  }

 private:
  ThreadPoolCore& pool_;
  bool counted_idle_ = false;
  bool has_taken_ = false;  // taken_ holds the next item (which may be a stop marker)
  std::shared_ptr<WorkItem> taken_;
};

void ThreadPoolCore::worker_main(std::size_t index) {
  current_pool = this;
  const std::string suffix = fmt::format("_{}", index);
  const std::string name = config_.thread_name_prefix + suffix;
  pthread_setname_np(pthread_self(), os_thread_name(config_.thread_name_prefix, suffix).c_str());

  if (config_.initializer) {
    try {
      config_.initializer();
    } catch (...) {
      report_error(std::current_exception(), "a thread pool initializer");
      break_pool(fmt::format(
          "a thread pool initializer threw ({}), so the pool is broken and runs no more calls; "
          "fix the initializer and create a new pool",
          describe(std::current_exception())));
      return;
    }
  }

  Worker worker(*this);
  Helper helper(*this, name);  // waits inside this worker's calls run queued calls
  for (;;) {
    std::shared_ptr<WorkItem> item = worker.next();
    if (!item) return;  // this worker's stop marker
    run_item(item, worker, name);
    item.reset();  // drop the call's arguments before waiting for the next one
  }
}

void ThreadPoolCore::run_item(const std::shared_ptr<WorkItem>& item, WorkerHooks& hooks,
                              const std::string& worker_name) {
  // Calls submitted from inside this one are nested one deeper; a nested call run while
  // this one waits restores its depth when it returns.
  const std::uint16_t outer_call_depth =
      std::exchange(current_call_depth, item->future().call_depth());
  // Only calls that take a stop token are listed, so the others pay nothing here.
  const bool takes_token = item->future().takes_stop_token();
  if (takes_token) {
    MutexLock lock(mutex_);
    running_with_token_.push_back(item);
  }
  if (!config_.timeline) {
    item->run(hooks);
  } else {
    const auto started = Timeline::Clock::now();
    item->run(hooks);
    config_.timeline->on_run(item->timeline_id, worker_name, started, Timeline::Clock::now());
  }
  if (takes_token) {
    MutexLock lock(mutex_);
    running_with_token_.erase(
        std::find(running_with_token_.begin(), running_with_token_.end(), item));
  }
  current_call_depth = outer_call_depth;
}

void ThreadPoolCore::break_pool(const std::string& reason) {
  std::deque<std::shared_ptr<WorkItem>> drained;
  {
    MutexLock lock(mutex_);
    if (!broken_) broken_ = reason;
    drained = take_queued_calls_locked();
  }
  for (auto& item : drained) {
    item->future().try_set_exception(std::make_exception_ptr(BrokenThreadPool(reason)));
  }
}

std::deque<std::shared_ptr<WorkItem>> ThreadPoolCore::take_queued_calls_locked() {
  submitted_.close_into(queue_);  // the pool takes no more calls
  std::deque<std::shared_ptr<WorkItem>> calls;
  std::deque<std::shared_ptr<WorkItem>> markers;  // the other workers still need theirs
  for (auto& item : queue_) (item ? calls : markers).push_back(std::move(item));
  queue_.swap(markers);
  return calls;
}

void ThreadPoolCore::shutdown(bool wait, bool cancel_futures) {
  std::deque<std::shared_ptr<WorkItem>> cancelled;
  std::vector<std::shared_ptr<WorkItem>> to_stop;
  {
    MutexLock lock(mutex_);
    if (cancel_futures) {
      cancelled = take_queued_calls_locked();
      to_stop = running_with_token_;
    }
    if (!shutdown_) {
      shutdown_ = true;
      submitted_.close_into(queue_);  // the calls submitted so far run before the markers
      for (std::size_t i = 0; i < threads_.size(); ++i) queue_.push_back(nullptr);
    }
  }
  work_available_.notify_all();
  for (auto& item : cancelled) item->future().cancel();
  cancelled.clear();
  // Outside the lock: a stop request runs the call's std::stop_callbacks in this thread.
  for (auto& item : to_stop) (void)item->future().request_stop();
  to_stop.clear();

  if (!wait || is_own_worker()) return;
  std::lock_guard join_lock(join_mutex_);
  std::vector<std::thread> threads;
  {
    MutexLock lock(mutex_);
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
  // Every call has returned: no deadline is armed, or will be.
  std::shared_ptr<CallDeadlines> deadlines;
  {
    MutexLock lock(mutex_);
    deadlines = deadlines_;
  }
  if (deadlines) deadlines->stop();
}

void ThreadPoolCore::release_threads() {
  MutexLock lock(mutex_);
  for (std::thread& t : threads_) {
    if (t.joinable()) t.detach();
  }
  threads_.clear();
}

bool ThreadPoolCore::is_own_worker() const { return current_pool == this; }

}  // namespace detail
}  // namespace concurrent::futures
