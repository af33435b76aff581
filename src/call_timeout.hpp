// CallOptions::timeout, the rules every executor shares: what a valid timeout is, and
// how messages name one.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace concurrent::futures::detail {

// Throws std::invalid_argument, naming `operation`, for a timeout that is set and not
// greater than zero.
void check_call_timeout(const std::optional<std::chrono::nanoseconds>& timeout,
                        const char* operation);

// "2 s", "150 ms", "300 us", "5 ns": the largest unit that states `timeout` exactly.
std::string describe_timeout(std::chrono::nanoseconds timeout);

}  // namespace concurrent::futures::detail
