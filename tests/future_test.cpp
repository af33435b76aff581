// Tests for Future, Promise and AnyFuture (future.hpp) and the error types (errors.hpp):
// every state transition, every misuse, result()/exception() with and without timeouts,
// done-callbacks, BrokenPromise, empty handles and type erasure.
#include "concurrent/futures/future.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "concurrent/futures/errors.hpp"
#include "concurrent/futures/thread_pool.hpp"
#include "test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
using namespace std::chrono_literals;
using cft::kLongTimeout;

namespace {

template <class F>
std::string what_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "<nothing thrown>";
}

// A full sentence: a reasonably long message with at least a few words.
void expect_sentence(const std::string& message) {
  EXPECT_GE(message.size(), 30u) << message;
  EXPECT_GE(std::count(message.begin(), message.end(), ' '), 4) << message;
}

// ------------------------------------------------------------------------------------
// Error types.

TEST(Errors, HierarchyMatchesPython) {
  static_assert(std::is_base_of_v<std::runtime_error, cf::Error>);
  static_assert(std::is_base_of_v<cf::Error, cf::CancelledError>);
  static_assert(std::is_base_of_v<cf::Error, cf::TimeoutError>);
  static_assert(std::is_base_of_v<cf::Error, cf::InvalidStateError>);
  static_assert(std::is_base_of_v<cf::Error, cf::BrokenPromise>);
  static_assert(std::is_base_of_v<cf::Error, cf::RemoteError>);
  static_assert(std::is_base_of_v<std::runtime_error, cf::BrokenExecutor>);
  static_assert(!std::is_base_of_v<cf::Error, cf::BrokenExecutor>);
  static_assert(std::is_base_of_v<cf::BrokenExecutor, cf::BrokenThreadPool>);
  static_assert(std::is_base_of_v<cf::BrokenExecutor, cf::BrokenProcessPool>);
  SUCCEED();
}

TEST(Errors, DefaultMessagesAreSentences) {
  expect_sentence(cf::CancelledError().what());
  expect_sentence(cf::TimeoutError().what());
  expect_sentence(cf::BrokenPromise().what());
}

TEST(Errors, RemoteErrorKeepsTypeNameAndMessage) {
  cf::RemoteError e("my::Error", "it broke");
  EXPECT_EQ(e.type_name(), "my::Error");
  EXPECT_STREQ(e.what(), "it broke");
}

TEST(Errors, DescribeAnyExceptionPtr) {
  EXPECT_EQ(cf::describe(std::make_exception_ptr(std::runtime_error("boom"))), "boom");
  EXPECT_FALSE(cf::describe(std::make_exception_ptr(42)).empty());
  EXPECT_FALSE(cf::describe(nullptr).empty());
}

TEST(Errors, DefaultHandlerWritesOneLineToStderr) {
  cf::ErrorHandler previous = cf::set_error_handler({});
  testing::internal::CaptureStderr();
  cf::report_error(std::make_exception_ptr(std::runtime_error("boom")), "a done-callback");
  const std::string out = testing::internal::GetCapturedStderr();
  cf::set_error_handler(std::move(previous));
  EXPECT_NE(out.find("boom"), std::string::npos) << out;
  EXPECT_NE(out.find("a done-callback"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
}

TEST(Errors, SetErrorHandlerReturnsPrevious) {
  int first = 0;
  int second = 0;
  cf::ErrorHandler original =
      cf::set_error_handler([&](std::exception_ptr, std::string_view) { ++first; });
  cf::ErrorHandler mine =
      cf::set_error_handler([&](std::exception_ptr, std::string_view) { ++second; });
  cf::report_error(std::make_exception_ptr(1), "x");
  ASSERT_TRUE(mine);
  mine(nullptr, "y");
  cf::set_error_handler(std::move(original));
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 1);
}

TEST(Errors, ThrowingHandlerIsContained) {
  cf::ErrorHandler previous = cf::set_error_handler(
      [](std::exception_ptr, std::string_view) { throw std::runtime_error("handler"); });
  testing::internal::CaptureStderr();
  EXPECT_NO_THROW(cf::report_error(std::make_exception_ptr(1), "x"));
  const std::string out = testing::internal::GetCapturedStderr();
  cf::set_error_handler(std::move(previous));
  EXPECT_FALSE(out.empty());
}

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
// Done-callbacks.

TEST(Callbacks, BeforeCompletionRunInOrderInCompletingThread) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  for (int i = 0; i < 5; ++i) {
    f.add_done_callback([&, i](const cf::Future<int>& g) {
      EXPECT_EQ(g, f);
      EXPECT_EQ(g.result(0s), 3);
      order.push_back(i);
      threads.push_back(std::this_thread::get_id());
    });
  }
  EXPECT_TRUE(order.empty());
  std::thread::id writer_id;
  std::thread writer([&] {
    writer_id = std::this_thread::get_id();
    p.set_result(3);
  });
  writer.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  for (auto id : threads) EXPECT_EQ(id, writer_id);
}

