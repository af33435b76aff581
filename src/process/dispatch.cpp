// Dispatch and socket I/O on the management thread: choosing a worker for each pending
// call (fair dispatch, kShortCall), writing call frames without blocking, and reading
// what workers send.
#include <signal.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <cerrno>
#include <numeric>
#include <utility>

#include "process/core.hpp"

namespace concurrent::futures::detail {

void ProcessPoolCore::dispatch() {
  const auto now = std::chrono::steady_clock::now();
  // Requeued calls are counted in in_flight_calls_ already: they never wait for room.
  while (!requeued_.empty() ||
         in_flight_calls_ < max_workers_ + kProcessCallWindow.extra_queued_calls) {
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

namespace {

// What a call that cannot be sent again (calls_may_be_resent) drops once written: its
// arguments now live in the frame alone.
void drop_arguments(ProcessCall& call) {
  call.args = std::string();
  call.fn_bytes = std::string();
}

}  // namespace

bool ProcessPoolCore::dispatch_one(WorkerProcess& w) {
  InFlight flight;
  bool may_resend = true;
  if (!requeued_.empty()) {
    flight = std::move(requeued_.front());
    requeued_.pop_front();
  } else {
    std::unique_ptr<ProcessCall> call;
    {
      MutexLock lock(mutex_);
      if (pending_.empty()) return false;
      call = std::make_unique<ProcessCall>(std::move(pending_.front()));
      pending_.pop_front();
      may_resend = calls_may_be_resent();
    }
    flight.seq = next_seq_++;
    start_items(flight, *call);
    if (flight.indices.empty()) return true;  // all cancelled
    flight.call = std::move(call);
    ++in_flight_calls_;
  }
  encode_call_frame(w.out, flight.seq, *flight.call, flight.indices);
  if (!may_resend) drop_arguments(*flight.call);
  w.add(std::move(flight));
  ++w.calls_sent;
  flush_out(w);
  return true;
}

std::optional<std::size_t> ProcessPoolCore::lend() {
  if (in_flight_calls_ != 0 || !requeued_.empty() || stopping_) return std::nullopt;
  std::optional<std::size_t> idle;
  for (std::size_t i = 0; i < workers_.size() && !idle; ++i) {
    const WorkerProcess& w = *workers_[i];
    if (w.serving && !w.channel_closed && !w.exited && !w.stop_sent && !w.retiring(max_tasks_) &&
        w.overran_seq == 0 && w.out.empty()) {
      idle = i;
    }
  }
  if (!idle) return std::nullopt;
  WorkerProcess& w = *workers_[*idle];
  MutexLock lock(mutex_);
  if (!pending_.empty() || shutdown_ || !broken_.empty()) return std::nullopt;
  lent_.worker = &w;
  lent_.fd = w.channel.get();
  lent_.pid = w.pid;
  lent_.in = &w.in;
  lent_.seq = next_seq_;
  lent_.calls_left.reset();
  if (max_tasks_) lent_.calls_left = *max_tasks_ - w.calls_sent;
  lent_.last_call = w.last_call;
  lent_.answered_at = w.front_since;  // its last result's arrival, as it held no call since
  if (!watch_lent(true)) {
    lent_.worker = nullptr;
    return std::nullopt;
  }
  return idle;
}

bool ProcessPoolCore::submit_direct(ProcessCall& call, bool& wake_manager) {
  if (lent_.worker == nullptr || lent_.taken || call.timeout || !pending_.empty() ||
      (lent_.calls_left && lent_.answered >= *lent_.calls_left) ||
      call.args.size() + call.fn_bytes.size() > kDirectCallBytes) {
    return false;
  }
  // What may throw comes first, leaving the call unsent and not RUNNING. Every item is
  // sent: no one else has its futures yet, so none can have been cancelled.
  InFlight flight;
  flight.seq = lent_.seq;
  flight.indices.resize(call.size());
  std::iota(flight.indices.begin(), flight.indices.end(), std::uint32_t{0});
  lent_.frame.clear();
  encode_call_frame(lent_.frame, flight.seq, call, flight.indices);
  flight.call = std::make_unique<ProcessCall>(std::move(call));
  // From here on the items are RUNNING: cancel() can no longer stop them. (None was
  // cancelled, so the indices come back as they were.)
  flight.indices.clear();
  flight.call->sink->start(flight.indices);
  if (!calls_may_be_resent()) drop_arguments(*flight.call);
  lent_.future = flight.indices.size() == 1 ? flight.call->sink->single_item_future() : nullptr;
  lent_.taken = true;
  lent_.flight = std::move(flight);
  lent_.written_at = std::chrono::steady_clock::now();
  lent_.sent = 0;
  bool closed = false;
  // A full socket or a dead worker: the management thread writes the rest, or finds out
  // how the worker died.
  if (!send_some(lent_.fd, lent_.frame, lent_.sent, closed)) wake_manager = true;
  return true;
}

void ProcessPoolCore::reclaim(bool result_arrived) {
  WorkerProcess* w = nullptr;
  InFlight flight;
  bool taken = false;
  std::size_t answered = 0;
  std::optional<std::chrono::nanoseconds> last_call;
  std::chrono::steady_clock::time_point answered_at;
  std::chrono::steady_clock::time_point written_at;
  {
    MutexLock lock(mutex_);
    stop_reading(lock, result_arrived);
    (void)watch_lent(false);
    lent_.watched = false;  // a failed removal leaves a watch that closing the socket ends
    w = std::exchange(lent_.worker, nullptr);
    next_seq_ = lent_.seq;
    answered = std::exchange(lent_.answered, 0);
    last_call = lent_.last_call;
    answered_at = lent_.answered_at;
    lent_.future = nullptr;
    taken = std::exchange(lent_.taken, false);
    if (taken) {
      flight = std::exchange(lent_.flight, InFlight());
      written_at = lent_.written_at;
      w->out.append(lent_.frame, lent_.sent);
      lent_.frame.clear();  // holds the user's arguments no longer than the call does
    }
  }
  if (answered > 0) {  // as handle_frame() would have booked them
    w->calls_sent += answered;
    w->last_call = last_call;
    w->front_since = answered_at;
    w->finished_a_call = true;
    crash_strikes_ = 0;
  }
  if (taken) {
    ++next_seq_;  // the seq lend() offered
    ++in_flight_calls_;
    w->add(std::move(flight));
    w->front_since = written_at;  // it held no call: this one began when it was written
    ++w->calls_sent;
    flush_out(*w);
  }
  // Frames a reading thread left to this thread (own_result.cpp); the loop sees if they
  // broke the pool.
  if (!w->in.empty()) (void)handle_frames(*w);
}

bool ProcessPoolCore::send_some(int fd, const std::string& buffer, std::size_t& sent,
                                bool& closed) {
  while (sent < buffer.size()) {
    const ssize_t n =
        ::send(fd, buffer.data() + sent, buffer.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return false;
    } else {
      closed = true;  // the worker is gone (EPIPE, ECONNRESET)
      return false;
    }
  }
  return true;
}

void ProcessPoolCore::flush_out(WorkerProcess& w) {
  if (!w.channel_closed && !send_some(w.channel.get(), w.out, w.out_sent, w.channel_closed) &&
      w.channel_closed) {
    // Its pidfd will say how the worker went.
    w.linger_deadline = std::chrono::steady_clock::now() + kLingerLimit;
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
      if (!handle_frames(w) || static_cast<std::size_t>(n) < kReadChunk) return;
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

bool ProcessPoolCore::handle_frames(WorkerProcess& w) {
  wire::MessageType type;
  std::string_view payload;
  try {
    while (w.in.next(type, payload)) {
      handle_frame(w, type, payload);
      if (broken()) return false;
    }
  } catch (const wire::WireError& e) {
    (void)pidfd_send_signal(w.pidfd.get(), SIGKILL);
    break_pool(
        fmt::format("worker process {} sent a message the pool cannot read ({})", w.pid, e.what()),
        false);
    return false;
  }
  return true;
}

void ProcessPoolCore::send_stop(WorkerProcess& w) {
  if (w.stop_sent || w.channel_closed) return;
  w.stop_sent = true;
  wire::encode_stop(w.out);
  flush_out(w);
}

}  // namespace concurrent::futures::detail
