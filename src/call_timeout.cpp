// CallOptions::timeout's checks and its wording in messages, for every executor.
#include "call_timeout.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace concurrent::futures::detail {

void check_call_timeout(const std::optional<std::chrono::nanoseconds>& timeout,
                        const char* operation) {
  if (!timeout || *timeout > std::chrono::nanoseconds::zero()) return;
  throw std::invalid_argument(
      fmt::format("{}: CallOptions::timeout must be greater than zero, got {} ns; it bounds how "
                  "long the call may run, so leave it unset for no bound",
                  operation, timeout->count()));
}

std::string describe_timeout(std::chrono::nanoseconds timeout) {
  using std::chrono::duration_cast, std::chrono::microseconds, std::chrono::milliseconds,
      std::chrono::nanoseconds, std::chrono::seconds;
  const auto exactly_in = [&](auto unit) { return timeout % unit == nanoseconds::zero(); };
  if (exactly_in(seconds(1))) return fmt::format("{} s", duration_cast<seconds>(timeout).count());
  if (exactly_in(milliseconds(1))) {
    return fmt::format("{} ms", duration_cast<milliseconds>(timeout).count());
  }
  if (exactly_in(microseconds(1))) {
    return fmt::format("{} us", duration_cast<microseconds>(timeout).count());
  }
  return fmt::format("{} ns", timeout.count());
}

}  // namespace concurrent::futures::detail
