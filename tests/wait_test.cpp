// Tests for wait() and as_completed() (wait.hpp): every ReturnWhen against futures in
// every state (CPython's test_wait cases), timeouts, duplicates, input order, mixed
// value types, gh-92001 (a cancelled future is done at once), early destruction of an
// as_completed range, and linear cost on 1,000,000 futures.
#include "concurrent/futures/wait.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <iterator>
#include <latch>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
using namespace std::chrono_literals;
using cft::kLongTimeout;

namespace {

using IntFutures = std::vector<cf::Future<int>>;

// The futures of `c` in a fixed order, to make expectations read well.
IntFutures all_of(const cft::CannedFutures<>& c) {
  return {c.pending, c.running, c.cancelled, c.failed, c.succeeded};
}

// ------------------------------------------------------------------------------------
// The result type and what compiles.

TEST(Wait, StructuredBindingsCompile) {
  cft::CannedFutures<> c;
  IntFutures fs = all_of(c);
  auto [done, not_done] = cf::wait(fs, 2s, cf::FIRST_COMPLETED);
  static_assert(std::is_same_v<decltype(done), std::vector<cf::Future<int>>>);
  EXPECT_EQ(done.size(), 3u);
  EXPECT_EQ(not_done.size(), 2u);
  static_assert(std::is_same_v<decltype(cf::wait({c.pending, c.succeeded})),
                               cf::DoneAndNotDone<cf::AnyFuture>>);
}

TEST(Wait, AcceptsAnyRangeOfFutures) {
  cft::CannedFutures<> c;
  std::array<cf::Future<int>, 2> arr{c.failed, c.succeeded};
  std::list<cf::Future<int>> lst{c.cancelled, c.succeeded};
  std::deque<cf::AnyFuture> dq{c.cancelled, c.failed};
  const IntFutures cv{c.succeeded};
  EXPECT_EQ(cf::wait(arr).done.size(), 2u);
  EXPECT_EQ(cf::wait(lst, 0s).done.size(), 2u);
  EXPECT_EQ(cf::wait(dq, 1s, cf::FIRST_EXCEPTION).done.size(), 2u);
  EXPECT_EQ(cf::wait(cv, cf::ALL_COMPLETED).done.size(), 1u);
  EXPECT_EQ(cf::wait(IntFutures{c.succeeded, c.failed}).done.size(), 2u);
}

TEST(Wait, BracedListMixesValueTypes) {
  cf::Promise<int> pi;
  cf::Promise<void> pv;
  cf::Promise<std::string> ps;
  cf::Future<int> fi = pi.get_future();
  cf::Future<void> fv = pv.get_future();
  cf::Future<std::string> fs = ps.get_future();
  pv.set_result();
  ps.set_result("s");
  auto [done, not_done] = cf::wait({fi, fv, fs}, 0s);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0], cf::AnyFuture(fv));
  EXPECT_EQ(done[1], cf::AnyFuture(fs));
  ASSERT_EQ(not_done.size(), 1u);
  EXPECT_EQ(not_done[0], cf::AnyFuture(fi));
  std::thread t([&] { pi.set_result(1); });
  auto all = cf::wait({fi, fv, fs}, cf::ALL_COMPLETED);
  t.join();
  EXPECT_EQ(all.done.size(), 3u);
  EXPECT_TRUE(all.not_done.empty());
  EXPECT_EQ(cf::wait({fi, fv}, kLongTimeout, cf::FIRST_COMPLETED).done.size(), 2u);
}

TEST(Wait, EmptyInput) {
  IntFutures none;
  for (auto when : {cf::FIRST_COMPLETED, cf::FIRST_EXCEPTION, cf::ALL_COMPLETED}) {
    auto r = cf::wait(none, when);
    EXPECT_TRUE(r.done.empty());
    EXPECT_TRUE(r.not_done.empty());
  }
}

TEST(Wait, EmptyHandleIsRejected) {
  cft::CannedFutures<> c;
  IntFutures fs{c.succeeded, cf::Future<int>()};
  EXPECT_THROW(cf::wait(fs), cf::InvalidStateError);
  EXPECT_THROW(cf::as_completed(fs), cf::InvalidStateError);
}

