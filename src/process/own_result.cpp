// Reading one's own result (own_result.hpp, LentChannel in core.hpp): the waiting
// thread's side, and the management thread's ways to hand the lent socket over and take
// it back.
//
// Who reads the lent socket: at first nobody but the management thread, through
// lent_epoll_. A thread that waits for the lent call's future claims it (lent_.reading,
// under mutex_), takes it out of lent_epoll_ so that the result wakes only itself, and
// reads until it holds the whole result frame; it checks the frame, lets go of the socket
// (putting it back in lent_epoll_), and only then finishes the future, because finishing
// runs done-callbacks, which may do anything, shutdown(wait = true) included. The
// worker stays lent for the next submit. A management thread that wants the worker back
// meanwhile (poll() returned) sets lent_.give_back, writes reader_wakeup_ and waits
// until the reader has let go; a reader that gives up for any other reason (the deadline,
// a closed socket, a frame it leaves alone) wakes the management thread to carry on: it
// books the call as one it wrote itself and handles whatever the reader left in the
// worker's decoder.
#include "process/own_result.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <utility>

#include "process/core.hpp"
#include "process/results.hpp"
#include "process/worker.hpp"

namespace concurrent::futures::detail {

namespace {

thread_local std::weak_ptr<ProcessPoolCore> own_call_pool;

// Waits until one of `fds` is ready or `deadline` passes: ppoll(), to the nanosecond, as
// the wait it stands in for keeps its deadline so.
int poll_until(pollfd (&fds)[2], Clock::time_point deadline) {
  if (deadline == Clock::time_point::max()) return ::ppoll(fds, 2, nullptr, nullptr);
  const auto left = std::max(deadline - Clock::now(), Clock::duration::zero());
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
  const timespec timeout{
      .tv_sec = static_cast<time_t>(seconds.count()),
      .tv_nsec = static_cast<long>(std::chrono::nanoseconds(left - seconds).count())};
  return ::ppoll(fds, 2, &timeout, nullptr);
}

// Reads socket `fd` into `in` until it holds the result frame of call `seq`, which it
// copies into `payload` (so that the frame outlives the management thread's next read)
// and drops from `in`, reading `r` and `outcome` from the copy; spins first for the
// first bytes if `spin` (LentChannel::spin). False if the deadline passes, `stop` (an
// eventfd) is written, the socket closes or fails, or the next frame is anything else,
// which stays in `in` for the management thread.
bool read_result_frame(int fd, int stop, wire::FrameDecoder& in, std::uint64_t seq, bool spin,
                       Clock::time_point deadline, std::string& payload, wire::ResultFrame& r,
                       wire::ResultOutcome& outcome) {
  for (;; spin = false) {
    wire::MessageType type;
    std::string_view frame;
    if (in.peek(type, frame)) {
      if (type != wire::MessageType::result) return false;
      payload.assign(frame);
      r = wire::read_result(payload);
      if (r.seq != seq) return false;
      outcome = read_single_outcome(r);
      in.drop_peeked(frame);
      return true;
    }
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop, POLLIN, 0}};
    int n = spin ? poll_spinning(fds, 2, std::min(deadline, Clock::now() + kSpinForResult)) : 0;
    if (n == 0) n = poll_until(fds, deadline);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || (fds[1].revents & POLLIN) != 0) return false;
    char* buffer = in.prepare(kReadChunk);
    const ssize_t got = ::recv(fd, buffer, kReadChunk, MSG_DONTWAIT);
    if (got > 0) {
      in.commit(static_cast<std::size_t>(got));
    } else if (got == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
      return false;  // the worker is exiting: its pidfd tells the management thread how
    }
  }
}

}  // namespace

void remember_own_call(std::weak_ptr<ProcessPoolCore> pool) { own_call_pool = std::move(pool); }

bool read_own_result(const FutureCoreBase& future, Clock::time_point deadline) {
  const std::shared_ptr<ProcessPoolCore> pool = own_call_pool.lock();
  return pool && pool->read_own_result(future, deadline);
}

