// CallOptions: per-call knobs of Executor::submit(const CallOptions&, fn, args...), shared by
// the executors. Each executor's header says what it does with each member.
#pragma once

#include <chrono>
#include <optional>

namespace concurrent::futures {

// Every member has a default initializer, so that designated initializers naming only
// some members (`{.timeout = 2s}`) do not trip g++'s -Wmissing-field-initializers.
struct CallOptions {
  // Counted from the moment the call starts running, not from submit. When it passes,
  // the future fails with TimeoutError; what happens to the call itself is the
  // executor's to say (the process pool kills the worker, the thread pool asks the
  // call's stop token to stop).
  std::optional<std::chrono::nanoseconds> timeout = {};
};

}  // namespace concurrent::futures