// ------------------------------------------------------------------------------------
// FIRST_COMPLETED.

TEST(Wait, FirstCompletedReturnsDoneOnesAtOnceInInputOrder) {
  cft::CannedFutures<> c;
  auto [done, not_done] = cf::wait(all_of(c), cf::FIRST_COMPLETED);  // no timeout
  EXPECT_EQ(done, (IntFutures{c.cancelled, c.failed, c.succeeded}));
  EXPECT_EQ(not_done, (IntFutures{c.pending, c.running}));
}

TEST(Wait, FirstCompletedTimesOutWithoutThrowing) {
  cft::CannedFutures<> c;
  auto [done, not_done] = cf::wait(IntFutures{c.pending, c.running}, 10ms, cf::FIRST_COMPLETED);
  EXPECT_TRUE(done.empty());
  EXPECT_EQ(not_done, (IntFutures{c.pending, c.running}));
}

TEST(Wait, FirstCompletedWakesOnCompletion) {
  cft::CannedFutures<> c;
  std::thread t([&] { c.running_promise.set_result(1); });
  auto [done, not_done] =
      cf::wait(IntFutures{c.pending, c.running}, kLongTimeout, cf::FIRST_COMPLETED);
  t.join();
  EXPECT_EQ(done, (IntFutures{c.running}));
  EXPECT_EQ(not_done, (IntFutures{c.pending}));
}

TEST(Wait, FirstCompletedWakesOnCancelGh92001) {
  cft::CannedFutures<> c;
  std::thread t([&] { EXPECT_TRUE(c.pending.cancel()); });
  auto [done, not_done] =
      cf::wait(IntFutures{c.pending, c.running}, kLongTimeout, cf::FIRST_COMPLETED);
  t.join();
  EXPECT_EQ(done, (IntFutures{c.pending}));
  EXPECT_EQ(not_done, (IntFutures{c.running}));
}

// ------------------------------------------------------------------------------------
// FIRST_EXCEPTION.

TEST(Wait, FirstExceptionReturnsAtOnceWhenOneFailed) {
  cft::CannedFutures<> c;
  auto [done, not_done] = cf::wait(all_of(c), cf::FIRST_EXCEPTION);  // no timeout
  EXPECT_EQ(done, (IntFutures{c.cancelled, c.failed, c.succeeded}));
  EXPECT_EQ(not_done, (IntFutures{c.pending, c.running}));
}

TEST(Wait, FirstExceptionIgnoresCancellationAndSuccess) {
  cft::CannedFutures<> c;
  auto [done, not_done] =
      cf::wait(IntFutures{c.cancelled, c.succeeded, c.pending}, 10ms, cf::FIRST_EXCEPTION);
  EXPECT_EQ(done, (IntFutures{c.cancelled, c.succeeded}));
  EXPECT_EQ(not_done, (IntFutures{c.pending}));
}

TEST(Wait, FirstExceptionWakesOnFailure) {
  cft::CannedFutures<> c;
  std::thread t([&] {
    c.pending_promise.set_result(1);  // success: not enough to wake
    c.running_promise.set_exception(std::make_exception_ptr(cft::TestError()));
  });
  cf::Promise<int> never;
  cf::Future<int> other = never.get_future();
  auto [done, not_done] =
      cf::wait(IntFutures{c.pending, other, c.running}, kLongTimeout, cf::FIRST_EXCEPTION);
  t.join();
  EXPECT_EQ(done, (IntFutures{c.pending, c.running}));
  EXPECT_EQ(not_done, (IntFutures{other}));
}

TEST(Wait, FirstExceptionWithoutFailureBehavesLikeAllCompleted) {
  cft::CannedFutures<> c;
  std::thread t([&] {
    EXPECT_TRUE(c.pending.cancel());
    c.running_promise.set_result(5);
  });
  auto [done, not_done] =
      cf::wait(IntFutures{c.pending, c.running, c.succeeded}, kLongTimeout, cf::FIRST_EXCEPTION);
  t.join();
  EXPECT_EQ(done, (IntFutures{c.pending, c.running, c.succeeded}));
  EXPECT_TRUE(not_done.empty());
}

