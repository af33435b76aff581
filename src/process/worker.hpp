// The worker process's side of the pool. Private to the library.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "process/wire.hpp"

namespace concurrent::futures::detail {

// Before blocking for its next call, a worker polls its socket without blocking for up
// to this long, yielding the CPU between polls: a call that arrives within it costs no
// wake-up (the kernel's 5-50 us to wake a sleeping process, which dominates a
// round trip of small calls). It spins only while calls come back-to-back (its last wait
// for one ended within kSpinWhileGapsBelow), as when a user submits each call after the
// previous result; a worker of a quiet pool blocks at once after one fruitless spin.
// Longer: catches calls after longer gaps, but burns up to this much CPU per call that
// does not come, CPU that other processes on a 2-core machine may want (sched_yield
// hands the core to any of them that is runnable, so the spin mostly uses idle time).
// Zero: never spin.
inline constexpr std::chrono::microseconds kSpinForCall{50};
inline constexpr std::chrono::microseconds kSpinWhileGapsBelow{2 * kSpinForCall};

// Exit codes a worker uses to say why it stopped (0: it was told to, or hit
// max_tasks_per_child). The parent turns them into the text of BrokenProcessPool.
inline constexpr int kExitRefused = 121;     // runs a different executable than the pool
inline constexpr int kExitInitFailed = 122;  // the initializer threw
inline constexpr int kExitBadMessage = 123;  // the parent sent something unreadable
inline constexpr int kExitParentGone = 124;  // the channel to the parent broke

// The environment variable that puts a freshly executed copy of the program into worker
// or fork-server mode (fork_server.hpp): "worker:<fd>" or "forkserver:<fd>".
inline constexpr const char* kWorkerMarkerVariable = "CONCURRENT_FUTURES_PROCESS_WORKER";

// Where a worker writes its result frames: out() collects them, flush() sends them.
// (A socket for a process-pool worker, MPI messages for an MPI worker rank.)
class ResultOutput {
 public:
  virtual std::string& out() = 0;
  virtual void flush() = 0;

 protected:
  ~ResultOutput() = default;
};

// Runs the items of `call` through its entry (or fails each, if there is none),
// appending one result frame with every item's outcome to `output` (the caller flushes).
// The frame's payload keeps within `limit` (wire::ResultWriter); smaller than a frame's
// limit only to test what happens there without gigabytes of values.
void run_call(ResultOutput& output, const wire::CallMessage& call,
              std::uint64_t limit = wire::kMaxPayloadBytes);

// Runs the configuration's initializer; false (with `error` saying why) if it failed.
bool run_initializer(const wire::ConfigMessage& config, std::string& error);

// Whether this process is a copy of the executable started as a process-pool worker or
// fork server (true from before main(), also in static initializers that run before
// the worker hook). Other start-up hooks (MPI's) leave such a process alone.
bool started_as_process_worker() noexcept;

// Serves calls on `fd` until told to stop; returns the exit code. Never throws.
int worker_main(int fd) noexcept;

}  // namespace concurrent::futures::detail
