// The calls one worker holds, as a pool's management thread tracks them, how a call is
// started and encoded for it, and the constants of fair dispatch: shared by the process
// pool (a worker process) and the MPI pool (a worker rank), which dispatch and answer calls
// alike. Private to the library. WorkerCalls: the management thread only; start_items and
// encode_call_frame touch only the call they are given.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "concurrent/futures/detail/process_call.hpp"
#include "process/wire.hpp"

namespace concurrent::futures::detail {

// How many calls a pool keeps written to its workers and not yet finished. A call in a
// worker's queue is already RUNNING and can no longer be cancelled, and it is lost with
// the worker if that dies; in exchange a worker finds its next call already waiting
// instead of idling for a round trip through the management thread, and the management
// thread moves calls and results in batches (one send, one recv for several).
struct CallWindow {
  // Beyond one per worker, across the pool: at most workers + this many. CPython uses 1
  // (EXTRA_QUEUED_CALLS).
  std::size_t extra_queued_calls;
  // No worker holds more than this many, so that a long call does not keep short ones
  // waiting behind it while other workers idle.
  std::size_t max_calls_per_worker;
};
// The process pool's: 20,000 no-op submits on 2 workers ran 1.8x faster than with 4 and
// 4 (105 k to 190 k calls/s on 2 CPUs), whose workers ran dry between two of the
// management thread's trips; 16 and 16 gained nothing more.
inline constexpr CallWindow kProcessCallWindow{.extra_queued_calls = 16, .max_calls_per_worker = 8};
// The MPI pool's. With the process pool's window its submits doubled too, but the round
// trip of one call after such a burst went from 20 us to 130-970 us (bench/mpi, 3 ranks
// on 2 CPUs), so it keeps 4 and 4 until that is understood.
inline constexpr CallWindow kMpiCallWindow{.extra_queued_calls = 4, .max_calls_per_worker = 4};
// Fair dispatch: a worker that is busy is given a further call only while its calls are
// short, that is, while its last finished call ran (in the worker) for less than this
// and its current one has not yet run this long. Long calls (and calls on a worker
// whose call lengths are not yet known) therefore only ever go to idle workers and wait
// in pending_ otherwise, as in CPython, whose shared call queue any free worker takes
// from: 15 calls of 0.5 s on 5 workers take 1.5 s, not 2 s. Larger: calls up to this
// long may still queue behind one another, so a worker may idle for up to about
// (max_calls_per_worker - 1) x kShortCall while another still holds work. Smaller: fewer
// calls are batched, and each unbatched call leaves its worker waiting for a round trip
// through the management thread (10-50 us) before its next one.
inline constexpr std::chrono::microseconds kShortCall{200};

// One call message written to a worker and not yet fully answered.
struct InFlight {
  std::uint64_t seq = 0;
  std::unique_ptr<ProcessCall> call;
  std::vector<std::uint32_t> indices;  // the items that were sent (not cancelled)
};

// Moves the items of `call` to RUNNING (from here on cancel() can no longer stop them)
// and lists in `flight.indices` those that were not cancelled, the ones to send.
void start_items(InFlight& flight, ProcessCall& call);
// Appends the frame of call `seq`, the items of `call` listed in `indices`, to `out`.
void encode_call_frame(std::string& out, std::uint64_t seq, const ProcessCall& call,
                       const std::vector<std::uint32_t>& indices);

// A worker's unfinished calls, oldest first: it runs them one at a time, in the order
// sent, and answers each with one result message before it starts the next.
struct WorkerCalls {
  std::deque<InFlight> in_flight;
  // For fair dispatch (kShortCall): how long the worker took for its last finished call,
  // unknown before one has finished; and when it began its current call (the front of
  // in_flight), as far as the management thread can tell.
  std::optional<std::chrono::nanoseconds> last_call;
  std::chrono::steady_clock::time_point front_since{};

  // Whether a further call may be queued behind the ones this worker holds (see
  // kShortCall), which may be at most `window`.max_calls_per_worker. An idle worker
  // always takes one.
  bool takes_another(std::chrono::steady_clock::time_point now, const CallWindow& window) const;
  // Records `flight`, just written to the worker; if it held no call, it begins this one now.
  void add(InFlight flight);
  // The call that `r` answers: the first one held. Throws wire::WireError if it holds
  // none, or if `r` answers another.
  InFlight& answered_by(const wire::ResultFrame& r);
  // Finishes answered_by(r)'s futures from `r` (finish_call: done-callbacks run on this
  // thread), forgets it, and takes the call's length for fair dispatch. Throws
  // wire::WireError, finishing nothing, as answered_by and finish_call do.
  void finish_answered(const wire::ResultFrame& r);
};

}  // namespace concurrent::futures::detail
