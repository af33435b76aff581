// Tests for Promise lifetime (future.hpp): BrokenPromise, moves, get_future(), and the
// errors an empty Future, AnyFuture or Promise handle gives.
#include "concurrent/futures/future.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "concurrent/futures/errors.hpp"
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

}  // namespace
