#include "concurrent/futures/detail/max_workers.hpp"

#include <sched.h>
#include <unistd.h>

#include <stdexcept>

namespace concurrent::futures::detail {

void throw_bad_max_workers() { throw std::invalid_argument("max_workers must be greater than 0"); }

std::size_t max_workers_or(const std::optional<std::size_t>& max_workers, std::size_t fallback) {
  if (!max_workers) return fallback;
  return checked_max_workers(*max_workers);
}

std::size_t usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<std::size_t>(n);
  }
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<std::size_t>(n) : 1;
}

}  // namespace concurrent::futures::detail
