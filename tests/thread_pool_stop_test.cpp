// Tests for cooperative stop on the thread pool (thread_pool.hpp, future.hpp): a callable
// whose first parameter is a std::stop_token gets one from submit() and map(), and
// Future::request_stop() (also on AnyFuture) and shutdown(cancel_futures) ask it to stop.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "concurrent/futures/thread_pool.hpp"
#include "test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
using namespace std::chrono_literals;
using cft::kLongTimeout;

namespace {

// Opens `started`, then spins until its token is stopped; whether the stop arrived.
bool run_until_stopped(std::stop_token st, cft::Gate* started) {
  started->open();
  return cft::spin_until_stopped(st);
}

TEST(ThreadPoolStop, SubmitPassesATokenToACallThatTakesOne) {
  cf::ThreadPoolExecutor pool(2);
  cf::Future<int> f =
      pool.submit([](std::stop_token st, int n) { return st.stop_possible() ? n : -1; }, 5);
  EXPECT_EQ(f.result(kLongTimeout), 5);
  cf::Future<void> v = pool.submit([](std::stop_token st) { EXPECT_FALSE(st.stop_requested()); });
  v.result(kLongTimeout);
}

TEST(ThreadPoolStop, RequestStopReachesARunningCall) {
  cf::ThreadPoolExecutor pool(2);
  cft::Gate started;
  cf::Future<bool> f = pool.submit(run_until_stopped, &started);
  ASSERT_TRUE(started.wait());
  EXPECT_TRUE(f.request_stop());
  EXPECT_TRUE(f.result(kLongTimeout)) << "the call saw its token stopped";
  EXPECT_FALSE(f.request_stop()) << "a finished future";
}

TEST(ThreadPoolStop, SecondRequestReturnsFalse) {
  cf::ThreadPoolExecutor pool(1);
  cft::Gate started;
  cf::Future<bool> f = pool.submit(run_until_stopped, &started);
  ASSERT_TRUE(started.wait());
  const cf::AnyFuture any = f;
  EXPECT_TRUE(any.request_stop()) << "AnyFuture asks the same call";
  EXPECT_FALSE(f.request_stop()) << "already requested";
  EXPECT_TRUE(f.result(kLongTimeout));
}

TEST(ThreadPoolStop, APendingCallAskedToStopRunsWithItsTokenStopped) {
  cf::ThreadPoolExecutor pool(1);
  cft::Gate gate;
  cf::Future<void> blocker = pool.submit([&] { gate.wait(); });
  ASSERT_TRUE(gate.wait_arrived(1));
  cf::Future<bool> f = pool.submit([](std::stop_token st) { return st.stop_requested(); });
  EXPECT_TRUE(f.request_stop());
  EXPECT_EQ(f.state(), cf::FutureState::pending) << "a stop request does not cancel";
  gate.open();
  EXPECT_TRUE(f.result(kLongTimeout));
  blocker.result(kLongTimeout);
}

TEST(ThreadPoolStop, RequestStopIsFalseWithoutAToken) {
  cf::ThreadPoolExecutor pool(1);
  cft::Gate gate;
  cf::Future<int> running = pool.submit([&] {
    gate.wait();
    return 1;
  });
  ASSERT_TRUE(gate.wait_arrived(1));
  cf::Future<int> pending = pool.submit([] { return 2; });
  EXPECT_FALSE(running.request_stop());
  EXPECT_FALSE(pending.request_stop());
  gate.open();
  EXPECT_EQ(running.result(kLongTimeout), 1);
  EXPECT_EQ(pending.result(kLongTimeout), 2);
  cf::Promise<int> promise;
  EXPECT_FALSE(promise.get_future().request_stop()) << "a Promise's future has no call";
}

TEST(ThreadPoolStop, ShutdownWithCancelFuturesStopsRunningCallsThatTakeAToken) {
  cf::ThreadPoolExecutor pool(2);
  cft::Gate first_started;
  cft::Gate second_started;
  cf::Future<bool> a = pool.submit(run_until_stopped, &first_started);
  cf::Future<bool> b = pool.submit(run_until_stopped, &second_started);
  ASSERT_TRUE(first_started.wait());
  ASSERT_TRUE(second_started.wait());
  cf::Future<int> queued = pool.submit([] { return 3; });
  pool.shutdown(/*wait=*/true, /*cancel_futures=*/true);
  EXPECT_TRUE(a.result(kLongTimeout));
  EXPECT_TRUE(b.result(kLongTimeout));
  EXPECT_TRUE(queued.cancelled());
}

TEST(ThreadPoolStop, ShutdownWithoutCancelFuturesDoesNotStop) {
  cf::ThreadPoolExecutor pool(1);
  std::atomic<bool> saw_stop{true};
  cf::Future<void> f = pool.submit([&](std::stop_token st) { saw_stop = st.stop_requested(); });
  pool.shutdown(true, false);
  f.result(kLongTimeout);
  EXPECT_FALSE(saw_stop.load());
}

TEST(ThreadPoolStop, MapPassesTokens) {
  cf::ThreadPoolExecutor pool(2);
  for (std::int64_t chunksize : {1, 3}) {
    std::vector<int> out;
    for (int y : pool.map(
             cf::MapOptions{.chunksize = chunksize},
             [](std::stop_token st, int x) { return st.stop_possible() ? x * 10 : -1; },
             std::vector<int>{1, 2, 3, 4})) {
      out.push_back(y);
    }
    EXPECT_EQ(out, (std::vector<int>{10, 20, 30, 40}));
  }
}

TEST(ThreadPoolStop, ShutdownWithCancelFuturesStopsARunningMapChunk) {
  cf::ThreadPoolExecutor pool(1);
  cft::Gate started;
  auto results = pool.map(
      cf::MapOptions{.chunksize = 2},
      [&](std::stop_token st, int x) { return run_until_stopped(st, &started) ? x : -1; },
      std::vector<int>{1, 2});
  ASSERT_TRUE(started.wait());
  pool.shutdown(true, true);
  std::vector<int> out(results.begin(), results.end());
  EXPECT_EQ(out, (std::vector<int>{1, 2})) << "both elements of the chunk saw the stop";
}

}  // namespace
