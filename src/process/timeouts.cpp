// Per-call timeouts (CallOptions::timeout) on the management thread: when the call a
// worker is running must end, killing the worker when it overruns, and settling the
// calls of a worker killed so. The kill is the pool's own act: it is never a crash, so
// it neither breaks the pool nor counts towards kCrashLoopStrikes, in either
// OnWorkerDeath mode.
//
// When a call starts: a worker runs its calls one at a time and puts each one's results
// on the wire before it reads the next, so the call at the front of its in_flight starts
// when the worker begins serving, when it is written to an idle worker, or when the
// previous call's last result arrives (front_since in core.hpp). The last two are a
// little early and a little late respectively, by a trip through the socket.
#include <signal.h>

#include <fmt/format.h>

#include <chrono>
#include <exception>

#include "call_timeout.hpp"
#include "concurrent/futures/errors.hpp"
#include "process/core.hpp"

namespace concurrent::futures::detail {

std::optional<std::chrono::steady_clock::time_point> ProcessPoolCore::call_deadline(
    const WorkerProcess& w) const {
  if (!w.serving || w.overran_seq != 0 || w.exited || w.in_flight.empty()) return std::nullopt;
  const std::optional<std::chrono::nanoseconds>& timeout = w.in_flight.front().call->timeout;
  if (!timeout) return std::nullopt;
  // A timeout beyond the clock's range never passes.
  if (*timeout >= std::chrono::steady_clock::time_point::max() - w.front_since) return std::nullopt;
  return w.front_since + std::chrono::duration_cast<std::chrono::steady_clock::duration>(*timeout);
}

void ProcessPoolCore::kill_overrunning_calls(std::chrono::steady_clock::time_point now) {
  for (auto& w : workers_) {
    const auto deadline = call_deadline(*w);
    if (!deadline || now < *deadline) continue;
    // Its pidfd reports the death; settle_kill() then decides what became of each call.
    (void)pidfd_send_signal(w->pidfd.get(), SIGKILL);
    w->overran_seq = w->in_flight.front().seq;
  }
}

void ProcessPoolCore::settle_kill(std::size_t index, const ExitStatus& status) {
  WorkerProcess& w = *workers_[index];
  const pid_t pid = w.pid;  // replace_worker() removes `w`
  const std::uint64_t overran = w.overran_seq;
  const auto since = w.front_since;
  // What the worker sent before the kill landed has been read: a call that finished just
  // in time keeps its result.
  std::optional<InFlight> running = take_running_call(w);
  requeue_calls(w);
  // The new worker first, so that whoever sees the call fail finds the pool whole.
  const bool replaced = replace_worker(index);
  if (!running) return;
  std::exception_ptr error;
  std::string how = "killed: the call before it overran its timeout";
  if (running->seq == overran) {
    const std::string timeout = describe_timeout(*running->call->timeout);
    how = fmt::format("killed: it overran its timeout of {}", timeout);
    error = std::make_exception_ptr(TimeoutError(fmt::format(
        "the call ran longer than its timeout of {} (CallOptions::timeout), so the pool "
        "killed worker process {} that ran it and {}; make the call faster or give it a "
        "longer timeout",
        timeout, pid,
        replaced ? "started another" : "could not start another, so the pool is broken")));
  } else {
    // The call that overran finished as the kill was on its way, and this one, next in
    // line, may already have started: it must not run twice.
    error = std::make_exception_ptr(WorkerDied(
        fmt::format("worker process {} was killed by the pool (signal 9, SIGKILL) because the "
                    "call before this one overran its timeout, and this call may already have "
                    "started there, so it is not run again",
                    pid),
        pid, status.known && status.signaled ? status.code : SIGKILL, -1));
  }
  fail_cut_short(*running, pid, since, how, error);
}

}  // namespace concurrent::futures::detail
