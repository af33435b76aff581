// Result handling on the management thread: matching each result frame to the call it
// answers, finishing its futures (done-callbacks run here), and the worker's call times.
#include <fmt/format.h>

#include <array>
#include <exception>
#include <span>
#include <stdexcept>
#include <string>

#include "process/core.hpp"
#include "process/remote_exception.hpp"
#include "process/results.hpp"

namespace concurrent::futures::detail {

void ProcessPoolCore::handle_frame(WorkerProcess& w, wire::MessageType type,
                                   std::string_view payload) {
  switch (type) {
    case wire::MessageType::ready:
      wire::decode_ready(payload);
      w.ready = true;
      if (!initializer_) start_serving(w);
      return;
    case wire::MessageType::initialized:
      wire::decode_ready(payload);
      if (!w.ready || !initializer_) throw wire::WireError("an initializer report out of turn");
      start_serving(w);
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
  const wire::ResultFrame r = wire::read_result(payload);
  record_run(w.answered_by(r), w.pid, r);
  w.finish_answered(r);
  --in_flight_calls_;
  w.finished_a_call = true;
  crash_strikes_ = 0;
}

namespace {

void check_outcome_count(const wire::ResultFrame& r, std::size_t items) {
  if (r.count != items) {
    throw wire::WireError(
        fmt::format("a result with {} outcomes for a call of {} items", r.count, items));
  }
}

// An outcome other than a value.
void fail_item(ProcessCall& call, std::uint32_t index, const wire::ResultOutcome& o) {
  if (o.status == wire::ResultStatus::exception) {
    call.sink->fail(index, rebuild_exception(o.kind, o.type_name, o.message, o.details));
  } else {
    call.sink->fail(index, std::make_exception_ptr(std::length_error(wire::too_large_outcome(o))));
  }
}

}  // namespace

void finish_call(ProcessCall& call, const std::vector<std::uint32_t>& indices,
                 const wire::ResultFrame& r) {
  check_outcome_count(r, indices.size());
  // Consecutive values go to the sink together, up to a run's length at a time.
  std::array<std::string_view, 64> run;
  std::size_t run_length = 0;
  std::uint32_t run_first = 0;
  auto deliver_run = [&] {
    if (run_length > 0) call.sink->deliver(run_first, std::span(run.data(), run_length));
    run_length = 0;
  };
  // The last item is the one that finishes a call (a map() chunk's future finishes with
  // its last element; a submit has one): it is used only once the message is known to
  // end there, so that a malformed message finishes nothing.
  wire::Reader outcomes(r.outcomes);
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const std::uint32_t index = indices[k];
    const wire::ResultStatus status = wire::read_status(outcomes);
    if (status == wire::ResultStatus::value) {
      const std::string_view value = outcomes.bytes();
      if (k + 1 == indices.size()) outcomes.expect_end();
      if (run_length == run.size() || (run_length > 0 && index != run_first + run_length)) {
        deliver_run();
      }
      if (run_length == 0) run_first = index;
      run[run_length++] = value;
      continue;
    }
    const wire::ResultOutcome o = wire::read_outcome_after(outcomes, status);
    if (k + 1 == indices.size()) outcomes.expect_end();
    deliver_run();
    fail_item(call, index, o);
  }
  deliver_run();
}

wire::ResultOutcome read_single_outcome(const wire::ResultFrame& r) {
  check_outcome_count(r, 1);
  wire::Reader outcomes(r.outcomes);
  const wire::ResultOutcome o = wire::read_outcome(outcomes);
  outcomes.expect_end();
  return o;
}

void finish_item(ProcessCall& call, std::uint32_t index, const wire::ResultOutcome& outcome) {
  if (outcome.status == wire::ResultStatus::value) {
    call.sink->deliver(index, std::span(&outcome.value, 1));
  } else {
    fail_item(call, index, outcome);
  }
}

void ProcessPoolCore::record_run(const InFlight& flight, pid_t pid, const wire::ResultFrame& r) {
  if (!timeline_) return;
  // The worker times the call as a whole: each of its items is shown spanning it.
  using Clock = std::chrono::steady_clock;
  const Clock::time_point started(std::chrono::nanoseconds(r.started_ns));
  const Clock::time_point finished(std::chrono::nanoseconds(r.finished_ns));
  const std::string worker = fmt::format("pid {}", pid);
  const ProcessCall& call = *flight.call;
  for (std::uint32_t i : flight.indices) {
    if (i < call.timeline_ids.size())
      timeline_->on_run(call.timeline_ids[i], worker, started, finished);
  }
}

void ProcessPoolCore::start_serving(WorkerProcess& w) {
  w.serving = true;
  // Its first call starts now, not when it was written (a call's timeout counts from
  // its start, and a worker may take a while to start and initialize).
  w.front_since = std::chrono::steady_clock::now();
}

}  // namespace concurrent::futures::detail
