// Worker deaths on the management thread: reaping a worker that exited, telling a
// retirement the pool asked for from a death, finding the call a dead worker was running,
// and then either replacing the worker (OnWorkerDeath::replace, retirements, timeouts)
// or breaking the pool (failing every pending and running call).
#include <signal.h>
#include <sys/wait.h>

#include <fmt/format.h>

#include <exception>
#include <optional>

#include "concurrent/futures/errors.hpp"
#include "process/core.hpp"

namespace concurrent::futures::detail {

namespace {

const char* const kBrokenAdvice =
    "; the process pool is broken (calls that were pending or running failed, and it "
    "accepts no more work): create a new ProcessPoolExecutor";

}  // namespace

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

void ProcessPoolCore::handle_exit(std::size_t index) {
  WorkerProcess& w = *workers_[index];
  // Whatever it sent before it died. Also when a send to it already failed: a worker
  // whose initializer threw says why and exits while the calls sent to it sit unread,
  // so the send fails (EPIPE) but its message is still there to read.
  read_channel(w);
  if (broken()) return;
  const ExitStatus status = reap(w);
  bool forced;
  {
    MutexLock lock(mutex_);
    forced = forced_;
  }
  if (forced) {
    break_pool(
        fmt::format("the pool's workers were stopped by terminate_workers() or kill_workers() ({})",
                    describe_exit(w.pid, status)),
        true);
    return;
  }
  if (w.overran_seq != 0) {
    settle_kill(index, status);
    return;
  }
  // A worker the pool told to stop, or that retired after max_tasks_per_child calls, with
  // every call answered, has not died, whatever its exit status says: a program that
  // ignores SIGCHLD, or reaps children itself with waitpid(-1), leaves none to learn.
  const bool expected =
      (w.stop_sent || w.retiring(max_tasks_)) && w.in_flight.empty() && w.note.empty();
  if (expected) {
    if (w.stop_sent) {
      remove_worker(index);
    } else {
      replace_worker(index);
    }
    return;
  }
  // It refused to serve, or its initializer threw: a new worker would do the same.
  if (!w.note.empty()) {
    break_pool(w.note, false);
    return;
  }
  if (on_worker_death_ == OnWorkerDeath::replace) {
    survive_death(index, status);
  } else {
    break_after_death(w, status);
  }
}

namespace {

WorkerDied worker_died(const std::string& message, pid_t pid, const ExitStatus& status) {
  return WorkerDied(message, pid, status.known && status.signaled ? status.code : 0,
                    status.known && !status.signaled ? status.code : -1);
}

// "worker process N was killed by signal 11 (SIGSEGV)", plus " unexpectedly" for a clean
// exit (code 0), which no call makes on purpose.
std::string how_it_died(pid_t pid, const ExitStatus& status) {
  std::string how = describe_exit(pid, status);
  if (status.known && !status.signaled && status.code == 0) how += " unexpectedly";
  return how;
}

}  // namespace

std::optional<InFlight> ProcessPoolCore::take_running_call(WorkerProcess& w) {
  if (!w.serving || w.in_flight.empty()) return std::nullopt;
  InFlight running = std::move(w.in_flight.front());
  w.in_flight.pop_front();
  --in_flight_calls_;
  return running;
}

void ProcessPoolCore::requeue_calls(WorkerProcess& w) {
  for (InFlight& flight : w.in_flight) requeued_.push_back(std::move(flight));
  w.in_flight.clear();
}

void ProcessPoolCore::fail_cut_short(InFlight& running, pid_t pid,
                                     std::chrono::steady_clock::time_point since,
                                     const std::string& how, const std::exception_ptr& error) {
  const auto now = std::chrono::steady_clock::now();
  ProcessCall& call = *running.call;
  // A chunk runs, and fails, as a whole.
  for (const std::uint32_t item : running.indices) {
    if (timeline_ && item < call.timeline_ids.size()) {
      timeline_->on_run(call.timeline_ids[item], fmt::format("pid {}", pid), since, now, how);
    }
    call.sink->fail(item, error);
  }
}

void ProcessPoolCore::survive_death(std::size_t index, const ExitStatus& status) {
  WorkerProcess& w = *workers_[index];
  const pid_t pid = w.pid;  // replace_worker() removes `w`
  const auto since = w.front_since;
  const std::string how = how_it_died(pid, status);
  std::optional<InFlight> running = take_running_call(w);
  requeue_calls(w);
  // A worker started in place of a dead one that dies before it finishes a call, or any
  // worker that dies before its initializer returned, points at a crash loop.
  if (!w.finished_a_call && (w.replacement || !w.serving)) ++crash_strikes_;
  // What the pool did next, for the running call's message.
  std::string next =
      "the pool replaced it with a new worker and goes on (the calls queued behind this one "
      "run on another worker)";
  if (crash_strikes_ >= kCrashLoopStrikes) {
    break_pool(
        fmt::format("{} new worker processes in a row died before finishing a call (the "
                    "last: {}{}), so the pool stopped replacing them; a crashing "
                    "initializer, or calls that crash every worker they reach? Fix the "
                    "crash",
                    crash_strikes_, how, w.serving ? "" : ", before its initializer returned"),
        false);
    next = fmt::format(
        "it was the {}th new worker in a row to die before finishing a call, so the pool "
        "stopped replacing them and is broken",
        crash_strikes_);
  } else if (!replace_worker(index)) {  // first, so that the call's reader finds the pool whole
    next = "no new worker could be started in its place, so the pool is broken";
  }
  if (!running) return;
  fail_cut_short(*running, pid, since, fmt::format("worker died: {}", how),
                 std::make_exception_ptr(worker_died(
                     fmt::format("{} while running this call; {}", how, next), pid, status)));
}

void ProcessPoolCore::break_after_death(WorkerProcess& w, const ExitStatus& status) {
  const pid_t pid = w.pid;  // break_pool() removes `w`
  const auto since = w.front_since;
  const std::string how = how_it_died(pid, status);
  std::optional<InFlight> running = take_running_call(w);
  if (!running) {
    break_pool(how, false);
    return;
  }
  const std::string culprit = fmt::format("{} while running this call{}", how, kBrokenAdvice);
  break_pool(fmt::format("{} while running a call", how), false,
             fmt::format("the process pool broke before this call finished: {} while running "
                         "another call",
                         how));
  // The call that was running gets the pool's error (Python's behaviour), which names it
  // as the one that was running and carries a WorkerDied for its pid and status.
  std::exception_ptr error;
  try {
    try {
      throw worker_died(fmt::format("{} while running this call", how), pid, status);
    } catch (const WorkerDied&) {
      std::throw_with_nested(BrokenProcessPool(culprit));
    }
  } catch (...) {
    error = std::current_exception();
  }
  fail_cut_short(*running, pid, since, fmt::format("worker died: {}", how), error);
}

bool ProcessPoolCore::replace_worker(std::size_t index) {
  remove_worker(index);
  bool needed;
  {
    MutexLock lock(mutex_);
    needed = !shutdown_ || !pending_.empty() || in_flight_calls_ > 0;
  }
  if (!needed) return true;
  try {
    start_worker();
  } catch (const std::exception& e) {
    break_pool(fmt::format("a new worker process could not be started in place of one that "
                           "ended: {}",
                           e.what()),
               false);
    return false;
  }
  workers_.back()->replacement = true;
  return true;
}

void ProcessPoolCore::break_pool(const std::string& reason, bool forced,
                                 const std::string& bystanders) {
  const std::string message = forced ? fmt::format("{}; the call could not finish", reason)
                                     : fmt::format("{}{}", reason, kBrokenAdvice);
  const std::string failure = bystanders.empty()
                                  ? message
                                  : fmt::format(
                                        "{}{}; OnWorkerDeath::replace would have failed only "
                                        "that call",
                                        bystanders, kBrokenAdvice);
  std::deque<ProcessCall> pending;
  {
    MutexLock lock(mutex_);
    if (!broken_.empty()) return;
    broken_ = message;
    forced_ = forced_ || forced;
    pending.swap(pending_);
  }
  std::vector<std::unique_ptr<ProcessCall>> running;
  for (InFlight& flight : requeued_) running.push_back(std::move(flight.call));
  requeued_.clear();
  for (auto& w : workers_) {
    for (InFlight& flight : w->in_flight) running.push_back(std::move(flight.call));
    w->in_flight.clear();
  }
  in_flight_calls_ = 0;
  // Stop every worker before failing the futures, so that none still runs a call whose
  // future has already failed. (Failing a finished item is a no-op.)
  kill_and_reap_all();
  // One exception for all of them: a chunk of thousands of items fails at the cost of one.
  const std::exception_ptr error = std::make_exception_ptr(BrokenProcessPool(failure));
  auto fail = [&](ProcessCall& call, std::size_t i) { call.sink->fail(i, error); };
  for (auto& call : running) {
    for (std::size_t i = 0; i < call->size(); ++i) fail(*call, i);
  }
  for (ProcessCall& call : pending) {
    for (std::size_t i = 0; i < call.size(); ++i) fail(call, i);
  }
}

// No worker holds calls by now: break_pool takes them first, and before the management
// thread starts (start() failing) none was sent.
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
    workers_.pop_back();
  }
}

}  // namespace concurrent::futures::detail
