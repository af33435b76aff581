// How MPIPoolExecutor's threads wait for MPI messages. Private to concurrent_futures_mpi.
//
// Open MPI has no wait that sleeps in the kernel: MPI_Wait and MPI_Recv poll (with
// mpi_yield_when_idle they call sched_yield between polls, but stay runnable, and on an
// oversubscribed machine an idle rank that polls this way still takes a large share of
// a core from ranks that compute). So a waiter polls in two phases:
//
//   - for kSpinWindow after the last message, it polls and yields the CPU between polls:
//     the next message of a busy exchange (a call right after a result) is seen within
//     microseconds, with no wake-up to pay;
//   - after that it naps between polls, 1 us at first, doubling up to kMaxNap: an idle
//     rank wakes at most 1,000 times a second (measured: about 2% of a core for an idle
//     worker rank, where one blocked in MPI_Recv takes all the CPU it is given; beside
//     four such ranks a computing rank 0 ran about 6x slower on 2 cores).
//
// The price is latency after a silence: a message that arrives after more than
// kSpinWindow of silence waits for the rest of the current nap (at most kMaxNap).
// mpi4py.futures naps from the first unsuccessful poll (1 us doubling to 1 ms), so
// every call of a round trip pays naps; here only the first call after a silence can.
#pragma once

#include <sched.h>
#include <sys/prctl.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace concurrent::futures::detail::mpi {

// Longer: catches messages after longer gaps at no latency, but an idle rank burns up
// to this much CPU after each message. Shorter: more messages wait for a nap.
inline constexpr std::chrono::microseconds kSpinWindow{200};
// Longer: less CPU while idle; shorter: less latency for the first call after a
// silence.
inline constexpr std::chrono::microseconds kMaxNap{1000};

// Naps of a few microseconds mean nothing under Linux's default timer slack (50 us for
// a normal thread): the calling thread asks for 1 us. Call it once in each waiting thread.
inline void use_fine_timer_slack() { (void)::prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL); }

class Backoff {
 public:
  using Clock = std::chrono::steady_clock;

  // A message arrived: spin again.
  void reset() {
    last_message_ = Clock::now();
    nap_ = std::chrono::microseconds{0};
  }
  // Nothing arrived: how long to nap before the next poll (zero: just yield).
  std::chrono::microseconds next_pause() {
    if (Clock::now() - last_message_ < kSpinWindow) return std::chrono::microseconds{0};
    nap_ = std::clamp(nap_ * 2, std::chrono::microseconds{1}, kMaxNap);
    return nap_;
  }
  // Nothing arrived: yields the CPU or naps, as next_pause() says.
  void pause() {
    const std::chrono::microseconds nap = next_pause();
    if (nap.count() == 0) {
      ::sched_yield();
    } else {
      std::this_thread::sleep_for(nap);
    }
  }

 private:
  Clock::time_point last_message_ = Clock::now();
  std::chrono::microseconds nap_{0};
};

}  // namespace concurrent::futures::detail::mpi
