// Shared helpers for the unit tests: canned futures in every state (as CPython's
// test_concurrent_futures/util.py builds them), a recorder for the library's error
// handler, thread names, a gate that blocks calls until a test opens it, and the
// iteration scale for sanitizer builds.
#pragma once

#include <sys/prctl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "concurrent/futures/errors.hpp"
#include "concurrent/futures/future.hpp"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define CONCURRENT_FUTURES_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define CONCURRENT_FUTURES_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define CONCURRENT_FUTURES_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONCURRENT_FUTURES_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define CONCURRENT_FUTURES_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CONCURRENT_FUTURES_TEST_TSAN 1
#endif
#endif

namespace concurrent::futures::test {

// Sanitized builds run 5-15 times slower; stress loops scale their iterations by this.
#if defined(CONCURRENT_FUTURES_TEST_TSAN)
inline constexpr std::size_t kScaleDivisor = 8;
#elif defined(CONCURRENT_FUTURES_TEST_SANITIZED)
inline constexpr std::size_t kScaleDivisor = 4;
#else
inline constexpr std::size_t kScaleDivisor = 1;
#endif

// `n` iterations in a plain build, fewer under a sanitizer (never fewer than 1).
constexpr std::size_t scaled(std::size_t n) {
  return n / kScaleDivisor > 0 ? n / kScaleDivisor : 1;
}

// Generous limit for every blocking call in a test: long enough never to fire on a busy
// machine, short enough that a bug fails the test instead of hanging it.
inline constexpr std::chrono::seconds kLongTimeout{30};

// Spins until `st` is stopped, or kLongTimeout passes (so that a broken stop cannot hang
// a test); returns whether the stop arrived. For calls that take a std::stop_token.
inline bool spin_until_stopped(const std::stop_token& st) {
  const auto give_up = std::chrono::steady_clock::now() + kLongTimeout;
  while (!st.stop_requested()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::yield();
  }
  return true;
}

// The exception the canned failed future carries (CPython uses OSError).
struct TestError : std::runtime_error {
  explicit TestError(const std::string& message = "test error") : std::runtime_error(message) {}
};

// One future in each state, built only through the public Promise API. The promises of
// the pending and running futures are kept so a test can complete them.
template <class T = int>
struct CannedFutures {
  Promise<T> pending_promise;
  Promise<T> running_promise;
  Future<T> pending = pending_promise.get_future();
  Future<T> running = running_promise.get_future();
  Future<T> cancelled;
  Future<T> failed;
  Future<T> succeeded;

  CannedFutures() {
    if (!running_promise.set_running_or_notify_cancel()) throw std::logic_error("not running");
    {
      Promise<T> p;
      cancelled = p.get_future();
      if (!cancelled.cancel()) throw std::logic_error("not cancelled");
    }
    {
      Promise<T> p;
      failed = p.get_future();
      p.set_exception(std::make_exception_ptr(TestError()));
    }
    {
      Promise<T> p;
      succeeded = p.get_future();
      if constexpr (std::is_void_v<T>) {
        p.set_result();
      } else {
        p.set_result(T(42));
      }
    }
  }
};

// Installs an error handler that records every report for its lifetime, then restores
// the previous handler.
class ErrorRecorder {
 public:
  struct Report {
    std::string message;
    std::string context;
  };

  ErrorRecorder()
      : previous_(set_error_handler([this](std::exception_ptr error, std::string_view context) {
          std::lock_guard lock(mutex_);
          reports_.push_back({describe(error), std::string(context)});
          errors_.push_back(std::move(error));
          cv_.notify_all();
        })) {}
  ~ErrorRecorder() { set_error_handler(std::move(previous_)); }
  ErrorRecorder(const ErrorRecorder&) = delete;
  ErrorRecorder& operator=(const ErrorRecorder&) = delete;

  std::vector<Report> reports() const {
    std::lock_guard lock(mutex_);
    return reports_;
  }
  std::vector<std::exception_ptr> errors() const {
    std::lock_guard lock(mutex_);
    return errors_;
  }
  // Waits until at least `n` reports arrived (or kLongTimeout passed); returns the count.
  std::size_t wait_for(std::size_t n) const {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, kLongTimeout, [&] { return reports_.size() >= n; });
    return reports_.size();
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::vector<Report> reports_;
  std::vector<std::exception_ptr> errors_;
  ErrorHandler previous_;
};

// The OS-visible name of the calling thread. prctl, not pthread_getname_np: glibc
// declares pthread_self() const, so clang may reuse its value across a coroutine's
// suspension and name the thread the coroutine left.
inline std::string current_thread_name() {
  char name[16] = {};  // PR_GET_NAME writes at most 16 bytes
  ::prctl(PR_GET_NAME, name);
  return name;
}

// A gate that calls wait on until the test opens it, and that counts the callers that
// reached it. Opening is idempotent; the destructor opens it, so a failing test never
// leaves a worker stuck. Every wait gives up after kLongTimeout.
class Gate {
 public:
  Gate() = default;
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  ~Gate() { open(); }

  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  // Blocks the caller until the gate opens; true if it did (false: timed out).
  bool wait() {
    std::unique_lock lock(mutex_);
    ++arrived_;
    cv_.notify_all();
    return cv_.wait_for(lock, kLongTimeout, [&] { return open_; });
  }
  // Blocks until at least `n` callers reached wait(); true if they did.
  bool wait_arrived(std::size_t n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, kLongTimeout, [&] { return arrived_ >= n; });
  }
  std::size_t arrived() const {
    std::lock_guard lock(mutex_);
    return arrived_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
  std::size_t arrived_ = 0;
};

}  // namespace concurrent::futures::test
