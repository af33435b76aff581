// Worker deaths on the management thread: reaping a worker that exited, telling a
// retirement the pool asked for from a death, replacing a retired worker, and breaking
// the pool (failing every pending and running call) when a worker died.
#include <signal.h>
#include <sys/wait.h>

#include <fmt/format.h>

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
  const bool clean = status.known && !status.signaled && status.code == 0 && w.in_flight.empty();
  // A worker the pool told to stop, or that retired after max_tasks_per_child calls, with
  // every call answered, has not died, whatever its exit status says: a program that
  // ignores SIGCHLD, or reaps children itself with waitpid(-1), leaves none to learn.
  const bool expected =
      (w.stop_sent || w.retiring(max_tasks_)) && w.in_flight.empty() && w.note.empty();
  bool forced;
  {
    MutexLock lock(mutex_);
    forced = forced_;
  }
  if (!expected || forced) {
    std::string reason;
    if (forced) {
      reason = fmt::format(
          "the pool's workers were stopped by terminate_workers() or kill_workers() ({})",
          describe_exit(w.pid, status));
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
  const std::string message = forced ? fmt::format("{}; the call could not finish", reason)
                                     : fmt::format("{}{}", reason, kBrokenAdvice);
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
      for (std::uint32_t i : flight.indices) {
        flight.call->sink->fail(
            i,
            std::make_exception_ptr(BrokenProcessPool("the worker running this call was stopped")));
      }
    }
    workers_.pop_back();
  }
}

}  // namespace concurrent::futures::detail
