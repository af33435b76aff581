// Tests for when_all and when_any (wait.hpp): what they take (ranges of Future<T> or
// AnyFuture, braced lists), already-done inputs, errors left to the inputs, empty
// inputs, and futures from both pools and bare Promises.
#include "concurrent/futures/wait.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <list>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "concurrent/futures/process_pool.hpp"
#include "concurrent/futures/thread_pool.hpp"
#include "test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
using cft::kLongTimeout;

namespace {

int seven() { return 7; }

TEST(WhenAll, DoneOnceEveryInputIsDone) {
  std::vector<cf::Promise<int>> promises(3);
  std::vector<cf::Future<int>> futures;
  for (auto& p : promises) futures.push_back(p.get_future());
  cf::Future<void> all = cf::when_all(futures);
  promises[2].set_result(2);
  promises[0].set_exception(std::make_exception_ptr(cft::TestError()));
  EXPECT_FALSE(all.done());
  std::thread last([&] { promises[1].set_result(1); });
  EXPECT_NO_THROW(all.result(kLongTimeout)) << "when_all never fails by itself";
  last.join();
  for (const auto& f : futures) EXPECT_TRUE(f.done());
}

TEST(WhenAll, OfNoFuturesIsDoneAtOnce) {
  EXPECT_TRUE(cf::when_all(std::vector<cf::Future<int>>{}).done());
}

TEST(WhenAll, CancelledInputsCountAndDuplicatesAreFine) {
  cft::CannedFutures<> c;
  cf::Future<void> all =
      cf::when_all(std::list<cf::Future<int>>{c.pending, c.cancelled, c.pending});
  EXPECT_FALSE(all.done());
  c.pending_promise.set_result(1);
  EXPECT_TRUE(all.done());
  c.running_promise.set_result(0);
}

TEST(WhenAll, BracedListOfMixedTypesAndVoid) {
  cf::Promise<int> a;
  cf::Promise<void> b;
  cf::Promise<std::string> s;
  cf::Future<void> all = cf::when_all({a.get_future(), b.get_future(), s.get_future()});
  a.set_result(1);
  b.set_result();
  EXPECT_FALSE(all.done());
  s.set_result("x");
  EXPECT_TRUE(all.done());
}

TEST(WhenAll, CancellingItLeavesTheInputsAlone) {
  cf::Promise<int> p;
  cf::Future<void> all = cf::when_all(std::array{p.get_future()});
  EXPECT_TRUE(all.cancel());
  EXPECT_FALSE(p.get_future().done());
  p.set_result(1);
}

TEST(WhenAll, EmptyHandleIsRejected) {
  EXPECT_THROW(cf::when_all(std::vector<cf::Future<int>>(2)), cf::InvalidStateError);
  EXPECT_THROW(cf::when_any({cf::AnyFuture()}), cf::InvalidStateError);
}

TEST(WhenAny, IndexOfTheFirstDone) {
  std::vector<cf::Promise<int>> promises(3);
  std::vector<cf::Future<int>> futures;
  for (auto& p : promises) futures.push_back(p.get_future());
  cf::Future<std::size_t> any = cf::when_any(futures);
  EXPECT_FALSE(any.done());
  std::thread writer([&] { promises[1].set_exception(std::make_exception_ptr(cft::TestError())); });
  EXPECT_EQ(any.result(kLongTimeout), 1u);
  writer.join();
  promises[0].set_result(0);
  EXPECT_EQ(any.result(), 1u) << "the first stays";
  promises[2].set_result(2);
}

TEST(WhenAny, AlreadyDoneInputsWinInInputOrder) {
  cft::CannedFutures<> c;
  EXPECT_EQ(cf::when_any(std::vector{c.pending, c.failed, c.succeeded}).result(), 1u);
  EXPECT_EQ(cf::when_any({c.running, c.pending, c.cancelled}).result(), 2u);
  c.pending_promise.set_result(1);
  c.running_promise.set_result(1);
}

TEST(WhenAny, OfNoFuturesThrows) {
  try {
    (void)cf::when_any(std::vector<cf::AnyFuture>{});
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("no futures"), std::string::npos) << e.what();
  }
}

TEST(WhenAllAny, FuturesFromBothPools) {
  cf::ThreadPoolExecutor threads(2);
  cf::ProcessPoolExecutor processes({.max_workers = 1, .start_method = cf::StartMethod::fork});
  std::vector<cf::AnyFuture> futures{threads.submit(seven), processes.submit(seven),
                                     threads.submit([] {})};
  cf::when_all(futures).result(kLongTimeout);
  for (const auto& f : futures) EXPECT_TRUE(f.done());
  EXPECT_LT(cf::when_any(futures).result(kLongTimeout), 3u);
}

TEST(WhenAll, LinearOnManyFutures) {
  const std::size_t n = cft::scaled(200'000);
  std::vector<cf::Promise<void>> promises(n);
  std::vector<cf::Future<void>> futures;
  futures.reserve(n);
  for (auto& p : promises) futures.push_back(p.get_future());
  cf::Future<void> all = cf::when_all(futures);
  cf::Future<std::size_t> any = cf::when_any(futures);
  for (auto& p : promises) p.set_result();
  EXPECT_TRUE(all.done());
  EXPECT_EQ(any.result(), 0u);
}

}  // namespace
