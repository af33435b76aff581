// Tests for done-callbacks (add_done_callback in future.hpp): order, thread, exactly
// once per outcome, contained exceptions, and callbacks that complete other futures.
#include "concurrent/futures/future.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "concurrent/futures/errors.hpp"
#include "message_check.hpp"
#include "test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
using namespace std::chrono_literals;
using cft::expect_sentence;
using cft::kLongTimeout;

namespace {

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
    log.emplace_back("outer");
    EXPECT_EQ(g.result(kLongTimeout), 8);
    EXPECT_EQ(g.exception(), nullptr);
    EXPECT_FALSE(g.cancel());
    g.add_done_callback([&](const cf::Future<int>&) { log.emplace_back("nested"); });
    log.emplace_back("outer end");
  });
  f.add_done_callback([&](const cf::Future<int>&) { log.emplace_back("second"); });
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

}  // namespace
