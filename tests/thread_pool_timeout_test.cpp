// Tests for per-call timeouts on the thread pool (thread_pool.hpp, submit(const
// CallOptions&, fn, args...)): counted from the call's start, a timeout fails the future
// with TimeoutError and asks the call's token to stop; the worker is busy until the call
// returns.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <future>
#include <optional>
#include <random>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "concurrent/futures/thread_pool.hpp"
#include "concurrent/futures/wait.hpp"
#include "message_check.hpp"
#include "test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
using namespace std::chrono_literals;
using cft::kLongTimeout;

namespace {

using cft::spin_until_stopped;

TEST(ThreadPoolTimeout, ACallThatFinishesInTimeKeepsItsValueAndItsToken) {
  cf::ThreadPoolExecutor pool(2);
  cf::Future<int> plain = pool.submit(
      {.timeout = kLongTimeout}, [](int n) { return n; }, 7);
  cf::Future<bool> stopped = pool.submit({.timeout = kLongTimeout},
                                         [](std::stop_token st) { return st.stop_requested(); });
  EXPECT_EQ(plain.result(kLongTimeout), 7);
  EXPECT_FALSE(stopped.result(kLongTimeout));
  EXPECT_FALSE(stopped.request_stop()) << "finished";
}

TEST(ThreadPoolTimeout, NoTimeoutIsAPlainCall) {
  cf::ThreadPoolExecutor pool(1);
  const cf::CallOptions options;
  EXPECT_EQ(pool.submit(options, [] { return 3; }).result(kLongTimeout), 3);
}

TEST(ThreadPoolTimeout, ATimeoutFailsTheFutureAndStopsTheToken) {
  cf::ThreadPoolExecutor pool(1);
  std::promise<bool> saw_stop;
  std::future<bool> seen = saw_stop.get_future();
  cf::Future<int> f = pool.submit({.timeout = 20ms}, [&](std::stop_token st) {
    saw_stop.set_value(spin_until_stopped(st));
    return 1;
  });
  const std::string what = cft::what_of([&] { (void)f.result(kLongTimeout); });
  EXPECT_NE(what.find("timeout of 20 ms"), std::string::npos) << what;
  cft::expect_sentence(what);
  EXPECT_THROW((void)f.result(), cf::TimeoutError);
  ASSERT_EQ(seen.wait_for(kLongTimeout), std::future_status::ready);
  EXPECT_TRUE(seen.get());
  // What the call returned after its timeout is dropped.
  EXPECT_EQ(pool.submit([] { return 2; }).result(kLongTimeout), 2);
  EXPECT_THROW((void)f.result(), cf::TimeoutError);
}

TEST(ThreadPoolTimeout, ACallIgnoringItsTokenFailsOnTimeAndKeepsItsWorkerBusy) {
  cf::ThreadPoolExecutor pool(1);
  cft::Gate gate;
  cft::Gate untokened_gate;
  cf::Future<bool> ignoring = pool.submit({.timeout = 10ms}, [&](std::stop_token) {
    gate.wait();
    return true;
  });
  cf::Future<int> untokened = pool.submit({.timeout = 10ms}, [&] {
    untokened_gate.wait();
    return 1;
  });
  // Fails while the call is still blocked (the gate is closed).
  EXPECT_THROW((void)ignoring.result(kLongTimeout), cf::TimeoutError);
  EXPECT_EQ(untokened.state(), cf::FutureState::pending) << "the one worker is still busy";
  gate.open();
  // A call that takes no token times out all the same.
  EXPECT_THROW((void)untokened.result(kLongTimeout), cf::TimeoutError);
  untokened_gate.open();
  EXPECT_EQ(pool.submit([] { return 4; }).result(kLongTimeout), 4);
  EXPECT_THROW((void)ignoring.result(), cf::TimeoutError) << "what it returned was dropped";
}

TEST(ThreadPoolTimeout, AQueuedCallIsTimedFromItsOwnStart) {
  cf::ThreadPoolExecutor pool(1);
  cft::Gate first_gate;
  cft::Gate timed_gate;
  cf::Future<void> first = pool.submit([&] { first_gate.wait(); });
  cf::Future<void> timed = pool.submit({.timeout = 20ms}, [&] { timed_gate.wait(); });
  // Queued for longer than its timeout: still pending, not failed.
  EXPECT_EQ(cf::wait({cf::AnyFuture(timed)}, 100ms).not_done.size(), 1U);
  EXPECT_EQ(timed.state(), cf::FutureState::pending);
  first_gate.open();
  EXPECT_THROW(timed.result(kLongTimeout), cf::TimeoutError);
  EXPECT_TRUE(timed_gate.wait_arrived(1)) << "it failed while running, not before";
}

TEST(ThreadPoolTimeout, CallbacksOfATimedOutFutureRunInThePoolsTimerThread) {
  cf::ThreadPoolExecutor pool({.max_workers = 1, .thread_name_prefix = "tmo"});
  std::promise<std::string> callback_thread;
  cft::Gate gate;  // holds the one worker until the callback is in place
  cf::Future<void> first = pool.submit([&] { gate.wait(); });
  cf::Future<bool> f =
      pool.submit({.timeout = 10ms}, [](std::stop_token st) { return spin_until_stopped(st); });
  f.add_done_callback(
      [&](const cf::Future<bool>&) { callback_thread.set_value(cft::current_thread_name()); });
  gate.open();
  EXPECT_THROW((void)f.result(kLongTimeout), cf::TimeoutError);
  std::future<std::string> name = callback_thread.get_future();
  ASSERT_EQ(name.wait_for(kLongTimeout), std::future_status::ready);
  EXPECT_EQ(name.get(), "tmo_timer");
}

TEST(ThreadPoolTimeout, ATimeoutThatIsNotPositiveIsRefused) {
  cf::ThreadPoolExecutor pool(1);
  for (std::chrono::nanoseconds bad : {0ns, -5'000'000ns}) {
    const std::string what =
        cft::what_of([&] { (void)pool.submit({.timeout = bad}, [] { return 1; }); });
    EXPECT_NE(what.find("CallOptions::timeout must be greater than zero"), std::string::npos)
        << what;
    cft::expect_sentence(what);
    EXPECT_THROW((void)pool.submit({.timeout = bad}, [] { return 1; }), std::invalid_argument);
  }
  EXPECT_EQ(pool.submit([] { return 1; }).result(kLongTimeout), 1) << "nothing was queued";
}

TEST(ThreadPoolTimeout, ShutdownWaitsForATimedCallThatItsTimeoutStops) {
  std::optional<cf::Future<bool>> f;
  {
    cf::ThreadPoolExecutor pool(1);
    f = pool.submit({.timeout = 10ms}, [](std::stop_token st) { return spin_until_stopped(st); });
    pool.shutdown(/*wait=*/false);
  }  // the destructor joins the worker and the timer thread
  EXPECT_TRUE(f->done());
  EXPECT_THROW((void)f->result(), cf::TimeoutError);
}

TEST(ThreadPoolTimeout, SubmitAfterShutdownThrows) {
  cf::ThreadPoolExecutor pool(1);
  pool.shutdown();
  EXPECT_THROW((void)pool.submit({.timeout = 1s}, [] { return 1; }), std::runtime_error);
}

// Completion and timeout race on every call: each future ends exactly once, with its
// value or with TimeoutError, and its done-callbacks run once.
TEST(ThreadPoolTimeout, StressCompletionRacingTimeout) {
  constexpr std::size_t kCalls = 2000 / cft::kScaleDivisor;
  cf::ThreadPoolExecutor pool(4);
  std::atomic<std::size_t> callbacks{0};
  std::vector<cf::Future<std::size_t>> futures;
  futures.reserve(kCalls);
  std::mt19937 random(12345);
  std::uniform_int_distribution<int> micros(0, 200);
  for (std::size_t i = 0; i < kCalls; ++i) {
    const auto work = std::chrono::microseconds(micros(random));
    const auto timeout = std::chrono::microseconds(1 + micros(random));
    futures.push_back(pool.submit({.timeout = timeout}, [work, i](std::stop_token st) {
      const auto until = std::chrono::steady_clock::now() + work;
      while (!st.stop_requested() && std::chrono::steady_clock::now() < until) {
      }
      return i;
    }));
    futures.back().add_done_callback([&](const cf::Future<std::size_t>&) { ++callbacks; });
  }
  // Each future holds its own value or a TimeoutError, and nothing else.
  for (std::size_t i = 0; i < kCalls; ++i) {
    try {
      EXPECT_EQ(futures[i].result(kLongTimeout), i);
    } catch (const cf::TimeoutError&) {  // the deadline won the race
    }
  }
  pool.shutdown();
  EXPECT_EQ(callbacks.load(), kCalls);
}

}  // namespace