TEST(Wait, FirstExceptionAllDoneReturnsAtOnce) {
  cft::CannedFutures<> c;
  auto [done, not_done] = cf::wait(IntFutures{c.cancelled, c.succeeded}, cf::FIRST_EXCEPTION);
  EXPECT_EQ(done.size(), 2u);
  EXPECT_TRUE(not_done.empty());
}

// ------------------------------------------------------------------------------------
// ALL_COMPLETED.

TEST(Wait, AllCompletedWithAllDone) {
  cft::CannedFutures<> c;
  IntFutures fs{c.succeeded, c.failed, c.cancelled};
  auto [done, not_done] = cf::wait(fs);  // default is ALL_COMPLETED, no timeout
  EXPECT_EQ(done, fs);
  EXPECT_TRUE(not_done.empty());
}

TEST(Wait, AllCompletedTimesOutWithPartialSplit) {
  cft::CannedFutures<> c;
  auto [done, not_done] = cf::wait(all_of(c), 10ms, cf::ALL_COMPLETED);
  EXPECT_EQ(done, (IntFutures{c.cancelled, c.failed, c.succeeded}));
  EXPECT_EQ(not_done, (IntFutures{c.pending, c.running}));
}

TEST(Wait, AllCompletedWaitsForEveryOne) {
  cft::CannedFutures<> c;
  std::thread t([&] {
    c.pending_promise.set_exception(std::make_exception_ptr(cft::TestError()));
    c.running_promise.set_result(2);
  });
  auto [done, not_done] = cf::wait(all_of(c), kLongTimeout);
  t.join();
  EXPECT_EQ(done, all_of(c));
  EXPECT_TRUE(not_done.empty());
}

TEST(Wait, CancelCountsAsDoneAtOnceGh92001) {
  // CPython only sees a cancelled future once its executor notices; here cancel() is
  // enough, so this wait returns without any executor.
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  std::thread t([&] { EXPECT_TRUE(f.cancel()); });
  auto [done, not_done] = cf::wait(IntFutures{f}, kLongTimeout, cf::ALL_COMPLETED);
  t.join();
  EXPECT_EQ(done, (IntFutures{f}));
  EXPECT_TRUE(not_done.empty());
}

TEST(Wait, ZeroAndNegativeTimeoutsReportNow) {
  cft::CannedFutures<> c;
  for (auto timeout : {0ns, -1ns, std::chrono::nanoseconds(-10s)}) {
    for (auto when : {cf::FIRST_COMPLETED, cf::FIRST_EXCEPTION, cf::ALL_COMPLETED}) {
      auto [done, not_done] = cf::wait(all_of(c), timeout, when);
      EXPECT_EQ(done.size(), 3u);
      EXPECT_EQ(not_done.size(), 2u);
    }
  }
}

TEST(Wait, HugeTimeoutDoesNotOverflow) {
  cft::CannedFutures<> c;
  auto r = cf::wait(IntFutures{c.succeeded}, std::chrono::nanoseconds::max());
  EXPECT_EQ(r.done.size(), 1u);
  std::thread t([&] { c.pending_promise.set_result(0); });
  auto s = cf::wait(IntFutures{c.pending}, std::chrono::hours::max());
  t.join();
  EXPECT_EQ(s.done.size(), 1u);
}

TEST(Wait, DuplicatesDroppedOrderKept) {
  cft::CannedFutures<> c;
  IntFutures fs{c.succeeded, c.pending, c.succeeded, c.failed, c.pending, c.failed};
  auto [done, not_done] = cf::wait(fs, 0s);
  EXPECT_EQ(done, (IntFutures{c.succeeded, c.failed}));
  EXPECT_EQ(not_done, (IntFutures{c.pending}));
  // Duplicates must not count twice towards ALL_COMPLETED either.
  std::thread t([&] { c.pending_promise.set_result(1); });
  auto all = cf::wait(fs, kLongTimeout);
  t.join();
  EXPECT_EQ(all.done, (IntFutures{c.succeeded, c.pending, c.failed}));
}

