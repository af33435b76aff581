// Tests for the coroutine support (coroutine.hpp): co_await on done, pending, failed
// and cancelled futures; Future<T> and Future<void> as coroutine return types; where a
// coroutine goes on; resume_on; frames that outlive dropped futures (ASan/LSan check
// they are freed); and a loop over 10,000 futures that does not grow the stack.
#include "concurrent/futures/coroutine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "concurrent/futures/process_pool.hpp"
#include "test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
using cft::kLongTimeout;

namespace {

int seven() { return 7; }

cf::Future<int> add_one(cf::Future<int> f) { co_return co_await f + 1; }

cf::Future<void> await_void(cf::Future<void> f, int& steps) {
  ++steps;
  co_await f;
  ++steps;
}

TEST(Coroutine, AwaitDoneFutureGoesOnAtOnce) {
  cf::Promise<int> p;
  p.set_result(41);
  cf::Future<int> g = add_one(p.get_future());
  EXPECT_TRUE(g.done()) << "ran in the caller without suspending";
  EXPECT_EQ(g.result(), 42);
}

TEST(Coroutine, AwaitPendingFutureGoesOnInTheFinishingThread) {
  cf::Promise<int> p;
  std::thread::id resumed_in;
  auto body = [&](cf::Future<int> f) -> cf::Future<int> {
    const int v = co_await f;
    resumed_in = std::this_thread::get_id();
    co_return v * 2;
  };
  cf::Future<int> g = body(p.get_future());
  EXPECT_FALSE(g.done());
  std::thread writer([&] { p.set_result(4); });
  EXPECT_EQ(g.result(kLongTimeout), 8);
  EXPECT_EQ(resumed_in, writer.get_id());
  writer.join();
}

TEST(Coroutine, VoidFuturesBothWays) {
  cf::Promise<void> p;
  int steps = 0;
  cf::Future<void> g = await_void(p.get_future(), steps);
  EXPECT_EQ(steps, 1) << "runs eagerly until its first suspension";
  EXPECT_FALSE(g.done());
  p.set_result();
  EXPECT_EQ(steps, 2);
  EXPECT_NO_THROW(g.result());
}

TEST(Coroutine, AwaitRethrowsAndEscapingExceptionFailsTheFuture) {
  cf::Promise<int> p;
  cf::Future<int> g = add_one(p.get_future());
  p.set_exception(std::make_exception_ptr(std::out_of_range("range")));
  EXPECT_THROW(g.result(), std::out_of_range);
  auto catcher = [](cf::Future<int> f) -> cf::Future<std::string> {
    try {
      co_await f;
    } catch (const cf::CancelledError&) {
      co_return "cancelled";
    }
    co_return "value";
  };
  cf::Promise<int> q;
  cf::Future<std::string> h = catcher(q.get_future());
  EXPECT_TRUE(q.get_future().cancel());
  EXPECT_EQ(h.result(), "cancelled");
}

TEST(Coroutine, ExceptionBeforeTheFirstSuspensionFailsTheFuture) {
  auto thrower = []() -> cf::Future<int> {
    throw cft::TestError("early");
    co_return 1;
  };
  cf::Future<int> g = thrower();
  EXPECT_TRUE(g.done());
  EXPECT_THROW(g.result(), cft::TestError);
}

TEST(Coroutine, AwaitsAnotherCoroutine) {
  cf::Promise<int> p;
  auto outer = [](cf::Future<int> f) -> cf::Future<int> { co_return co_await add_one(f) * 10; };
  cf::Future<int> g = outer(p.get_future());
  p.set_result(1);
  EXPECT_EQ(g.result(), 20);
}

TEST(Coroutine, LocalsAreGoneBeforeTheAwaiterGoesOn) {
  std::mutex m;
  cf::Promise<int> p;
  auto locker = [&](cf::Future<int> f) -> cf::Future<int> {
    std::lock_guard lock(m);
    co_return co_await f;
  };
  auto outer = [&](cf::Future<int> f) -> cf::Future<bool> {
    co_await f;
    const bool free = m.try_lock();
    if (free) m.unlock();
    co_return free;
  };
  cf::Future<bool> g = outer(locker(p.get_future()));
  p.set_result(1);
  EXPECT_TRUE(g.result()) << "the inner coroutine's lock was released before outer went on";
}

TEST(Coroutine, DroppedFutureNeitherStopsNorLeaksTheFrame) {
  cf::Promise<int> p;
  auto witness = std::make_shared<int>(0);
  std::weak_ptr<int> alive = witness;
  auto body = [](cf::Future<int> f, std::shared_ptr<int> w) -> cf::Future<void> {
    *w = co_await f;
  };
  (void)body(p.get_future(), std::move(witness));
  EXPECT_FALSE(alive.expired()) << "the suspended frame holds its arguments";
  p.set_result(5);
  EXPECT_TRUE(alive.expired()) << "the frame is freed once it ran to the end";
}

TEST(Coroutine, BrokenPromiseResumesTheCoroutine) {
  cf::Future<int> g;
  {
    cf::Promise<int> p;
    g = add_one(p.get_future());
  }
  EXPECT_THROW(g.result(kLongTimeout), cf::BrokenPromise);
}

TEST(Coroutine, FuturesFromBothPools) {
  cf::ThreadPoolExecutor threads(2);
  cf::ProcessPoolExecutor processes({.max_workers = 1, .start_method = cf::StartMethod::fork});
  auto body = [&]() -> cf::Future<int> {
    const int a = co_await threads.submit(seven);
    const int b = co_await processes.submit(seven);
    co_await threads.submit([] {});
    co_return a + b;
  };
  EXPECT_EQ(body().result(kLongTimeout), 14);
}

TEST(Coroutine, ResumeOnMovesOntoAWorker) {
  cf::ThreadPoolExecutor pool({.max_workers = 1, .thread_name_prefix = "hop"});
  auto body = [&]() -> cf::Future<std::string> {
    const std::string before = cft::current_thread_name();
    co_await cf::resume_on(pool);
    co_return before + " -> " + cft::current_thread_name();
  };
  const std::string route = body().result(kLongTimeout);
  EXPECT_EQ(route.substr(route.find(" -> ")), " -> hop_0");
}

TEST(Coroutine, ResumeOnAShutDownPoolThrowsInTheCoroutine) {
  cf::ThreadPoolExecutor pool(1);
  pool.shutdown(true);
  auto body = [&]() -> cf::Future<void> { co_await cf::resume_on(pool); };
  EXPECT_THROW(body().result(kLongTimeout), std::runtime_error);
}

TEST(Coroutine, ResumeOnCancelledHopThrowsCancelledError) {
  cf::ThreadPoolExecutor pool(1);
  cft::Gate gate;
  cf::Future<void> blocker = pool.submit([&] { (void)gate.wait(); });
  ASSERT_TRUE(gate.wait_arrived(1));
  auto body = [&]() -> cf::Future<void> { co_await cf::resume_on(pool); };
  cf::Future<void> g = body();
  std::thread stopper([&] { pool.shutdown(true, true); });
  EXPECT_THROW(g.result(kLongTimeout), cf::CancelledError);
  gate.open();
  stopper.join();
}

// The stack pointer of the caller, to see whether resumptions nest.
[[gnu::noinline]] std::uintptr_t stack_position() {
  return reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
}

TEST(Coroutine, AwaitingTenThousandFuturesDoesNotGrowTheStack) {
  constexpr std::size_t n = 10'000;
  cf::ThreadPoolExecutor pool(2);
  std::vector<cf::Future<int>> futures;
  futures.reserve(3 * n);
  cf::Promise<int> done;
  done.set_result(1);
  for (std::size_t i = 0; i < n; ++i) {
    futures.push_back(done.get_future());           // done: no suspension
    futures.push_back(pool.submit(seven));          // pending or racing its registration
    futures.push_back(add_one(done.get_future()));  // a finished coroutine
  }
  // The coroutine resumes here or in one of the workers, each time at that thread's
  // own depth; a resumption nested in the previous one would add frames per await,
  // megabytes over 30,000 of them. So the spread of positions per thread stays small.
  struct Span {
    std::thread::id thread;
    std::uintptr_t low = UINTPTR_MAX;
    std::uintptr_t high = 0;
  };
  auto loop = [&]() -> cf::Future<std::vector<Span>> {
    std::vector<Span> spans;
    for (const auto& f : futures) {
      (void)co_await f;
      const auto id = std::this_thread::get_id();
      auto span =
          std::find_if(spans.begin(), spans.end(), [&](const Span& s) { return s.thread == id; });
      if (span == spans.end()) span = spans.insert(spans.end(), Span{id});
      span->low = std::min(span->low, stack_position());
      span->high = std::max(span->high, stack_position());
    }
    co_return spans;
  };
  for (const Span& span : loop().result(kLongTimeout)) {
    EXPECT_LT(span.high - span.low, 64u * 1024) << "resumptions nest";
  }
}

}  // namespace
