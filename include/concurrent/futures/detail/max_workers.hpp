// max_workers: validation and the CPU count behind the defaults, shared by both
// executors.
#pragma once

#include <concepts>
#include <cstddef>
#include <optional>

namespace concurrent::futures::detail {

// Throws std::invalid_argument("max_workers must be greater than 0").
[[noreturn]] void throw_bad_max_workers();

// `max_workers` as a count; any integral type, so that -1 is rejected, not wrapped.
template <std::integral I>
std::size_t checked_max_workers(I max_workers) {
  if (max_workers <= 0) throw_bad_max_workers();
  return static_cast<std::size_t>(max_workers);
}

// `max_workers` if set (0 throws), else `fallback`.
std::size_t max_workers_or(const std::optional<std::size_t>& max_workers, std::size_t fallback);

// The CPUs this process may run on (its affinity mask), as Python's
// os.process_cpu_count(); at least 1.
std::size_t usable_cpus();

}  // namespace concurrent::futures::detail
