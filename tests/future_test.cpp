// Tests for Future and Promise states (future.hpp): every state transition and misuse,
// result()/exception() with and without timeouts, and the value types a future holds.
#include "concurrent/futures/future.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "concurrent/futures/errors.hpp"
#include "concurrent/futures/thread_pool.hpp"
#include "message_check.hpp"
#include "test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
using namespace std::chrono_literals;
using cft::expect_sentence;
using cft::kLongTimeout;
using cft::what_of;

namespace {

// ------------------------------------------------------------------------------------
// States and transitions.

TEST(FutureState, ToString) {
  EXPECT_STREQ(cf::to_string(cf::FutureState::pending), "pending");
  EXPECT_STREQ(cf::to_string(cf::FutureState::running), "running");
  EXPECT_STREQ(cf::to_string(cf::FutureState::cancelled), "cancelled");
  EXPECT_STREQ(cf::to_string(cf::FutureState::finished), "finished");
}

TEST(Future, NewFutureIsPending) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  EXPECT_TRUE(f.valid());
  EXPECT_EQ(f.state(), cf::FutureState::pending);
  EXPECT_FALSE(f.done());
  EXPECT_FALSE(f.running());
  EXPECT_FALSE(f.cancelled());
}

TEST(Future, CannedStates) {
  cft::CannedFutures<> c;
  EXPECT_EQ(c.pending.state(), cf::FutureState::pending);
  EXPECT_EQ(c.running.state(), cf::FutureState::running);
  EXPECT_EQ(c.cancelled.state(), cf::FutureState::cancelled);
  EXPECT_EQ(c.failed.state(), cf::FutureState::finished);
  EXPECT_EQ(c.succeeded.state(), cf::FutureState::finished);

  EXPECT_TRUE(c.running.running());
  EXPECT_FALSE(c.running.done());
  EXPECT_TRUE(c.cancelled.cancelled());
  EXPECT_TRUE(c.cancelled.done());
  EXPECT_FALSE(c.cancelled.running());
  EXPECT_TRUE(c.failed.done());
  EXPECT_FALSE(c.failed.cancelled());
  EXPECT_TRUE(c.succeeded.done());
  EXPECT_FALSE(c.succeeded.running());
}

TEST(Future, CancelReturnsPerState) {
  cft::CannedFutures<> c;
  EXPECT_TRUE(c.pending.cancel());
  EXPECT_TRUE(c.pending.cancelled());
  EXPECT_TRUE(c.pending.cancel()) << "cancel() on a cancelled future returns true";
  EXPECT_FALSE(c.running.cancel());
  EXPECT_EQ(c.running.state(), cf::FutureState::running);
  EXPECT_TRUE(c.cancelled.cancel());
  EXPECT_FALSE(c.failed.cancel());
  EXPECT_EQ(c.failed.state(), cf::FutureState::finished);
  EXPECT_FALSE(c.succeeded.cancel());
  EXPECT_EQ(c.succeeded.result(), 42);
}

TEST(Future, PendingToRunningToFinished) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  EXPECT_TRUE(p.set_running_or_notify_cancel());
  EXPECT_TRUE(f.running());
  p.set_result(7);
  EXPECT_EQ(f.state(), cf::FutureState::finished);
  EXPECT_FALSE(f.running());
  EXPECT_EQ(f.result(), 7);
  EXPECT_EQ(f.exception(), nullptr);
}

TEST(Future, PendingStraightToFinished) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  p.set_result(5);
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.result(), 5);
}

TEST(Future, PendingStraightToFailed) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  p.set_exception(std::make_exception_ptr(cft::TestError("bad")));
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_THROW((void)f.result(), cft::TestError);
  std::exception_ptr e = f.exception();
  ASSERT_NE(e, nullptr);
  EXPECT_THROW(std::rethrow_exception(e), cft::TestError);
}

TEST(Future, SetRunningOnCancelledReturnsFalseAndKeepsState) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  int calls = 0;
  f.add_done_callback([&](const cf::Future<int>&) { ++calls; });
  ASSERT_TRUE(f.cancel());
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(p.set_running_or_notify_cancel());
  EXPECT_TRUE(f.cancelled());
  EXPECT_EQ(calls, 1) << "callbacks must not run again";
}

TEST(Future, SetRunningTwiceThrows) {
  cf::Promise<int> p;
  ASSERT_TRUE(p.set_running_or_notify_cancel());
  const std::string message = what_of([&] { (void)p.set_running_or_notify_cancel(); });
  EXPECT_THROW((void)p.set_running_or_notify_cancel(), cf::InvalidStateError);
  EXPECT_NE(message.find("already running"), std::string::npos) << message;
  expect_sentence(message);
}