bool ProcessPoolCore::read_own_result(const FutureCoreBase& future, Clock::time_point deadline) {
  int fd = -1;
  pid_t pid = -1;
  std::uint64_t seq = 0;
  bool spin = false;
  wire::FrameDecoder* in = nullptr;
  {
    MutexLock lock(mutex_);
    // A call the submit wrote only in part is the management thread's to finish writing.
    if (lent_.worker == nullptr || !lent_.taken || lent_.future != &future || lent_.reading ||
        lent_.give_back || lent_.sent != lent_.frame.size() || !watch_lent(false)) {
      return false;
    }
    lent_.reading = true;
    fd = lent_.fd;
    pid = lent_.pid;
    seq = lent_.seq;
    // The reader polls without blocking for kSpinForResult before it blocks when the
    // worker's calls are short, the two fit on the usable CPUs (as worth_spinning() judges
    // for the management thread), and the worker still spins for its next call
    // (kSpinForCall since its last result): a result that comes within it then finds the
    // reader awake instead of waking it (on an idle CPU, 10-20 us). A worker that must be
    // woken itself may be woken onto the reader's CPU, behind the spin: then the reader
    // blocks at once.
    spin = lent_.last_call && *lent_.last_call < kSpinForResult && 2 <= cpus_ &&
           std::chrono::steady_clock::now() - lent_.answered_at < kSpinForCall;
    in = lent_.in;
  }
  std::string payload;
  wire::ResultFrame r;
  wire::ResultOutcome outcome;
  bool answered = false;
  try {
    answered =
        read_result_frame(fd, reader_wakeup_.get(), *in, seq, spin, deadline, payload, r, outcome);
  } catch (...) {  // a malformed frame, or no memory: the management thread's to handle
  }
  InFlight flight;
  bool carry_on = false;  // the management thread must take over
  {
    MutexLock lock(mutex_);
    lent_.reading = false;
    if (answered) {
      flight = std::exchange(lent_.flight, InFlight());
      lent_.taken = false;
      lent_.future = nullptr;
      lent_.frame.clear();
      ++lent_.seq;
      ++lent_.answered;
      lent_.last_call = std::chrono::nanoseconds(r.finished_ns - r.started_ns);
      lent_.answered_at = std::chrono::steady_clock::now();
    }
    if (lent_.give_back) {
      std::uint64_t count;
      (void)!::read(reader_wakeup_.get(), &count, sizeof count);
    } else if (!lent_.manager_waits) {
      carry_on = !watch_lent(true) || !answered;
    }
    if (lent_.manager_waits) reading_stopped_.notify_all();
  }
  if (carry_on) wake();
  if (!answered) return false;
  record_run(flight, pid, r);
  finish_item(*flight.call, flight.indices.front(), outcome);
  return true;
}

bool ProcessPoolCore::watch_lent(bool watch) {
  if (lent_.watched == watch) return true;
  epoll_event event{};
  event.events = EPOLLIN;
  if (::epoll_ctl(lent_epoll_.get(), watch ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, lent_.fd, &event) !=
      0) {
    return false;  // no memory for the watch: nothing changed
  }
  lent_.watched = watch;
  return true;
}

void ProcessPoolCore::stop_reading(MutexLock& lock, bool result_arrived) {
  lent_.manager_waits = true;
  if (result_arrived && lent_.taken && lent_.future != nullptr) {
    const auto until = std::chrono::steady_clock::now() + kOwnResultGrace;
    while (lent_.taken && lock.wait_until(reading_stopped_, until)) {
    }
  }
  if (lent_.reading) {
    lent_.give_back = true;
    const std::uint64_t one = 1;
    (void)!::write(reader_wakeup_.get(), &one, sizeof one);
    while (lent_.reading) lock.wait(reading_stopped_);
    lent_.give_back = false;
  }
  lent_.manager_waits = false;
}

}  // namespace concurrent::futures::detail
