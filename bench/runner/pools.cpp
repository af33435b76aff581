// The experiments' task bodies (see pools.hpp).
#include "runner/pools.hpp"

#include "support/http.hpp"
#include "support/workloads.hpp"

namespace bench {

std::uint64_t busy_task(std::uint64_t n) { return busy_sum(n); }
int idle_task(double seconds) { return idle(seconds); }
double compute_task(std::uint64_t n) { return cos_steps(n); }
std::uint64_t fetch_task(int port) { return http_get(static_cast<std::uint16_t>(port), "/page"); }

}  // namespace bench
