#include "concurrent/futures/errors.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <utility>

#include "concurrent/futures/detail/mutex.hpp"
#include "process/fork_safety.hpp"

namespace concurrent::futures {

CancelledError::CancelledError()
    : Error(
          "the future was cancelled before it ran, so it has no result; check cancelled() "
          "before asking for the result") {}

TimeoutError::TimeoutError()
    : Error("the timeout passed before the future finished; wait longer or check done() first") {}

BrokenPromise::BrokenPromise()
    : Error(
          "the Promise was destroyed without setting a result or an exception; keep the "
          "Promise alive until it completes its future") {}

RemoteError::RemoteError(std::string type_name, const std::string& message)
    : Error(message), type_name_(std::move(type_name)) {}

WorkerDied::WorkerDied(const std::string& message, int pid, int signal, int exit_code)
    : Error(message), pid_(pid), signal_(signal), exit_code_(exit_code) {}

namespace {

detail::Mutex handler_mutex;
// Empty means the default handler.
ErrorHandler installed_handler CONCURRENT_FUTURES_GUARDED_BY(handler_mutex);
// A forked worker may report errors too (a user's call that uses futures).
[[maybe_unused]] const bool g_handler_mutex_held =
    (detail::hold_across_fork(handler_mutex.native()), true);

void default_handler(const std::exception_ptr& error, std::string_view context) {
  fmt::print(stderr, "concurrent::futures: exception in {}: {}\n", context, describe(error));
}

}  // namespace

std::string describe(const std::exception_ptr& error) noexcept {
  try {
    if (!error) return "no exception";
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    try {
      return e.what();
    } catch (...) {
    }
  } catch (...) {
  }
  return "an exception of a type not derived from std::exception";
}

ErrorHandler set_error_handler(ErrorHandler handler) {
  detail::MutexLock lock(handler_mutex);
  return std::exchange(installed_handler, std::move(handler));
}

void report_error(const std::exception_ptr& error, std::string_view context) noexcept {
  try {
    ErrorHandler handler;
    {
      detail::MutexLock lock(handler_mutex);
      handler = installed_handler;
    }
    if (handler) {
      handler(error, context);
    } else {
      default_handler(error, context);
    }
  } catch (...) {
    std::fputs("concurrent::futures: the error handler itself threw; its exception was dropped\n",
               stderr);
  }
}

}  // namespace concurrent::futures