TEST(Callbacks, AfterCompletionRunAtOnceInCallerThread) {
  cft::CannedFutures<> c;
  for (const cf::Future<int>& f : {c.cancelled, c.failed, c.succeeded}) {
    int calls = 0;
    std::thread::id ran_on;
    f.add_done_callback([&](cf::Future<int> g) {  // by value works too
      EXPECT_TRUE(g.done());
      ++calls;
      ran_on = std::this_thread::get_id();
    });
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(ran_on, std::this_thread::get_id());
  }
}

TEST(Callbacks, RunExactlyOnceForEachOutcome) {
  auto count_calls = [](auto complete) {
    cf::Promise<int> p;
    cf::Future<int> f = p.get_future();
    int calls = 0;
    f.add_done_callback([&](const cf::Future<int>&) { ++calls; });
    f.add_done_callback([&](const cf::Future<int>&) { ++calls; });
    complete(p, f);
    // Later operations must not run them again.
    (void)f.cancel();
    try {
      p.set_result(0);
    } catch (const cf::InvalidStateError&) {
    }
    return calls;
  };
  EXPECT_EQ(count_calls([](cf::Promise<int>& p, cf::Future<int>&) { p.set_result(1); }), 2);
  EXPECT_EQ(count_calls([](cf::Promise<int>& p, cf::Future<int>&) {
              p.set_exception(std::make_exception_ptr(cft::TestError()));
            }),
            2);
  EXPECT_EQ(count_calls([](cf::Promise<int>&, cf::Future<int>& f) { f.cancel(); }), 2);
  EXPECT_EQ(count_calls([](cf::Promise<int>& p, cf::Future<int>&) {
              cf::Promise<int> gone = std::move(p);  // dies at the end of this scope
            }),
            2);
  EXPECT_EQ(count_calls([](cf::Promise<int>& p, cf::Future<int>&) {
              ASSERT_TRUE(p.set_running_or_notify_cancel());
              p.set_result(2);
            }),
            2);
}

TEST(Callbacks, CancelRunsCallbacksInCancellingThread) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  std::thread::id ran_on;
  f.add_done_callback([&](const cf::Future<int>& g) {
    EXPECT_TRUE(g.cancelled());
    ran_on = std::this_thread::get_id();
  });
  std::thread::id canceller;
  std::thread t([&] {
    canceller = std::this_thread::get_id();
    EXPECT_TRUE(f.cancel());
  });
  t.join();
  EXPECT_EQ(ran_on, canceller);
}

TEST(Callbacks, NotRunWhenRunningStarts) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  int calls = 0;
  f.add_done_callback([&](const cf::Future<int>&) { ++calls; });
  ASSERT_TRUE(p.set_running_or_notify_cancel());
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(f.cancel());
  EXPECT_EQ(calls, 0);
  p.set_result(1);
  EXPECT_EQ(calls, 1);
}