TEST(Wait, DuplicatesThroughDifferentHandleTypes) {
  cft::CannedFutures<> c;
  auto [done, not_done] = cf::wait({c.succeeded, cf::AnyFuture(c.succeeded), c.pending}, 0s);
  EXPECT_EQ(done.size(), 1u);
  EXPECT_EQ(not_done.size(), 1u);
}

TEST(Wait, ManyWaitersOnTheSameFutures) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  std::latch ready(4);
  std::atomic<int> woke{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 4; ++i) {
    waiters.emplace_back([&, i] {
      ready.count_down();
      const auto when = i % 2 ? cf::FIRST_COMPLETED : cf::ALL_COMPLETED;
      if (cf::wait(IntFutures{f}, kLongTimeout, when).done.size() == 1) ++woke;
    });
  }
  ready.wait();
  p.set_result(1);
  for (auto& t : waiters) t.join();
  EXPECT_EQ(woke.load(), 4);
}

// ------------------------------------------------------------------------------------
// as_completed.

TEST(AsCompleted, DoneOnesFirstThenCompletionOrder) {
  std::vector<cf::Promise<int>> promises(4);
  IntFutures fs;
  for (auto& p : promises) fs.push_back(p.get_future());
  promises[2].set_result(2);
  std::vector<int> seen;
  auto completed = cf::as_completed(fs, kLongTimeout);
  std::optional<std::thread> writer;
  for (const cf::Future<int>& f : completed) {
    seen.push_back(f.result());
    if (!writer) {
      // Once the already-done one is out, finish the rest in the order 3, 0, 1.
      writer.emplace([&] {
        promises[3].set_result(3);
        promises[0].set_result(0);
        promises[1].set_result(1);
      });
    }
  }
  writer->join();
  EXPECT_EQ(seen, (std::vector<int>{2, 3, 0, 1}));
}

TEST(AsCompleted, AlreadyDoneInInputOrder) {
  cft::CannedFutures<> c;
  std::vector<cf::Future<int>> out;
  for (const auto& f : cf::as_completed(IntFutures{c.succeeded, c.cancelled, c.failed})) {
    out.push_back(f);
  }
  EXPECT_EQ(out, (IntFutures{c.succeeded, c.cancelled, c.failed}));
}

TEST(AsCompleted, DuplicatesYieldedOnce) {
  cft::CannedFutures<> c;
  int count = 0;
  for (const auto& f : cf::as_completed(IntFutures{c.succeeded, c.succeeded, c.succeeded})) {
    EXPECT_EQ(f.result(), 42);
    ++count;
  }
  EXPECT_EQ(count, 1);
}

TEST(AsCompleted, TimeoutThrowsAfterYieldingDoneOnes) {
  // CPython's test: [CANCELLED_AND_NOTIFIED, PENDING, RUNNING, SUCCESSFUL], timeout 0.
  cft::CannedFutures<> c;
  IntFutures fs{c.cancelled, c.pending, c.running, c.succeeded};
  std::vector<cf::Future<int>> yielded;
  std::string message;
  auto range = cf::as_completed(fs, 0s);
  auto it = range.begin();
  try {
    for (; it != range.end(); ++it) yielded.push_back(*it);
    FAIL() << "no TimeoutError";
  } catch (const cf::TimeoutError& e) {
    message = e.what();
  }
  EXPECT_EQ(yielded, (IntFutures{c.cancelled, c.succeeded}));
  EXPECT_NE(message.find("2 (of 4) futures unfinished"), std::string::npos) << message;
  EXPECT_TRUE(it == range.end()) << "the range ends after the TimeoutError";
}

TEST(AsCompleted, TimeoutCountsFromTheCall) {
  cft::CannedFutures<> c;
  const auto start = std::chrono::steady_clock::now();
  auto range = cf::as_completed(IntFutures{c.pending}, 20ms);
  std::this_thread::sleep_until(start + 40ms);  // let the timeout pass before iterating
  const auto before_begin = std::chrono::steady_clock::now();
  EXPECT_THROW((void)range.begin(), cf::TimeoutError);
  EXPECT_LT(std::chrono::steady_clock::now() - before_begin, 15s) << "must not wait again";
}