TEST(Future, SetRunningOnFinishedThrows) {
  cf::Promise<int> p;
  p.set_result(1);
  EXPECT_THROW((void)p.set_running_or_notify_cancel(), cf::InvalidStateError);
  cf::Promise<int> q;
  q.set_exception(std::make_exception_ptr(cft::TestError()));
  EXPECT_THROW((void)q.set_running_or_notify_cancel(), cf::InvalidStateError);
}

TEST(Future, DoubleSetResultThrows) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  p.set_result(1);
  const std::string message = what_of([&] { p.set_result(2); });
  EXPECT_THROW(p.set_result(2), cf::InvalidStateError);
  EXPECT_NE(message.find("already finished"), std::string::npos) << message;
  expect_sentence(message);
  EXPECT_EQ(f.result(), 1) << "the first value stays";
}

TEST(Future, SetExceptionAfterResultThrows) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  p.set_result(1);
  EXPECT_THROW(p.set_exception(std::make_exception_ptr(cft::TestError())), cf::InvalidStateError);
  EXPECT_EQ(f.result(), 1);
}

TEST(Future, SetResultAfterExceptionThrows) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  p.set_exception(std::make_exception_ptr(cft::TestError()));
  EXPECT_THROW(p.set_result(1), cf::InvalidStateError);
  EXPECT_THROW(p.set_exception(std::make_exception_ptr(cft::TestError())), cf::InvalidStateError);
  EXPECT_THROW((void)f.result(), cft::TestError);
}

TEST(Future, SetAfterCancelThrows) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  ASSERT_TRUE(f.cancel());
  const std::string message = what_of([&] { p.set_result(1); });
  EXPECT_NE(message.find("cancelled"), std::string::npos) << message;
  EXPECT_THROW(p.set_result(1), cf::InvalidStateError);
  EXPECT_THROW(p.set_exception(std::make_exception_ptr(cft::TestError())), cf::InvalidStateError);
  EXPECT_TRUE(f.cancelled());
}

TEST(Future, SetExceptionWithNullPointerIsRejectedAndChangesNothing) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  EXPECT_THROW(p.set_exception(nullptr), std::invalid_argument);
  EXPECT_FALSE(f.done());
  p.set_result(3);  // the future can still be completed properly
  EXPECT_EQ(f.result(kLongTimeout), 3);
}

// ------------------------------------------------------------------------------------
// result() and exception().

TEST(Future, ResultOfCancelledThrowsCancelledError) {
  cft::CannedFutures<> c;
  EXPECT_THROW((void)c.cancelled.result(), cf::CancelledError);
  EXPECT_THROW((void)c.cancelled.result(0s), cf::CancelledError);
  EXPECT_THROW((void)c.cancelled.result(kLongTimeout), cf::CancelledError);
  EXPECT_THROW((void)c.cancelled.exception(), cf::CancelledError);
  EXPECT_THROW((void)c.cancelled.exception(0s), cf::CancelledError);
}

TEST(Future, ZeroAndNegativeTimeoutsDoNotBlock) {
  cft::CannedFutures<> c;
  for (auto timeout : {0ns, -1ns, std::chrono::nanoseconds(-1h)}) {
    EXPECT_THROW((void)c.pending.result(timeout), cf::TimeoutError);
    EXPECT_THROW((void)c.running.result(timeout), cf::TimeoutError);
    EXPECT_THROW((void)c.pending.exception(timeout), cf::TimeoutError);
    EXPECT_THROW((void)c.running.exception(timeout), cf::TimeoutError);
    EXPECT_EQ(c.succeeded.result(timeout), 42) << "a done future reports at once";
    EXPECT_EQ(c.succeeded.exception(timeout), nullptr);
    EXPECT_THROW((void)c.failed.result(timeout), cft::TestError);
    EXPECT_NE(c.failed.exception(timeout), nullptr);
  }
  EXPECT_THROW((void)c.pending.result(-5s), cf::TimeoutError);
  EXPECT_THROW((void)c.pending.result(std::chrono::duration<double>(-0.5)), cf::TimeoutError);
}

TEST(Future, ShortTimeoutWaitsAtLeastThatLong) {
  cft::CannedFutures<> c;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW((void)c.pending.result(20ms), cf::TimeoutError);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
  const std::string message = what_of([&] { (void)c.running.exception(1ms); });
  expect_sentence(message);
}

