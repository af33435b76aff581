// MapOptions: the knobs of Executor::map, shared by both executors.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace concurrent::futures {

// Every member has a default initializer, so that designated initializers naming only
// some members do not trip g++'s -Wmissing-field-initializers.
struct MapOptions {
  // Counted from the map() call; a result not ready by then makes the iteration throw
  // TimeoutError, cancels the calls that have not started and ends the range.
  std::optional<std::chrono::steady_clock::duration> timeout = {};
  // How many elements make one call: one message to a worker process, or one queue
  // entry that one thread-pool worker runs element after element (Python's thread pool
  // ignores it). Results still arrive per element, in input order, and each element
  // rethrows its own exception at its own place. Cancelling (a timeout, destroying the
  // range, shutdown with cancel_futures) takes back whole chunks that have not started.
  // Larger: fewer queue operations and allocations per element (1000 trivial calls in a
  // chunk run over ten times faster than one by one); smaller: the work spreads over the
  // workers more evenly. Below 1: std::invalid_argument.
  std::int64_t chunksize = 1;
  // At most this many calls (chunks, with a chunksize above 1) are submitted ahead of
  // the one being read; unset: all of them up front. Below 1: std::invalid_argument.
  std::optional<std::int64_t> buffersize = {};
};

}  // namespace concurrent::futures