TEST(AsCompleted, TimeoutWithPositiveDurationWaits) {
  cft::CannedFutures<> c;
  const auto start = std::chrono::steady_clock::now();
  int yielded = 0;
  try {
    for (const auto& f : cf::as_completed(IntFutures{c.succeeded, c.pending}, 20ms)) {
      (void)f;
      ++yielded;
    }
    FAIL() << "no TimeoutError";
  } catch (const cf::TimeoutError& e) {
    EXPECT_NE(std::string(e.what()).find("1 (of 2) futures unfinished"), std::string::npos);
  }
  EXPECT_EQ(yielded, 1);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
}

TEST(AsCompleted, CancelFromAnotherThreadIsYieldedGh92001) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  std::thread t([&] { EXPECT_TRUE(f.cancel()); });
  int count = 0;
  for (const auto& g : cf::as_completed(IntFutures{f}, kLongTimeout)) {
    EXPECT_TRUE(g.cancelled());
    ++count;
  }
  t.join();
  EXPECT_EQ(count, 1);
}

// Regression (issue 7): Python's `list(as_completed(fs))`.
TEST(AsCompleted, CollectsIntoAContainer) {
  cft::CannedFutures<> c;
  auto range = cf::as_completed(IntFutures{c.succeeded, c.failed, c.cancelled});
  static_assert(std::is_same_v<decltype(range.begin()), decltype(range.end())>);
  std::vector<cf::Future<int>> done(range.begin(), range.end());
  EXPECT_EQ(done, (IntFutures{c.succeeded, c.failed, c.cancelled}));
}

TEST(AsCompleted, EmptyInput) {
  int count = 0;
  for (const auto& f : cf::as_completed(IntFutures{})) {
    (void)f;
    ++count;
  }
  for (const auto& f : cf::as_completed(IntFutures{}, 0s)) {
    (void)f;
    ++count;
  }
  EXPECT_EQ(count, 0);
}

TEST(AsCompleted, BracedListOfAnyFuture) {
  cft::CannedFutures<> c;
  cf::Promise<void> pv;
  pv.set_result();
  int count = 0;
  for (const cf::AnyFuture& f : cf::as_completed({c.succeeded, pv.get_future(), c.failed})) {
    EXPECT_TRUE(f.done());
    ++count;
  }
  EXPECT_EQ(count, 3);
}

TEST(AsCompleted, BracedListWithTimeoutThrowsForThePendingOne) {
  cft::CannedFutures<> c;
  std::vector<cf::AnyFuture> seen;
  EXPECT_THROW(
      {
        for (const cf::AnyFuture& f : cf::as_completed({c.succeeded, c.pending}, 0s)) {
          seen.push_back(f);
        }
      },
      cf::TimeoutError);
  ASSERT_EQ(seen.size(), 1U);
  EXPECT_EQ(seen[0], cf::AnyFuture(c.succeeded));
}

TEST(AsCompleted, IteratorIsAnInputIterator) {
  using Range = decltype(cf::as_completed(std::declval<const IntFutures&>()));
  using It = decltype(std::declval<Range&>().begin());
  static_assert(std::input_iterator<It>);
  static_assert(std::is_same_v<std::iter_value_t<It>, cf::Future<int>>);
  SUCCEED();
}

TEST(AsCompleted, DestroyingTheRangeEarlyUnlinks) {
  // Futures that finish after the range is gone must not touch its freed waiter:
  // AddressSanitizer reports it if they do.
  for (int taken = 0; taken < 3; ++taken) {
    std::vector<cf::Promise<int>> promises(4);
    IntFutures fs;
    for (auto& p : promises) fs.push_back(p.get_future());
    promises[0].set_result(0);
    {
      auto range = cf::as_completed(fs, kLongTimeout);
      if (taken > 0) {
        auto it = range.begin();
        EXPECT_EQ(it->result(), 0);
        if (taken > 1) {
          promises[1].set_result(1);  // notified, not yet handed out
          promises[2].set_result(2);
          ++it;
          EXPECT_EQ(it->result(), 1);
        }
      }
    }
    for (std::size_t i = 1; i < promises.size(); ++i) {
      if (!fs[i].done()) promises[i].set_result(static_cast<int>(i));
    }
    for (const auto& f : fs) EXPECT_TRUE(f.done());
  }
}