TEST(Future, HugeTimeoutsDoNotOverflow) {
  cft::CannedFutures<> c;
  EXPECT_EQ(c.succeeded.result(std::chrono::hours::max()), 42);
  EXPECT_EQ(c.succeeded.result(std::chrono::nanoseconds::max()), 42);
  EXPECT_EQ(c.succeeded.result(std::chrono::duration<double>(1e300)), 42);

  // A pending future with a huge timeout must wait (not time out at once).
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  std::thread t([&] {
    // Completing before the reader blocks is fine too: result() must return 3 either way.
    p.set_result(3);
  });
  EXPECT_EQ(f.result(std::chrono::hours::max()), 3);
  t.join();
  cf::Promise<int> q;
  cf::Future<int> g = q.get_future();
  std::thread u([&] { q.set_result(4); });
  EXPECT_EQ(g.result(std::chrono::nanoseconds::max()), 4);
  u.join();
}

TEST(Future, ResultWaitsForAnotherThread) {
  cf::Promise<std::string> p;
  cf::Future<std::string> f = p.get_future();
  std::latch reader_ready(1);
  std::thread writer([&] {
    reader_ready.wait();
    p.set_result("hello");
  });
  reader_ready.count_down();
  EXPECT_EQ(f.result(kLongTimeout), "hello");
  writer.join();
}

TEST(Future, ResultWithoutTimeoutWaitsForAnotherThread) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  std::thread writer([&] { p.set_result(9); });
  EXPECT_EQ(f.result(), 9);
  writer.join();
}

TEST(Future, CancelWakesBlockedReaders) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  std::latch started(2);
  std::vector<std::thread> readers;
  std::atomic<int> cancelled_errors{0};
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&] {
      started.count_down();
      try {
        (void)f.result(kLongTimeout);
      } catch (const cf::CancelledError&) {
        ++cancelled_errors;
      }
    });
  }
  started.wait();
  EXPECT_TRUE(f.cancel());
  for (auto& t : readers) t.join();
  EXPECT_EQ(cancelled_errors.load(), 2);
}

TEST(Future, ManyReadersOneWriter) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  std::atomic<int> ok{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 8; ++i) {
    readers.emplace_back([&, i] {
      if (i % 2 == 0 ? f.result(kLongTimeout) == 11 : f.exception(kLongTimeout) == nullptr) ++ok;
    });
  }
  p.set_result(11);
  for (auto& t : readers) t.join();
  EXPECT_EQ(ok.load(), 8);
}

TEST(Future, WriterMemoryIsVisibleToReader) {
  // TSan checks this: plain data written before set_result is read after result().
  std::vector<int> data;
  cf::Promise<void> p;
  cf::Future<void> f = p.get_future();
  std::thread writer([&] {
    data.assign(1000, 7);
    p.set_result();
  });
  f.result(kLongTimeout);
  EXPECT_EQ(data.size(), 1000u);
  EXPECT_EQ(data[999], 7);
  writer.join();
}

struct CustomError {
  int code;
};

TEST(Future, ExceptionTypesCarriedToResult) {
  {
    cf::Promise<int> p;
    p.set_exception(std::make_exception_ptr(std::out_of_range("range")));
    try {
      (void)p.get_future().result();
      FAIL() << "no exception";
    } catch (const std::out_of_range& e) {
      EXPECT_STREQ(e.what(), "range");
    }
  }
  {
    cf::Promise<int> p;
    p.set_exception(std::make_exception_ptr(CustomError{17}));
    try {
      (void)p.get_future().result(kLongTimeout);
      FAIL() << "no exception";
    } catch (const CustomError& e) {
      EXPECT_EQ(e.code, 17);
    }
  }
  {
    cf::Promise<int> p;
    p.set_exception(std::make_exception_ptr(42));
    EXPECT_THROW((void)p.get_future().result(), int);
  }
  {
    // The library's own errors stored as results are rethrown as themselves, not
    // mistaken for the future's own state.
    cf::Promise<int> p;
    p.set_exception(std::make_exception_ptr(cf::TimeoutError("inner timeout")));
    cf::Future<int> f = p.get_future();
    EXPECT_FALSE(f.cancelled());
    try {
      (void)f.result(kLongTimeout);
      FAIL();
    } catch (const cf::TimeoutError& e) {
      EXPECT_STREQ(e.what(), "inner timeout");
    }
    cf::Promise<int> q;
    q.set_exception(std::make_exception_ptr(cf::CancelledError()));
    EXPECT_FALSE(q.get_future().cancelled());
    EXPECT_THROW((void)q.get_future().result(), cf::CancelledError);
  }
}

// ------------------------------------------------------------------------------------
// Value types.

