// Tests for waiting inside a worker (thread_pool.hpp, "Waiting inside a worker"):
// result(), exception(), wait() and as_completed() called in a call run the pool's queued
// calls while they wait for a future one of the pool's calls may finish (its own calls,
// a Promise's, a coroutine's), so nested submits do not deadlock the pool; waiting for
// another pool's or a process pool's call is a plain wait. Every wait here has
// a timeout: a deadlock fails the test instead of hanging it.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <latch>
#include <mutex>
#include <string>
#include <vector>

#include "concurrent/futures/coroutine.hpp"
#include "concurrent/futures/process_pool.hpp"
#include "concurrent/futures/thread_pool.hpp"
#include "concurrent/futures/wait.hpp"
#include "process_gate.hpp"
#include "test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
using namespace std::chrono_literals;
using cft::kLongTimeout;

namespace {

TEST(ThreadPoolHelp, OneWorkerPoolWaitsOnItsOwnCall) {
  cf::ThreadPoolExecutor pool(1);
  cf::Future<int> outer = pool.submit([&pool] {
    cf::Future<int> inner = pool.submit([] { return 41; });
    return inner.result(kLongTimeout) + 1;
  });
  EXPECT_EQ(outer.result(kLongTimeout), 42);
}

// The order in which calls on several threads reached their marks.
class OrderLog {
 public:
  void record(const char* what) {
    std::lock_guard lock(mutex_);
    order_.emplace_back(what);
  }
  std::vector<std::string> order() const {
    std::lock_guard lock(mutex_);
    return order_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> order_;
};

int fib(cf::ThreadPoolExecutor& pool, int n) {
  if (n < 2) return n;
  cf::Future<int> a = pool.submit(fib, std::ref(pool), n - 1);
  cf::Future<int> b = pool.submit(fib, std::ref(pool), n - 2);
  return a.result(kLongTimeout) + b.result(kLongTimeout);
}

TEST(ThreadPoolHelp, RecursiveFibWithNestedSubmitsOnTwoWorkers) {
  cf::ThreadPoolExecutor pool(2);
  EXPECT_EQ(pool.submit(fib, std::ref(pool), 16).result(kLongTimeout), 987);
}

// fib with nested submits that records how many of its calls were ever nested on one
// thread's stack at once.
struct NestingFib {
  cf::ThreadPoolExecutor& pool;
  std::atomic<int> deepest_nesting{0};