TEST(Callbacks, ThrowingCallbackIsReportedAndOthersRun) {
  cft::ErrorRecorder recorder;
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  std::vector<int> ran;
  f.add_done_callback([&](const cf::Future<int>&) { ran.push_back(1); });
  f.add_done_callback([&](const cf::Future<int>&) {
    ran.push_back(2);
    throw std::runtime_error("callback boom");
  });
  f.add_done_callback([&](const cf::Future<int>&) {
    ran.push_back(3);
    throw 7;  // not a std::exception
  });
  f.add_done_callback([&](const cf::Future<int>&) { ran.push_back(4); });
  EXPECT_NO_THROW(p.set_result(5));
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(f.result(), 5) << "a throwing callback must not touch the result";
  const auto reports = recorder.reports();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].message, "callback boom");
  EXPECT_NE(reports[0].context.find("callback"), std::string::npos) << reports[0].context;
  EXPECT_FALSE(reports[1].message.empty());
}

TEST(Callbacks, ThrowingCallbackOnDoneFutureIsReportedNotThrown) {
  cft::ErrorRecorder recorder;
  cft::CannedFutures<> c;
  EXPECT_NO_THROW(c.succeeded.add_done_callback(
      [](const cf::Future<int>&) { throw std::runtime_error("late boom"); }));
  const auto reports = recorder.reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].message, "late boom");
}

TEST(Callbacks, ThrowingCallbackOnCancelIsContained) {
  cft::ErrorRecorder recorder;
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  f.add_done_callback([](const cf::Future<int>&) { throw std::runtime_error("x"); });
  EXPECT_TRUE(f.cancel());
  EXPECT_EQ(recorder.reports().size(), 1u);
}

TEST(Callbacks, CallbackMayUseTheFutureFreely) {
  // Callbacks run without the future's lock: reading, cancelling, adding callbacks and
  // waiting on the same future from inside one must not deadlock.
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  std::vector<std::string> log;
  f.add_done_callback([&](const cf::Future<int>& g) {
    log.push_back("outer");
    EXPECT_EQ(g.result(kLongTimeout), 8);
    EXPECT_EQ(g.exception(), nullptr);
    EXPECT_FALSE(g.cancel());
    g.add_done_callback([&](const cf::Future<int>&) { log.push_back("nested"); });
    log.push_back("outer end");
  });
  f.add_done_callback([&](const cf::Future<int>&) { log.push_back("second"); });
  p.set_result(8);
  EXPECT_EQ(log, (std::vector<std::string>{"outer", "nested", "outer end", "second"}));
}

TEST(Callbacks, CallbackCompletingAnotherFuture) {
  cf::Promise<int> a;
  cf::Promise<int> b;
  cf::Future<int> fb = b.get_future();
  a.get_future().add_done_callback([&](const cf::Future<int>& f) { b.set_result(f.result() * 2); });
  a.set_result(21);
  EXPECT_EQ(fb.result(0s), 42);
}

// Regression (issue 7): the callback of a hand-written continuation completes a
// downstream Promise whose future was cancelled meanwhile; the report says how to avoid it.
TEST(Callbacks, SetResultOnCancelledDownstreamSuggestsSetRunningOrNotifyCancel) {
  cft::ErrorRecorder recorder;
  cf::Promise<int> upstream;
  cf::Promise<int> downstream;
  ASSERT_TRUE(downstream.get_future().cancel());
  upstream.get_future().add_done_callback(
      [&](const cf::Future<int>& f) { downstream.set_result(f.result()); });
  upstream.set_result(1);
  const auto reports = recorder.reports();
  ASSERT_EQ(reports.size(), 1u);
  const std::string& message = reports[0].message;
  EXPECT_NE(message.find("already cancelled"), std::string::npos) << message;
  EXPECT_NE(message.find("set_running_or_notify_cancel()"), std::string::npos) << message;
  expect_sentence(message);
}

