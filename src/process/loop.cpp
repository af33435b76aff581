// The management thread: its poll loop over the wake-up eventfd, every worker's socket
// and every worker's pidfd, and when it spins instead of blocking (kSpinForResult).
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "process/core.hpp"

namespace concurrent::futures::detail {

void ProcessPoolCore::manager_main() noexcept {
  try {
    run_loop();
  } catch (const std::exception& e) {
    break_pool(fmt::format("the process pool's management thread failed: {}", e.what()), false);
  } catch (...) {
    break_pool("the process pool's management thread failed", false);
  }
  kill_and_reap_all();
  if (fork_server_) fork_server_->stop();
  // wakeup_ stays open until the core is destroyed: shutdown() may still write to it.
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
      if (!w->ready && !w->exited && (!deadline || w->start_deadline < *deadline)) {
        deadline = w->start_deadline;
      }
      if (const auto call_ends = call_deadline(*w);
          call_ends && (!deadline || *call_ends < *deadline)) {
        deadline = call_ends;
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
      n = poll_spinning(fds.data(), fds.size(), std::chrono::steady_clock::now() + kSpinForResult);
    }
    if (n == 0) {
      const std::optional<std::size_t> lent = timeout != 0 ? lend() : std::nullopt;
      // The lent socket is watched through lent_epoll_ (LentChannel says why).
      pollfd* lent_channel = lent ? &fds[1 + 2 * *lent] : nullptr;
      if (lent_channel != nullptr) lent_channel->fd = lent_epoll_.get();
      n = ::poll(fds.data(), fds.size(), timeout);
      if (lent_channel != nullptr) {
        lent_channel->fd = workers_[*lent]->channel.get();
        reclaim(n > 0 && (lent_channel->revents & POLLIN) != 0);
      }
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    if (fds[0].revents & POLLIN) {
      // One read takes the whole count (the eventfd is not in semaphore mode).
      std::uint64_t count;
      (void)!::read(wakeup_.get(), &count, sizeof count);
    }
    // Results first, then deaths: a worker's last results arrive before it is reaped.
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      WorkerProcess& w = *workers_[i];
      const pollfd& channel = fds[1 + 2 * i];
      if (channel.revents & POLLOUT) flush_out(w);
      if (channel.revents & (POLLIN | POLLHUP | POLLERR)) read_channel(w);
      if (fds[2 + 2 * i].revents & POLLIN) w.exited = true;
      if (broken()) return;
    }
    const auto now = std::chrono::steady_clock::now();
    // After the results: a call whose last result just arrived has not overrun.
    kill_overrunning_calls(now);
    for (std::size_t i = workers_.size(); i-- > 0;) {
      WorkerProcess& w = *workers_[i];
      if (!w.exited && w.linger_deadline && now >= *w.linger_deadline) {
        (void)pidfd_send_signal(w.pidfd.get(), SIGKILL);
        w.linger_deadline.reset();
      }
      if (w.exited) {
        handle_exit(i);
        if (broken()) return;
      } else if (!w.ready && now >= w.start_deadline) {
        (void)pidfd_send_signal(w.pidfd.get(), SIGKILL);
        break_pool(fmt::format("worker process {} did not report ready within {} ms of being "
                               "started (ProcessPoolOptions::worker_start_timeout): it is stuck "
                               "in the program's static initializers or, with "
                               "StartMethod::fork, on a lock that another thread held when the "
                               "pool forked",
                               w.pid, start_timeout_.count()),
                   false);
        return;
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

bool ProcessPoolCore::broken() const {
  MutexLock lock(mutex_);
  return !broken_.empty();
}

}  // namespace concurrent::futures::detail
