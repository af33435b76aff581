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
  // How many calls travel to a worker process in one message (the thread pool ignores
  // it). Below 1: std::invalid_argument.
  std::int64_t chunksize = 1;
  // At most this many calls are submitted ahead of the one being read; unset: all of
  // them up front. Below 1: std::invalid_argument.
  std::optional<std::int64_t> buffersize = {};
};

}  // namespace concurrent::futures