TEST(Callbacks, MoveOnlyCallable) {
  cf::Promise<int> p;
  auto owned = std::make_unique<int>(5);
  int seen = 0;
  p.get_future().add_done_callback(
      [owned = std::move(owned), &seen](const cf::Future<int>& f) { seen = *owned + f.result(); });
  p.set_result(1);
  EXPECT_EQ(seen, 6);
}

TEST(Callbacks, CallbackHoldingItsFutureDoesNotLeak) {
  // The callback keeps a copy of the future; LeakSanitizer reports a cycle that
  // completion does not break.
  for (int outcome = 0; outcome < 3; ++outcome) {
    cf::Future<int> f;
    {
      cf::Promise<int> p;
      f = p.get_future();
      f.add_done_callback([keep = f](const cf::Future<int>&) { (void)keep.done(); });
      if (outcome == 0) p.set_result(1);
      if (outcome == 1) (void)f.cancel();
      // outcome 2: BrokenPromise
    }
    EXPECT_TRUE(f.done());
  }
  SUCCEED();
}

// ------------------------------------------------------------------------------------
// Promise lifetime: BrokenPromise.

TEST(Promise, DestroyedUnfinishedGivesBrokenPromise) {
  cf::Future<int> f;
  int calls = 0;
  {
    cf::Promise<int> p;
    f = p.get_future();
    f.add_done_callback([&](const cf::Future<int>&) { ++calls; });
  }
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(calls, 1);
  EXPECT_THROW((void)f.result(), cf::BrokenPromise);
  const std::string message = what_of([&] { (void)f.result(); });
  EXPECT_NE(message.find("Promise"), std::string::npos);
  expect_sentence(message);
}

TEST(Promise, DestroyedWhileRunningGivesBrokenPromise) {
  cf::Future<int> f;
  {
    cf::Promise<int> p;
    f = p.get_future();
    ASSERT_TRUE(p.set_running_or_notify_cancel());
  }
  EXPECT_THROW((void)f.result(0s), cf::BrokenPromise);
}

TEST(Promise, DestroyedAfterCompletionKeepsOutcome) {
  cf::Future<int> ok;
  cf::Future<int> cancelled;
  cf::Future<int> failed;
  {
    cf::Promise<int> p1;
    cf::Promise<int> p2;
    cf::Promise<int> p3;
    ok = p1.get_future();
    cancelled = p2.get_future();
    failed = p3.get_future();
    p1.set_result(1);
    cancelled.cancel();
    p3.set_exception(std::make_exception_ptr(cft::TestError()));
  }
  EXPECT_EQ(ok.result(), 1);
  EXPECT_THROW((void)cancelled.result(), cf::CancelledError);
  EXPECT_THROW((void)failed.result(), cft::TestError);
}

TEST(Promise, BrokenPromiseWakesBlockedReader) {
  auto p = std::make_unique<cf::Promise<int>>();
  cf::Future<int> f = p->get_future();
  std::thread t([&] { p.reset(); });
  EXPECT_THROW((void)f.result(kLongTimeout), cf::BrokenPromise);
  t.join();
}

TEST(Promise, MoveTransfersOwnership) {
  cf::Promise<int> a;
  cf::Future<int> f = a.get_future();
  cf::Promise<int> b = std::move(a);
  EXPECT_FALSE(f.done()) << "moving a promise must not break its future";
  b.set_result(3);
  EXPECT_EQ(f.result(), 3);
}

TEST(Promise, MovedFromPromiseThrowsUsefulError) {
  cf::Promise<int> a;
  cf::Promise<int> b = std::move(a);
  const std::string message = what_of([&] { a.set_result(1); });  // NOLINT(bugprone-use-after-move)
  EXPECT_NE(message.find("moved"), std::string::npos) << message;
  expect_sentence(message);
  EXPECT_THROW(a.set_result(1), cf::InvalidStateError);  // NOLINT(bugprone-use-after-move)
  EXPECT_THROW(a.set_exception(std::make_exception_ptr(1)), cf::InvalidStateError);
  EXPECT_THROW((void)a.set_running_or_notify_cancel(), cf::InvalidStateError);
  EXPECT_THROW((void)a.get_future(), cf::InvalidStateError);
}

