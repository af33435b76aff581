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

// Calls written to workers but not finished, beyond one per worker: the call queue
// holds at most max_workers + kExtraQueuedCalls calls. A call in a worker's queue is
// already RUNNING and can no longer be cancelled, and it is lost with the worker if that
// dies; in exchange a worker finds its next call already waiting instead of idling for a
// round trip through the management thread, and the management thread moves calls and
// results in batches (one send, one recv for several). CPython uses 1
// (EXTRA_QUEUED_CALLS); 4 roughly doubles the throughput of small calls here.
inline constexpr std::size_t kExtraQueuedCalls = 4;
// No worker holds more than this many unfinished calls, so that a long call does not
// keep short ones waiting behind it while other workers idle.
inline constexpr std::size_t kMaxCallsPerWorker = 4;
// Fair dispatch: a worker that is busy is given a further call only while its calls are
// short, that is, while its last finished call ran (in the worker) for less than this
// and its current one has not yet run this long. Long calls (and calls on a worker
// whose call lengths are not yet known) therefore only ever go to idle workers and wait
// in pending_ otherwise, as in CPython, whose shared call queue any free worker takes
// from: 15 calls of 0.5 s on 5 workers take 1.5 s, not 2 s. Larger: calls up to this
// long may still queue behind one another, so a worker may idle for up to about
// (kMaxCallsPerWorker - 1) x kShortCall while another still holds work. Smaller: fewer
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
  // kShortCall). An idle worker always takes one.
  bool takes_another(std::chrono::steady_clock::time_point now) const;
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
