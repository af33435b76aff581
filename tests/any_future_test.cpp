// Tests for handle identity (future.hpp): AnyFuture type erasure, and equality and
// hashing of Future and AnyFuture by their shared state.
#include "concurrent/futures/future.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "concurrent/futures/errors.hpp"
#include "test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
using namespace std::chrono_literals;
using cft::kLongTimeout;

namespace {

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

}  // namespace