TEST(Promise, MoveAssignBreaksTheOverwrittenFuture) {
  cf::Promise<int> a;
  cf::Promise<int> b;
  cf::Future<int> fa = a.get_future();
  cf::Future<int> fb = b.get_future();
  a = std::move(b);
  EXPECT_THROW((void)fa.result(0s), cf::BrokenPromise);
  EXPECT_FALSE(fb.done());
  a.set_result(2);
  EXPECT_EQ(fb.result(0s), 2);
}

TEST(Promise, SelfMoveAssignIsHarmless) {
  cf::Promise<int> a;
  cf::Future<int> f = a.get_future();
  cf::Promise<int>& alias = a;
  a = std::move(alias);
  EXPECT_FALSE(f.done());
  a.set_result(1);
  EXPECT_EQ(f.result(), 1);
}

TEST(Promise, GetFutureManyTimesSharesState) {
  cf::Promise<int> p;
  cf::Future<int> f1 = p.get_future();
  cf::Future<int> f2 = p.get_future();
  EXPECT_EQ(f1, f2);
  cf::Future<int> copy = f1;
  EXPECT_EQ(copy, f2);
  p.set_result(4);
  EXPECT_EQ(f2.result(), 4);
  EXPECT_EQ(copy.result(), 4);
  EXPECT_TRUE(f2.cancel() == false);
}

// ------------------------------------------------------------------------------------
// Empty handles.

TEST(EmptyHandle, DefaultFutureThrowsUsefulError) {
  cf::Future<int> f;
  EXPECT_FALSE(f.valid());
  const std::string message = what_of([&] { (void)f.result(); });
  EXPECT_NE(message.find("empty"), std::string::npos) << message;
  expect_sentence(message);
  EXPECT_THROW((void)f.result(), cf::InvalidStateError);
  EXPECT_THROW((void)f.result(1s), cf::InvalidStateError);
  EXPECT_THROW((void)f.exception(), cf::InvalidStateError);
  EXPECT_THROW((void)f.exception(0s), cf::InvalidStateError);
  EXPECT_THROW((void)f.cancel(), cf::InvalidStateError);
  EXPECT_THROW((void)f.cancelled(), cf::InvalidStateError);
  EXPECT_THROW((void)f.running(), cf::InvalidStateError);
  EXPECT_THROW((void)f.done(), cf::InvalidStateError);
  EXPECT_THROW((void)f.state(), cf::InvalidStateError);
  EXPECT_THROW(f.add_done_callback([](const cf::Future<int>&) {}), cf::InvalidStateError);
}

TEST(EmptyHandle, MovedFromFutureIsEmpty) {
  cf::Promise<int> p;
  cf::Future<int> f = p.get_future();
  cf::Future<int> g = std::move(f);
  EXPECT_FALSE(f.valid());  // NOLINT(bugprone-use-after-move)
  EXPECT_THROW((void)f.done(), cf::InvalidStateError);
  EXPECT_TRUE(g.valid());
  p.set_result(1);
  EXPECT_EQ(g.result(), 1);
}

TEST(EmptyHandle, DefaultAnyFutureThrows) {
  cf::AnyFuture a;
  EXPECT_FALSE(a.valid());
  EXPECT_THROW((void)a.done(), cf::InvalidStateError);
  EXPECT_THROW((void)a.exception(), cf::InvalidStateError);
  EXPECT_THROW(a.add_done_callback([](const cf::AnyFuture&) {}), cf::InvalidStateError);
  EXPECT_EQ(a, cf::AnyFuture()) << "empty handles compare equal";
  cf::Future<int> empty;
  cf::AnyFuture from_empty = empty;
  EXPECT_FALSE(from_empty.valid());
}

