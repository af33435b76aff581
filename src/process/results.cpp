// Result handling on the management thread: matching each result frame to the call it
// answers, finishing its future (done-callbacks run here), and the worker's call times.
#include <fmt/format.h>

#include "process/core.hpp"
#include "process/remote_exception.hpp"

namespace concurrent::futures::detail {

void ProcessPoolCore::handle_frame(WorkerProcess& w, wire::MessageType type,
                                   std::string_view payload) {
  switch (type) {
    case wire::MessageType::ready:
      wire::decode_ready(payload);
      w.ready = true;
      return;
    case wire::MessageType::refused:
    case wire::MessageType::init_failed:
      w.note = std::string(wire::decode_text(payload));
      return;
    case wire::MessageType::result:
      break;
    default:
      throw wire::WireError(
          fmt::format("a worker sent a message of type {}", static_cast<int>(type)));
  }
  const wire::ResultMessage r = wire::decode_result(payload);
  if (w.in_flight.empty()) throw wire::WireError("a result for no call");
  InFlight& flight = w.in_flight.front();
  if (r.seq != flight.seq || flight.received >= flight.indices.size() ||
      r.index != flight.indices[flight.received]) {
    throw wire::WireError("a result that does not match the call it should answer");
  }
  if (flight.received == 0) flight.started_ns = r.started_ns;
  ++flight.received;
  ProcessCall& call = *flight.call;
  if (timeline_ && r.index < call.timeline_ids.size()) {
    using Clock = std::chrono::steady_clock;
    timeline_->on_run(call.timeline_ids[r.index], fmt::format("pid {}", w.pid),
                      Clock::time_point(std::chrono::nanoseconds(r.started_ns)),
                      Clock::time_point(std::chrono::nanoseconds(r.finished_ns)));
  }
  // Runs done-callbacks on this thread.
  if (r.status == wire::ResultStatus::value) {
    call.sink->deliver(r.index, r.value);
  } else {
    call.sink->fail(r.index, rebuild_exception(r.kind, r.type_name, r.message, r.details));
  }
  if (flight.received == flight.indices.size()) {
    w.last_call = std::chrono::nanoseconds(r.finished_ns - flight.started_ns);
    // The next call began no later than now. (Not at r.finished_ns: when this thread
    // reads results late, that would make short calls look long and stop batching
    // exactly when the pool is busiest.)
    w.front_since = std::chrono::steady_clock::now();
    w.in_flight.pop_front();
    --in_flight_calls_;
  }
}

}  // namespace concurrent::futures::detail