TEST(FutureVoid, Works) {
  cf::Promise<void> p;
  cf::Future<void> f = p.get_future();
  static_assert(std::is_void_v<decltype(f.result())>);
  static_assert(std::is_void_v<decltype(f.result(1s))>);
  EXPECT_THROW(f.result(0s), cf::TimeoutError);
  p.set_result();
  EXPECT_NO_THROW(f.result());
  EXPECT_NO_THROW(f.result(0s));
  EXPECT_EQ(f.exception(), nullptr);
  EXPECT_THROW(p.set_result(), cf::InvalidStateError);
}

TEST(FutureVoid, FailureAndBrokenPromise) {
  cf::Future<void> f;
  {
    cf::Promise<void> p;
    f = p.get_future();
  }
  EXPECT_THROW(f.result(), cf::BrokenPromise);
  cf::Promise<void> q;
  q.set_exception(std::make_exception_ptr(cft::TestError()));
  EXPECT_THROW(q.get_future().result(), cft::TestError);
}

TEST(FutureValue, ResultIsConstReference) {
  static_assert(std::is_same_v<decltype(std::declval<cf::Future<int>&>().result()), const int&>);
  static_assert(std::is_same_v<decltype(std::declval<cf::Future<std::string>&>().result(1s)),
                               const std::string&>);
  cf::Promise<std::string> p;
  cf::Future<std::string> f = p.get_future();
  p.set_result(std::string(100, 'x'));
  EXPECT_EQ(&f.result(), &f.result()) << "result() must not copy";
  EXPECT_EQ(f.result().size(), 100u);
}

// A future whose state only the returned handle holds, as an executor's often is.
cf::Future<std::vector<std::string>> words_future() {
  cf::Promise<std::vector<std::string>> p;
  p.set_result(std::vector<std::string>{std::string(40, 'a'), std::string(40, 'b')});
  return p.get_future();
}

// Regression (issue 7): under ASan, a `const T&` from a temporary read freed memory.
TEST(FutureValue, ResultOfTemporaryIsAValue) {
  static_assert(std::is_same_v<decltype(std::declval<cf::Future<int>>().result()), int>);
  static_assert(
      std::is_same_v<decltype(std::declval<cf::Future<std::string>>().result(1s)), std::string>);
  static_assert(std::is_void_v<decltype(std::declval<cf::Future<void>>().result())>);
  static_assert(
      std::is_same_v<decltype(std::declval<const cf::Future<int>&>().result()), const int&>);
  std::string joined;
  for (const std::string& w : words_future().result()) joined += w;
  EXPECT_EQ(joined, std::string(40, 'a') + std::string(40, 'b'));

  cf::ThreadPoolExecutor pool(1);
  const auto words = [](int n) { return std::vector<std::string>(n, std::string(40, 'w')); };
  std::size_t total = 0;
  for (const std::string& w : pool.submit(words, 3).result(kLongTimeout)) total += w.size();
  EXPECT_EQ(total, 120u);
}

TEST(FutureValue, MoveOnlyValue) {
  cf::Promise<std::unique_ptr<int>> p;
  cf::Future<std::unique_ptr<int>> f = p.get_future();
  p.set_result(std::make_unique<int>(12));
  ASSERT_NE(f.result(), nullptr);
  EXPECT_EQ(*f.result(), 12);
}

struct NoDefault {
  explicit NoDefault(int v) : value(v) {}
  int value;
};

TEST(FutureValue, NoDefaultConstructor) {
  cf::Promise<NoDefault> p;
  cf::Future<NoDefault> f = p.get_future();
  p.set_result(NoDefault(6));
  EXPECT_EQ(f.result().value, 6);
}

struct ThrowsOnCopy {
  ThrowsOnCopy() = default;
  ThrowsOnCopy(const ThrowsOnCopy&) { throw cft::TestError("copy failed"); }
};

TEST(FutureValue, ValueWhoseCopyThrowsLeavesFuturePending) {
  cf::Promise<ThrowsOnCopy> p;
  cf::Future<ThrowsOnCopy> f = p.get_future();
  const ThrowsOnCopy value;
  EXPECT_THROW(p.set_result(value), cft::TestError);
  EXPECT_FALSE(f.done());
  p.set_exception(std::make_exception_ptr(cft::TestError("second")));
  EXPECT_THROW((void)f.result(), cft::TestError);
}

TEST(FutureValue, ResultOutlivesPromise) {
  cf::Future<std::vector<int>> f;
  {
    cf::Promise<std::vector<int>> p;
    f = p.get_future();
    p.set_result(std::vector<int>{1, 2, 3});
  }
  EXPECT_EQ(f.result(), (std::vector<int>{1, 2, 3}));
}

}  // namespace