// ------------------------------------------------------------------------------------
// AnyFuture.

TEST(AnyFuture, ConvertsFromEveryFutureType) {
  cf::Promise<int> pi;
  cf::Promise<void> pv;
  cf::Promise<std::string> ps;
  std::vector<cf::AnyFuture> all{pi.get_future(), pv.get_future(), ps.get_future()};
  for (const auto& a : all) EXPECT_EQ(a.state(), cf::FutureState::pending);
  pi.set_result(1);
  pv.set_exception(std::make_exception_ptr(cft::TestError()));
  EXPECT_TRUE(all[2].cancel());
  EXPECT_TRUE(all[0].done());
  EXPECT_EQ(all[0].exception(), nullptr);
  EXPECT_NE(all[1].exception(0s), nullptr);
  EXPECT_TRUE(all[2].cancelled());
  EXPECT_THROW((void)all[2].exception(), cf::CancelledError);
  EXPECT_THROW(ps.set_result("x"), cf::InvalidStateError);
}

TEST(AnyFuture, EqualityAndHashFollowTheState) {
  cf::Promise<int> p;
  cf::Promise<int> q;
  cf::Future<int> f = p.get_future();
  cf::AnyFuture a = f;
  cf::AnyFuture b = p.get_future();
  cf::AnyFuture c = q.get_future();
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_TRUE(a == f);
  EXPECT_TRUE(f == a);
  EXPECT_FALSE(c == f);
  std::hash<cf::AnyFuture> h;
  EXPECT_EQ(h(a), h(b));
  std::unordered_set<cf::AnyFuture> set{a, b, c, f};
  EXPECT_EQ(set.size(), 2u);
  p.set_result(0);
  q.set_result(0);
}

// Regression (issue 7): Python's `future_to_url = {executor.submit(...): url}`.
TEST(Future, EqualityAndHashFollowTheState) {
  cf::Promise<int> p;
  cf::Promise<int> q;
  const cf::Future<int> f = p.get_future();
  const cf::Future<int> g = p.get_future();
  const cf::Future<int> h = q.get_future();
  EXPECT_EQ(f, g);
  EXPECT_NE(f, h);
  EXPECT_EQ(std::hash<cf::Future<int>>()(f), std::hash<cf::Future<int>>()(g));
  EXPECT_EQ(std::hash<cf::Future<int>>()(f), std::hash<cf::AnyFuture>()(cf::AnyFuture(f)));
  std::unordered_map<cf::Future<int>, std::string> future_to_url{{f, "a"}, {h, "b"}};
  EXPECT_EQ(future_to_url.size(), 2u);
  EXPECT_EQ(future_to_url.at(g), "a");
  future_to_url[g] = "c";
  EXPECT_EQ(future_to_url.size(), 2u);
  EXPECT_EQ(future_to_url.at(f), "c");
  p.set_result(0);
  q.set_result(0);
}

TEST(AnyFuture, CallbacksReceiveAnyFuture) {
  cf::Promise<double> p;
  cf::AnyFuture a = p.get_future();
  int calls = 0;
  a.add_done_callback([&](const cf::AnyFuture& g) {
    EXPECT_EQ(g, a);
    EXPECT_TRUE(g.done());
    ++calls;
  });
  p.set_result(1.5);
  EXPECT_EQ(calls, 1);
  a.add_done_callback([&](cf::AnyFuture) { ++calls; });
  EXPECT_EQ(calls, 2);
}

TEST(AnyFuture, ExceptionWithTimeout) {
  cf::Promise<int> p;
  cf::AnyFuture a = p.get_future();
  EXPECT_THROW((void)a.exception(0s), cf::TimeoutError);
  std::thread t([&] { p.set_exception(std::make_exception_ptr(cft::TestError())); });
  EXPECT_NE(a.exception(kLongTimeout), nullptr);
  t.join();
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
