// Tests for Future<T>::then (future.hpp): values, exceptions and cancellation carried
// over, the thread fn runs in, what cancelling the new future does to the source, and
// then(executor, fn) on both pools; for Future<void> too, from pools and bare Promises.
#include "concurrent/futures/future.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>

#include "concurrent/futures/errors.hpp"
#include "concurrent/futures/process_pool.hpp"
#include "concurrent/futures/thread_pool.hpp"
#include "test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
using cft::kLongTimeout;

namespace {

int twice(int x) { return 2 * x; }
int forty_two() { return 42; }

TEST(Then, RunsOnTheValueInTheFinishingThread) {
  cf::Promise<int> p;
  std::thread::id ran_in;
  cf::Future<std::string> g = p.get_future().then([&](const int& v) {
    ran_in = std::this_thread::get_id();
    return std::to_string(v);
  });
  static_assert(std::is_same_v<decltype(g), cf::Future<std::string>>);
  EXPECT_FALSE(g.done());
  std::thread writer([&] { p.set_result(7); });
  writer.join();
  EXPECT_EQ(g.result(kLongTimeout), "7");
  EXPECT_NE(ran_in, std::this_thread::get_id());
}

TEST(Then, OnADoneFutureRunsAtOnceInTheCaller) {
  cf::Promise<int> p;
  p.set_result(20);
  std::thread::id ran_in;
  cf::Future<int> g = p.get_future().then([&](int v) {
    ran_in = std::this_thread::get_id();
    return v + 1;
  });
  EXPECT_TRUE(g.done());
  EXPECT_EQ(g.result(), 21);
  EXPECT_EQ(ran_in, std::this_thread::get_id());
}

TEST(Then, ChainsAndDecaysTheResult) {
  cf::Promise<int> p;
  std::string stored = "abc";
  cf::Future<std::string> g =
      p.get_future().then(twice).then([&](int) -> const std::string& { return stored; });
  p.set_result(1);
  stored = "changed";
  EXPECT_EQ(g.result(), "abc") << "the value is copied when fn returns";
}

TEST(Then, ExceptionSkipsFnAndCarriesOver) {
  cf::Promise<int> p;
  bool called = false;
  cf::Future<int> g = p.get_future().then([&](int v) {
    called = true;
    return v;
  });
  p.set_exception(std::make_exception_ptr(std::out_of_range("range")));
  EXPECT_THROW(g.result(), std::out_of_range);
  EXPECT_FALSE(called);
}

TEST(Then, ExceptionFromFnFailsTheNewFuture) {
  cf::Promise<void> p;
  cf::Future<int> g = p.get_future().then([]() -> int { throw cft::TestError("in fn"); });
  p.set_result();
  EXPECT_THROW(g.result(), cft::TestError);
}

TEST(Then, CancelledSourceCancelsTheNewFuture) {
  cf::Promise<int> p;
  bool called = false;
  cf::Future<void> g = p.get_future().then([&](int) { called = true; });
  EXPECT_TRUE(p.get_future().cancel());
  EXPECT_TRUE(g.cancelled());
  EXPECT_THROW(g.result(), cf::CancelledError);
  EXPECT_FALSE(called);
}

TEST(Then, CancellingTheNewFutureCancelsAPendingSource) {
  cf::Promise<int> p;
  bool called = false;
  cf::Future<int> source = p.get_future();
  cf::Future<int> g = source.then([&](int v) {
    called = true;
    return v;
  });
  EXPECT_TRUE(g.cancel());
  EXPECT_TRUE(source.cancelled()) << "a pending source is cancelled with it";
  EXPECT_FALSE(p.set_running_or_notify_cancel());
  EXPECT_FALSE(called);
}

TEST(Then, CancellingTheNewFutureLeavesARunningSourceAlone) {
  cf::Promise<int> p;
  ASSERT_TRUE(p.set_running_or_notify_cancel());
  bool called = false;
  cf::Future<int> g = p.get_future().then([&](int v) {
    called = true;
    return v;
  });
  EXPECT_TRUE(g.cancel());
  EXPECT_TRUE(p.get_future().running());
  p.set_result(3);
  EXPECT_FALSE(called) << "fn does not run for a cancelled continuation";
  EXPECT_TRUE(g.cancelled());
}

TEST(Then, CancelFailsOnceFnRuns) {
  cf::Promise<int> p;
  cft::Gate gate;
  cf::Future<int> g = p.get_future().then([&](int v) {
    gate.wait();
    return v;
  });
  std::thread writer([&] { p.set_result(5); });
  ASSERT_TRUE(gate.wait_arrived(1));
  EXPECT_FALSE(g.cancel());
  EXPECT_TRUE(g.running());
  gate.open();
  writer.join();
  EXPECT_EQ(g.result(), 5);
}

TEST(Then, VoidFuturesBothWays) {
  cf::Promise<void> p;
  int calls = 0;
  cf::Future<void> g = p.get_future().then([&] { ++calls; });
  cf::Future<int> h = g.then(forty_two);
  p.set_result();
  EXPECT_NO_THROW(g.result());
  EXPECT_EQ(h.result(), 42);
  EXPECT_EQ(calls, 1);
}

TEST(Then, OnThreadPoolFutures) {
  cf::ThreadPoolExecutor pool(2);
  cf::Future<int> g = pool.submit(forty_two).then(twice);
  EXPECT_EQ(g.result(kLongTimeout), 84);
  cf::Future<void> v = pool.submit([] {}).then([] {});
  EXPECT_NO_THROW(v.result(kLongTimeout));
}

TEST(Then, ExecutorRunsFnAsACallOnThePool) {
  cf::ThreadPoolExecutor pool({.max_workers = 1, .thread_name_prefix = "then-pool"});
  cf::Promise<int> p;
  cf::Future<std::string> g = p.get_future().then(
      pool, [](int v) { return cft::current_thread_name() + std::to_string(v); });
  p.set_result(9);
  EXPECT_EQ(g.result(kLongTimeout), "then-pool_09");
  cf::Promise<void> q;
  cf::Future<int> h = q.get_future().then(pool, forty_two);
  q.set_result();
  EXPECT_EQ(h.result(kLongTimeout), 42);
}

TEST(Then, ExecutorThatRefusesFailsTheNewFuture) {
  cf::ThreadPoolExecutor pool(1);
  pool.shutdown(true);
  cf::Promise<int> p;
  cf::Future<int> g = p.get_future().then(pool, twice);
  p.set_result(1);
  EXPECT_THROW(g.result(kLongTimeout), std::runtime_error);
}

TEST(Then, ExecutorCallCancelledWithTheNewFuture) {
  cf::ThreadPoolExecutor pool(1);
  cft::Gate gate;
  cf::Future<void> blocker = pool.submit([&] { (void)gate.wait(); });
  ASSERT_TRUE(gate.wait_arrived(1));
  std::atomic<bool> called{false};
  cf::Promise<int> p;
  cf::Future<int> g = p.get_future().then(pool, [&](int v) {
    called = true;
    return v;
  });
  p.set_result(1);  // the call is queued behind the blocker
  EXPECT_TRUE(g.cancel());
  gate.open();
  blocker.result(kLongTimeout);
  pool.shutdown(true);
  EXPECT_FALSE(called);
  EXPECT_TRUE(g.cancelled());
}

TEST(Then, ProcessPoolFutureAndProcessPoolExecutor) {
  cf::ProcessPoolExecutor pool({.max_workers = 1, .start_method = cf::StartMethod::fork});
  cf::Future<int> g = pool.submit(forty_two).then(twice);
  EXPECT_EQ(g.result(kLongTimeout), 84);
  cf::Promise<int> p;
  cf::Future<int> h = p.get_future().then(pool, twice);
  p.set_result(21);
  EXPECT_EQ(h.result(kLongTimeout), 42);
}

}  // namespace