TEST(AsCompleted, RangeOutlivingCallersFutures) {
  // The range keeps the futures it still has to yield alive on its own.
  std::vector<cf::Promise<int>> promises(3);
  std::optional<decltype(cf::as_completed(std::declval<const IntFutures&>()))> range;
  {
    IntFutures fs;
    for (auto& p : promises) fs.push_back(p.get_future());
    range.emplace(cf::as_completed(fs));
  }
  std::thread t([&] {
    for (int i = 2; i >= 0; --i) promises[i].set_result(i);
  });
  std::vector<int> seen;
  for (const auto& f : *range) seen.push_back(f.result());
  t.join();
  EXPECT_EQ(seen, (std::vector<int>{2, 1, 0}));
}

TEST(AsCompleted, ConcurrentCompletionWhileIterating) {
  constexpr int n = 200;
  std::vector<cf::Promise<int>> promises(n);
  IntFutures fs;
  for (auto& p : promises) fs.push_back(p.get_future());
  std::thread t([&] {
    for (int i = 0; i < n; ++i) {
      if (i % 3 == 0) {
        (void)fs[i].cancel();
      } else {
        promises[i].set_result(i);
      }
    }
  });
  std::vector<bool> seen(n, false);
  int count = 0;
  for (const auto& f : cf::as_completed(fs, kLongTimeout)) {
    const auto index = static_cast<std::size_t>(std::find(fs.begin(), fs.end(), f) - fs.begin());
    ASSERT_LT(index, fs.size());
    EXPECT_FALSE(seen[index]);
    seen[index] = true;
    ++count;
  }
  t.join();
  EXPECT_EQ(count, n);
}

// ------------------------------------------------------------------------------------
// Scale: 1,000,000 futures. Linear cost keeps this fast; a quadratic wait would not
// finish in the ctest timeout. Scaled down under sanitizers (memory, not time).

TEST(Scale, WaitAndAsCompletedOnAMillionFutures) {
  const std::size_t n = cft::scaled(1'000'000);
  std::vector<cf::Promise<int>> promises(n);
  IntFutures fs;
  fs.reserve(n);
  for (auto& p : promises) fs.push_back(p.get_future());
  for (std::size_t i = 0; i < n; i += 2) promises[i].set_result(1);

  auto now = cf::wait(fs, 0s);
  EXPECT_EQ(now.done.size(), (n + 1) / 2);
  EXPECT_EQ(now.not_done.size(), n / 2);
  EXPECT_EQ(cf::wait(fs, cf::FIRST_COMPLETED).done.size(), (n + 1) / 2);

  std::thread t([&] {
    for (std::size_t i = 1; i < n; i += 2) promises[i].set_result(2);
  });
  auto all = cf::wait(fs, kLongTimeout * 4, cf::ALL_COMPLETED);
  t.join();
  EXPECT_EQ(all.done.size(), n);
  EXPECT_TRUE(all.not_done.empty());

  std::size_t count = 0;
  for (const auto& f : cf::as_completed(fs, kLongTimeout)) count += f.done() ? 1 : 0;
  EXPECT_EQ(count, n);
}

TEST(Scale, AsCompletedOnAMillionPendingFutures) {
  const std::size_t n = cft::scaled(1'000'000);
  std::vector<cf::Promise<int>> promises(n);
  IntFutures fs;
  fs.reserve(n);
  for (auto& p : promises) fs.push_back(p.get_future());
  auto range = cf::as_completed(fs, kLongTimeout * 4);
  std::thread t([&] {
    for (std::size_t i = n; i-- > 0;) promises[i].set_result(static_cast<int>(i));
  });
  std::size_t count = 0;
  for (const auto& f : range) count += f.done() ? 1 : 0;
  t.join();
  EXPECT_EQ(count, n);
}

}  // namespace
