// A worker's unfinished calls (worker_calls.hpp): starting and encoding a call, queueing
// it, matching a result to the call it answers, finishing that call.
#include "process/worker_calls.hpp"

#include <cstring>
#include <utility>

#include "process/results.hpp"

namespace concurrent::futures::detail {

void start_items(InFlight& flight, ProcessCall& call) {
  flight.indices.reserve(call.size());
  call.sink->start(flight.indices);
}

void encode_call_frame(std::string& out, std::uint64_t seq, const ProcessCall& call,
                       const std::vector<std::uint32_t>& indices) {
  // At most this much (all the items' arguments): one allocation, not a string growing
  // through a thousand small appends.
  out.reserve(out.size() + wire::call_frame_bytes(std::strlen(call.entry_key), call.fn_bytes.size(),
                                                  indices.size(), call.args.size()));
  wire::CallWriter writer(out, seq, call.entry_key, call.fn_bytes, indices.size());
  for (std::uint32_t i : indices) writer.add_item(call.item_args(i));
  writer.finish();
}

bool WorkerCalls::takes_another(std::chrono::steady_clock::time_point now,
                                const CallWindow& window) const {
  if (in_flight.empty()) return true;
  if (in_flight.size() >= window.max_calls_per_worker) return false;
  return last_call && *last_call < kShortCall && now - front_since < kShortCall;
}

void WorkerCalls::add(InFlight flight) {
  if (in_flight.empty()) front_since = std::chrono::steady_clock::now();
  in_flight.push_back(std::move(flight));
}

InFlight& WorkerCalls::answered_by(const wire::ResultFrame& r) {
  if (in_flight.empty()) throw wire::WireError("a result for no call");
  InFlight& flight = in_flight.front();
  if (r.seq != flight.seq) {
    throw wire::WireError("a result that does not match the call it should answer");
  }
  return flight;
}

void WorkerCalls::finish_answered(const wire::ResultFrame& r) {
  InFlight& flight = answered_by(r);
  finish_call(*flight.call, flight.indices, r);
  last_call = std::chrono::nanoseconds(r.finished_ns - r.started_ns);
  // The next call began no later than now. (Not at r.finished_ns: when this thread
  // reads results late, that would make short calls look long and stop batching
  // exactly when the pool is busiest.)
  front_since = std::chrono::steady_clock::now();
  in_flight.pop_front();
}

}  // namespace concurrent::futures::detail