  int operator()(int n) {
    static thread_local int nesting = 0;
    ++nesting;
    int seen = deepest_nesting.load();
    while (seen < nesting && !deepest_nesting.compare_exchange_weak(seen, nesting)) {
    }
    int value = n;
    if (n >= 2) {
      cf::Future<int> a = pool.submit(std::ref(*this), n - 1);
      cf::Future<int> b = pool.submit(std::ref(*this), n - 2);
      value = a.result(kLongTimeout) + b.result(kLongTimeout);
    }
    --nesting;
    return value;
  }
};

TEST(ThreadPoolHelp, ForkJoinNestsNoDeeperThanItsRecursion) {
  // A call waiting for the calls it submitted runs only calls nested deeper than itself,
  // so no stack holds more calls than the recursion is deep. (Helping with any queued
  // call let two workers nest each other's subtrees hundreds of calls deep, until both
  // reached the nesting bound and deadlocked.)
  cf::ThreadPoolExecutor pool(2);
  NestingFib fib{pool};
  for (int round = 0; round < 20; ++round) {
    ASSERT_EQ(pool.submit(std::ref(fib), 16).result(kLongTimeout), 987);
  }
  EXPECT_LE(fib.deepest_nesting.load(), 16);  // fib(16), fib(15), ..., fib(1)
}

TEST(ThreadPoolHelp, AWaitForItsOwnCallsRunsNoShallowerCall) {
  // The only worker waits for the call it submitted; a call submitted from outside is
  // queued after it. The wait runs the nested call, not the outside one, which runs
  // only once the waiting call has returned.
  cf::ThreadPoolExecutor pool(1);
  OrderLog log;
  auto record = [&](const char* what) { log.record(what); };
  std::latch nested_queued(1);
  std::latch outside_queued(1);
  cf::Future<void> waiting = pool.submit([&] {
    cf::Future<void> nested = pool.submit([&] { record("nested"); });
    nested_queued.count_down();
    outside_queued.wait();
    nested.result(kLongTimeout);
    record("waiting call resumed");
  });
  nested_queued.wait();
  cf::Future<void> outside = pool.submit([&] { record("outside"); });
  outside_queued.count_down();
  waiting.result(kLongTimeout);
  outside.result(kLongTimeout);
  EXPECT_EQ(log.order(), (std::vector<std::string>{"nested", "waiting call resumed", "outside"}));
}

TEST(ThreadPoolHelp, AWaitForASiblingRunsAnyQueuedCall) {
  // A call waiting for a call no deeper than itself (here its sibling, queued before it
  // on the only worker, which the waiting parent left there by running the newest call
  // first) may need any queued call: it runs the sibling.
  cf::ThreadPoolExecutor pool(1);
  cf::Future<int> outer = pool.submit([&pool] {
    cf::Future<int> second = pool.submit([] { return 1; });
    cf::Future<int> first = pool.submit([second] { return second.result(kLongTimeout) + 1; });
    return first.result(kLongTimeout);
  });
  EXPECT_EQ(outer.result(kLongTimeout), 2);
}

TEST(ThreadPoolHelp, RecursiveFibOnOneWorker) {
  cf::ThreadPoolExecutor pool(1);
  EXPECT_EQ(pool.submit(fib, std::ref(pool), 12).result(kLongTimeout), 144);
}

TEST(ThreadPoolHelp, ExceptionInsideAWorker) {
  cf::ThreadPoolExecutor pool(1);
  cf::Future<bool> outer = pool.submit([&pool] {
    cf::Future<int> inner = pool.submit([]() -> int { throw std::out_of_range("inner"); });
    return inner.exception(kLongTimeout) != nullptr;
  });
  EXPECT_TRUE(outer.result(kLongTimeout));
}

TEST(ThreadPoolHelp, WaitInsideAWorker) {
  cf::ThreadPoolExecutor pool(1);
  cf::Future<std::size_t> outer = pool.submit([&pool] {
    std::vector<cf::Future<int>> inner;
    for (int i = 0; i < 5; ++i) inner.push_back(pool.submit([i] { return i; }));
    auto [done, not_done] = cf::wait(inner, kLongTimeout);
    return not_done.empty() ? done.size() : 0;
  });
  EXPECT_EQ(outer.result(kLongTimeout), 5u);
}

TEST(ThreadPoolHelp, AsCompletedInsideAWorker) {
  cf::ThreadPoolExecutor pool(1);
  cf::Future<int> outer = pool.submit([&pool] {
    std::vector<cf::Future<int>> inner;
    for (int i = 1; i <= 4; ++i) inner.push_back(pool.submit([i] { return i; }));
    int sum = 0;
    for (const cf::Future<int>& f : cf::as_completed(inner, kLongTimeout)) sum += f.result();
    return sum;
  });
  EXPECT_EQ(outer.result(kLongTimeout), 10);
}

TEST(ThreadPoolHelp, MapInsideAWorker) {
  cf::ThreadPoolExecutor pool(1);
  cf::Future<int> outer = pool.submit([&pool] {
    int sum = 0;
    for (int y : pool.map([](int x) { return x * x; }, std::vector<int>{1, 2, 3})) sum += y;
    return sum;
  });
  EXPECT_EQ(outer.result(kLongTimeout), 14);
}

TEST(ThreadPoolHelp, HelpingStopsOnceTheAwaitedFutureIsDone) {
  // The awaited call queues another call without waiting for it: the waiting worker must
  // return to its own call as soon as the awaited one is done, not run the queue dry.
  cf::ThreadPoolExecutor pool(1);
  OrderLog log;
  auto record = [&](const char* what) { log.record(what); };
  cf::Future<void> later;
  cf::Future<void> outer = pool.submit([&] {
    pool.submit([&] {
          record("awaited");
          later = pool.submit([&] { record("queued by the awaited call"); });
        })
        .result(kLongTimeout);
    record("waiting call resumed");
  });
  outer.result(kLongTimeout);
  later.result(kLongTimeout);
  EXPECT_EQ(log.order(), (std::vector<std::string>{"awaited", "waiting call resumed",
                                                   "queued by the awaited call"}));
}

TEST(ThreadPoolHelp, AWaitWithATimeoutInsideAWorkerTimesOut) {
  cf::ThreadPoolExecutor pool(2);
  cft::Gate gate;
  cf::Future<void> blocked = pool.submit([&] { gate.wait(); });
  ASSERT_TRUE(gate.wait_arrived(1));
  cf::Future<bool> outer = pool.submit([&] {
    try {
      blocked.result(10ms);
      return false;
    } catch (const cf::TimeoutError&) {
      return true;
    }
  });
  EXPECT_TRUE(outer.result(kLongTimeout));
  gate.open();
  blocked.result(kLongTimeout);
}

TEST(ThreadPoolHelp, AWaitingWorkerIsPokedWhenWorkArrives) {
  // Both workers are busy: one blocked in a call, the other waiting for it with nothing
  // to help with. A call submitted meanwhile from outside must still run (on the waiting
  // worker), not wait behind them.
  cf::ThreadPoolExecutor pool(2);
  cft::Gate gate;
  cf::Future<void> blocked = pool.submit([&] { gate.wait(); });
  ASSERT_TRUE(gate.wait_arrived(1));
  cf::Future<void> waiting = pool.submit([&] { blocked.result(kLongTimeout); });
  EXPECT_EQ(pool.submit([] { return 5; }).result(kLongTimeout), 5);
  gate.open();
  waiting.result(kLongTimeout);
}

TEST(ThreadPoolHelp, AThenContinuationOfThePoolsOwnCallIsHelpedWith) {
  cf::ThreadPoolExecutor pool(1);
  cf::Future<int> outer = pool.submit([&pool] {
    return pool.submit([] { return 20; }).then([](int v) { return v + 1; }).result(kLongTimeout);
  });
  EXPECT_EQ(outer.result(kLongTimeout), 21);
}

// A worker waiting for a future that is not one of its own pool's calls waits plainly:
// `queued`, submitted to the waiting worker's pool, runs only once the wait is over
// (with helping, it would run inside the wait, while `awaited` is still unfinished).
template <class Awaited>
void expect_plain_wait(cf::ThreadPoolExecutor& pool, const Awaited& awaited,
                       const std::function<void()>& finish_awaited) {
  cf::Future<void> waiting = pool.submit([&] { (void)awaited.exception(kLongTimeout); });
  cf::Future<bool> queued = pool.submit([&] { return awaited.done(); });
  EXPECT_EQ(cf::wait({cf::AnyFuture(queued)}, 100ms).not_done.size(), 1U)
      << "the waiting worker ran its pool's call while waiting for another's future";
  finish_awaited();
  waiting.result(kLongTimeout);
  EXPECT_TRUE(queued.result(kLongTimeout));
}

TEST(ThreadPoolHelp, WaitingForAnotherPoolsCallRunsNoneOfThisPoolsCalls) {
  cf::ThreadPoolExecutor pool(1);
  cf::ThreadPoolExecutor other(1);
  cft::Gate gate;
  cf::Future<void> awaited = other.submit([&] { gate.wait(); });
  expect_plain_wait(pool, awaited, [&] { gate.open(); });
}

TEST(ThreadPoolHelp, WaitingForAProcessPoolsCallRunsNoneOfThisPoolsCalls) {
  // Only the process pool's own thread finishes its futures.
  cft::ProcessGate gate;
  cf::ProcessPoolExecutor processes(1);
  cf::ThreadPoolExecutor pool(1);
  cf::Future<int> awaited = processes.submit(cft::gated_call, gate.dir(), std::string("a"));
  ASSERT_NE(gate.wait_started("a"), 0);
  expect_plain_wait(pool, awaited, [&] { gate.open("a"); });
}

TEST(ThreadPoolHelp, APromiseSetByAQueuedCallOfTheSamePoolIsHelpedWith) {
  // Who sets a Promise is unknown, so a worker waiting for its future helps: here the
  // only worker waits, and the call that sets the promise is queued behind it.
  cf::ThreadPoolExecutor pool(1);
  cf::Promise<int> promise;
  cf::Future<int> waiting =
      pool.submit([awaited = promise.get_future()] { return awaited.result(kLongTimeout); });
  cf::Future<void> setter = pool.submit([&promise] { promise.set_result(7); });
  EXPECT_EQ(waiting.result(kLongTimeout), 7);
  setter.result(kLongTimeout);
}

TEST(ThreadPoolHelp, ACoroutineAwaitingTheSamePoolsCallIsHelpedWith) {
  cf::ThreadPoolExecutor pool(1);
  auto twice = [](cf::ThreadPoolExecutor& p) -> cf::Future<int> {
    co_return 2 * co_await p.submit([] { return 21; });
  };
  cf::Future<int> outer = pool.submit([&] { return twice(pool).result(kLongTimeout); });
  EXPECT_EQ(outer.result(kLongTimeout), 42);
}

TEST(ThreadPoolHelp, IdleBookkeepingStaysRightAfterHelping) {
  // After nested calls ran inside a wait, the pool still knows it has two busy workers:
  // two blocking calls submitted together both run at once.
  std::atomic<int> workers{0};
  cf::ThreadPoolExecutor pool({.max_workers = 2, .initializer = [&] { ++workers; }});
  EXPECT_EQ(pool.submit(fib, std::ref(pool), 10).result(kLongTimeout), 55);
  cft::Gate gate;
  cf::Future<void> a = pool.submit([&] { gate.wait(); });
  cf::Future<void> b = pool.submit([&] { gate.wait(); });
  EXPECT_TRUE(gate.wait_arrived(2)) << "both calls run at once";
  gate.open();
  a.result(kLongTimeout);
  b.result(kLongTimeout);
  EXPECT_LE(workers.load(), 2);
}

TEST(ThreadPoolHelp, AWorkerOfAnotherPoolRunsNoneOfThisPoolsCalls) {
  cf::ThreadPoolExecutor first(1);
  cf::ThreadPoolExecutor second(1);
  cft::Gate gate;
  // second's only worker blocks, so a call queued on second can only run there.
  cf::Future<void> blocker = second.submit([&] { gate.wait(); });
  ASSERT_TRUE(gate.wait_arrived(1));
  cf::Future<int> queued_on_second = second.submit([] { return 2; });
  // first's worker waits for it: it must not run second's call itself.
  cf::Future<bool> waited = first.submit([&] {
    try {
      queued_on_second.result(20ms);
      return false;
    } catch (const cf::TimeoutError&) {
      return true;
    }
  });
  EXPECT_TRUE(waited.result(kLongTimeout));
  gate.open();
  EXPECT_EQ(queued_on_second.result(kLongTimeout), 2);
}

}  // namespace
