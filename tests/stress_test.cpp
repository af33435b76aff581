// Stress tests: races between cancel, set_running, set_result, done-callbacks, result()
// with timeouts, wait/as_completed, submit and shutdown, co_await, then and when_all,
// across threads. Hundreds of thousands of operations in a plain build (fewer under
// sanitizers, see test_util.hpp); each test checks an invariant that a race would break
// (exactly once, nothing lost, nothing left pending), and ThreadSanitizer checks the
// memory accesses.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "concurrent/futures.hpp"
#include "test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
using namespace std::chrono_literals;
using cft::kLongTimeout;
using cft::scaled;

namespace {

// Runs `body(thread_index)` on `n` threads released together; joins them.
template <class F>
void run_together(int n, F body) {
  std::latch go(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      body(i);
    });
  }
  for (auto& t : threads) t.join();
}

// Races `body(thread_index)` on `n` long-lived threads for `rounds` rounds. Before each
// round `setup()` prepares fresh state; after it `check()` verifies it (both run while
// every racing thread waits at a barrier). Much cheaper than a thread per round.
template <class Setup, class Body, class Check>
void race_rounds(std::size_t rounds, int n, Setup setup, Body body, Check check) {
  setup();
  std::size_t round = 0;
  auto between_rounds = [&]() noexcept {
    check();
    if (++round < rounds) setup();
  };
  std::barrier sync(n, between_rounds);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      for (std::size_t r = 0; r < rounds; ++r) {
        body(i);
        sync.arrive_and_wait();
      }
    });
  }
  for (auto& t : threads) t.join();
}

TEST(Stress, CancelRacesSetRunningAndSetResult) {
  // Exactly one side wins, the final state agrees with it, callbacks run once.
  struct Round {
    cf::Promise<int> promise;
    cf::Future<int> future = promise.get_future();
    std::atomic<int> callbacks{0};
    bool cancel_won = false;
    bool ran = false;
  };
  std::unique_ptr<Round> r;
  std::atomic<int> failures{0};
  race_rounds(
      scaled(40'000), 2,
      [&] {
        r = std::make_unique<Round>();
        r->future.add_done_callback([&c = r->callbacks](const cf::Future<int>&) { ++c; });
      },
      [&](int t) {
        if (t == 0) {
          r->cancel_won = r->future.cancel();
        } else {
          r->ran = r->promise.set_running_or_notify_cancel();
          if (r->ran) r->promise.set_result(1);
        }
      },
      [&] {
        const bool ok = r->cancel_won != r->ran && r->callbacks.load() == 1 &&
                        r->future.cancelled() == r->cancel_won &&
                        (r->cancel_won || r->future.result(0s) == 1);
        if (!ok) ++failures;
      });
  EXPECT_EQ(failures.load(), 0);
}

TEST(Stress, CancelRacesDirectSetResult) {
  struct Round {
    cf::Promise<int> promise;
    cf::Future<int> future = promise.get_future();
    bool cancel_won = false;
    bool set_ok = false;
  };
  std::unique_ptr<Round> r;
  std::atomic<int> failures{0};
  race_rounds(
      scaled(40'000), 2, [&] { r = std::make_unique<Round>(); },
      [&](int t) {
        if (t == 0) {
          r->cancel_won = r->future.cancel();
          return;
        }
        try {
          r->promise.set_result(2);
          r->set_ok = true;
        } catch (const cf::InvalidStateError&) {
        }
      },
      [&] {
        if (r->cancel_won == r->set_ok || r->future.cancelled() != r->cancel_won) ++failures;
      });
  EXPECT_EQ(failures.load(), 0);
}

TEST(Stress, AddDoneCallbackRacesCompletion) {
  // Callbacks added while another thread completes the future each run exactly once.
  constexpr int kCallbacks = 8;
  struct Round {
    cf::Promise<int> promise;
    cf::Future<int> future = promise.get_future();
    std::atomic<int> calls{0};
  };
  std::unique_ptr<Round> r;
  std::size_t round = 0;
  std::atomic<int> failures{0};
  race_rounds(
      scaled(20'000), 3, [&] { r = std::make_unique<Round>(); },
      [&](int t) {
        if (t == 0) {
          if (round % 3 == 0) {
            (void)r->future.cancel();
          } else {
            r->promise.set_result(3);
          }
          return;
        }
        for (int k = 0; k < kCallbacks / 2; ++k) {
          r->future.add_done_callback([&c = r->calls](const cf::Future<int>& g) {
            if (g.done()) ++c;
          });
        }
      },
      [&] {
        ++round;
        if (r->calls.load() != kCallbacks) ++failures;
      });
  EXPECT_EQ(failures.load(), 0);
}

TEST(Stress, ConcurrentResultWaitersWithTimeouts) {
  // Readers with tiny and generous timeouts race the writer: each read either times
  // out while the future is unfinished, or sees the one value.
  struct Round {
    cf::Promise<int> promise;
    cf::Future<int> future = promise.get_future();
  };
  std::unique_ptr<Round> r;
  std::atomic<int> bad{0};
  race_rounds(
      scaled(10'000), 4, [&] { r = std::make_unique<Round>(); },
      [&](int t) {
        if (t == 0) {
          r->promise.set_result(7);
          return;
        }
        for (int k = 0; k < 3; ++k) {
          try {
            const auto timeout = t == 1 ? 0us : (t == 2 ? 20us : kLongTimeout);
            if (r->future.result(timeout) != 7) ++bad;
          } catch (const cf::TimeoutError&) {
            if (t == 3) ++bad;  // the long timeout must never fire
          }
        }
      },
      [] {});
  EXPECT_EQ(bad.load(), 0);
}

TEST(Stress, WaitWhileFuturesCompleteAndGetCancelled) {
  constexpr int kFutures = 16;
  struct Round {
    std::vector<cf::Promise<int>> promises{kFutures};
    std::vector<cf::Future<int>> futures;
    std::size_t first_done = 0;
    std::size_t first_exception_done = 0;
    std::size_t all_done = 0;
  };
  std::unique_ptr<Round> r;
  std::atomic<int> failures{0};
  race_rounds(
      scaled(4'000), 4,
      [&] {
        r = std::make_unique<Round>();
        for (auto& p : r->promises) r->futures.push_back(p.get_future());
      },
      [&](int t) {
        auto& fs = r->futures;
        if (t == 0) {
          for (int k = 0; k < kFutures; ++k) {
            if (k % 4 == 1) {
              (void)fs[k].cancel();
            } else if (k % 4 == 2) {
              r->promises[k].set_exception(std::make_exception_ptr(cft::TestError()));
            } else {
              r->promises[k].set_result(k);
            }
          }
        } else if (t == 1) {
          r->first_done = cf::wait(fs, kLongTimeout, cf::FIRST_COMPLETED).done.size();
        } else if (t == 2) {
          r->first_exception_done = cf::wait(fs, kLongTimeout, cf::FIRST_EXCEPTION).done.size();
        } else {
          auto [done, not_done] = cf::wait(fs, kLongTimeout, cf::ALL_COMPLETED);
          r->all_done = not_done.empty() ? done.size() : 0;
        }
      },
      [&] {
        if (r->first_done < 1 || r->first_exception_done < 1 ||
            r->all_done != static_cast<std::size_t>(kFutures)) {
          ++failures;
        }
      });
  EXPECT_EQ(failures.load(), 0);
}

TEST(Stress, AsCompletedWhileFuturesCompleteAndGetCancelled) {
  constexpr int kFutures = 16;
  struct Round {
    std::vector<cf::Promise<int>> promises{kFutures};
    std::vector<cf::Future<int>> futures;
    int yielded = 0;
    int abandoned = 0;
  };
  std::unique_ptr<Round> r;
  std::atomic<int> failures{0};
  race_rounds(
      scaled(4'000), 3,
      [&] {
        r = std::make_unique<Round>();
        for (auto& p : r->promises) r->futures.push_back(p.get_future());
      },
      [&](int t) {
        auto& fs = r->futures;
        if (t == 0) {
          for (int k = kFutures; k-- > 0;) {
            if (k % 3 == 0) {
              (void)fs[k].cancel();
            } else {
              r->promises[k].set_result(k);
            }
          }
        } else if (t == 1) {
          for (const auto& f : cf::as_completed(fs, kLongTimeout)) {
            if (f.done()) ++r->yielded;
          }
        } else {
          // A range abandoned mid-way while completions still arrive.
          auto range = cf::as_completed(fs, kLongTimeout);
          for (const auto& f : range) {
            (void)f;
            if (++r->abandoned == 3) break;
          }
        }
      },
      [&] {
        if (r->yielded != kFutures || r->abandoned != 3) ++failures;
      });
  EXPECT_EQ(failures.load(), 0);
}

TEST(Stress, ManySmallTasks) {
  const std::size_t n = scaled(100'000);
  cf::ThreadPoolExecutor pool(4);
  std::vector<cf::Future<std::size_t>> fs;
  fs.reserve(n);
  for (std::size_t i = 0; i < n; ++i) fs.push_back(pool.submit([i] { return i; }));
  std::size_t sum = 0;
  for (auto& f : fs) sum += f.result(kLongTimeout);
  EXPECT_EQ(sum, n * (n - 1) / 2);
}

int nested_fib(cf::ThreadPoolExecutor& pool, int n) {
  if (n < 2) return n;
  cf::Future<int> a = pool.submit(nested_fib, std::ref(pool), n - 1);
  cf::Future<int> b = pool.submit(nested_fib, std::ref(pool), n - 2);
  return a.result(kLongTimeout) + b.result(kLongTimeout);
}

TEST(Stress, RecursiveForkJoinRacesHelping) {
  // Few workers, each waiting on calls the others run and helping with theirs: every
  // round completes with the right value (a helping deadlock ends in a TimeoutError).
  for (const std::size_t workers : {2, 3}) {
    cf::ThreadPoolExecutor pool(workers);
    for (std::size_t round = 0; round < scaled(20); ++round) {
      EXPECT_EQ(pool.submit(nested_fib, std::ref(pool), 18).result(kLongTimeout), 2584);
    }
  }
}

TEST(Stress, SubmitsWithoutTheMutexRaceWorkersFallingAsleep) {
  // Submitters push calls without the pool's mutex while the workers run out of work and
  // go to sleep, burst after burst: a call pushed just as the last awake worker looks at
  // the queue for the last time must still be run (a stranded call ends its result() in
  // a TimeoutError). Every burst waits for its results, so the workers fall asleep often.
  for (const std::size_t workers : {1, 2, 6}) {
    cf::ThreadPoolExecutor pool(workers);
    const std::size_t rounds = scaled(400);
    constexpr int kSubmitters = 3;
    std::atomic<std::size_t> ran{0};
    std::atomic<std::size_t> submitted{0};
    run_together(kSubmitters, [&](int t) {
      for (std::size_t round = 0; round < rounds; ++round) {
        std::vector<cf::Future<std::size_t>> burst;
        const std::size_t size = 1 + (round + static_cast<std::size_t>(t)) % 8;
        for (std::size_t k = 0; k < size; ++k) {
          burst.push_back(pool.submit([&ran, k] {
            ++ran;
            return k;
          }));
        }
        submitted += size;
        for (std::size_t k = 0; k < size; ++k) ASSERT_EQ(burst[k].result(kLongTimeout), k);
      }
    });
    EXPECT_EQ(ran.load(), submitted.load()) << workers << " workers";
  }
}

TEST(Stress, SubmitRacesShutdownWithCancel) {
  // Several threads submit while another shuts down with cancel_futures: every submit
  // either throws the shutdown error or returns a future that ends done (run or
  // cancelled), none stays pending, and shutdown(true) returns.
  const std::size_t rounds = scaled(150);
  for (std::size_t i = 0; i < rounds; ++i) {
    cf::ThreadPoolExecutor pool(2);
    std::vector<std::vector<cf::Future<int>>> accepted(3);
    std::atomic<int> rejected{0};
    std::atomic<int> ran{0};
    run_together(4, [&](int t) {
      if (t == 3) {
        pool.shutdown(true, true);
        return;
      }
      for (int k = 0; k < 50; ++k) {
        try {
          accepted[t].push_back(pool.submit([&ran, k] {
            ++ran;
            return k;
          }));
        } catch (const std::runtime_error&) {
          ++rejected;
        }
      }
    });
    pool.shutdown(true);
    int cancelled = 0;
    int finished = 0;
    for (auto& v : accepted) {
      for (auto& f : v) {
        ASSERT_TRUE(f.done()) << "a future stayed pending after shutdown(true)";
        if (f.cancelled()) {
          ++cancelled;
        } else {
          ++finished;
          ASSERT_NO_THROW((void)f.result(0s));
        }
      }
    }
    ASSERT_EQ(finished, ran.load());
    ASSERT_EQ(cancelled + finished + rejected.load(), 150);
  }
}

TEST(Stress, SubmitFromTasksWhileShuttingDown) {
  // Tasks that submit more work race a shutdown: nothing hangs, nothing stays pending.
  const std::size_t rounds = scaled(300);
  for (std::size_t i = 0; i < rounds; ++i) {
    auto pool = std::make_unique<cf::ThreadPoolExecutor>(3);
    cf::ThreadPoolExecutor& executor = *pool;  // the unique_ptr is null while resetting
    std::mutex mutex;
    std::vector<cf::Future<int>> children;
    std::vector<cf::Future<void>> parents;
    for (int k = 0; k < 20; ++k) {
      parents.push_back(pool->submit([&, k] {
        try {
          cf::Future<int> child = executor.submit([k] { return k; });
          std::lock_guard lock(mutex);
          children.push_back(child);
        } catch (const std::runtime_error&) {
        }
      }));
    }
    pool->shutdown(false, i % 2 == 0);
    pool.reset();
    for (auto& f : parents) ASSERT_TRUE(f.done());
    std::lock_guard lock(mutex);
    for (auto& f : children) ASSERT_TRUE(f.done());
  }
}

TEST(Stress, ManyPoolsCreatedAndDestroyed) {
  const std::size_t rounds = scaled(400);
  std::atomic<std::size_t> total{0};
  for (std::size_t i = 0; i < rounds; ++i) {
    cf::ThreadPoolExecutor pool(1 + i % 4);
    for (int k = 0; k < 8; ++k) (void)pool.submit([&] { ++total; });
    if (i % 3 == 0) pool.shutdown(i % 2 == 0);
    // the destructor waits for the rest
  }
  EXPECT_EQ(total.load(), rounds * 8);
}

TEST(Stress, MapRangesAbandonedWhileRunning) {
  const std::size_t rounds = scaled(300);
  cf::ThreadPoolExecutor pool(4);
  std::vector<int> in(64);
  for (int i = 0; i < 64; ++i) in[i] = i;
  for (std::size_t i = 0; i < rounds; ++i) {
    auto options = cf::MapOptions{};
    if (i % 2) options.buffersize = 1 + static_cast<std::int64_t>(i % 5);
    auto results = pool.map(
        options, [](int x) { return x + 1; }, in);
    int expected = 1;
    for (int y : results) {
      ASSERT_EQ(y, expected);
      if (++expected > static_cast<int>(i % 10)) break;
    }
  }
}

TEST(Stress, CallbacksAndWaitersOnPoolFutures) {
  // Pool futures with callbacks that submit more work, read by wait and as_completed on
  // other threads at the same time.
  const std::size_t rounds = scaled(200);
  for (std::size_t i = 0; i < rounds; ++i) {
    cf::ThreadPoolExecutor pool(4);
    std::vector<cf::Future<int>> fs;
    std::atomic<int> callbacks{0};
    for (int k = 0; k < 32; ++k) {
      fs.push_back(pool.submit([k] { return k; }));
      fs.back().add_done_callback([&](const cf::Future<int>&) { ++callbacks; });
      if (k % 5 == 0) (void)fs.back().cancel();
    }
    std::atomic<int> seen{0};
    run_together(2, [&](int t) {
      if (t == 0) {
        ASSERT_TRUE(cf::wait(fs, kLongTimeout).not_done.empty());
      } else {
        for (const auto& f : cf::as_completed(fs, kLongTimeout)) {
          (void)f;
          ++seen;
        }
      }
    });
    pool.shutdown(true);
    ASSERT_EQ(seen.load(), 32);
    ASSERT_EQ(callbacks.load(), 32);
  }
}

TEST(Stress, CoAwaitRacesCompletion) {
  // The awaiter registers while another thread finishes or cancels the future: the
  // coroutine resumes exactly once, with the outcome, and its future finishes.
  struct Round {
    cf::Promise<int> promise;
    cf::Future<int> future = promise.get_future();
    std::atomic<int> resumed{0};
    cf::Future<int> coroutine;
  };
  auto awaiting = [](cf::Future<int> f, std::atomic<int>& resumed) -> cf::Future<int> {
    int v = -1;
    try {
      v = co_await f;
    } catch (const cf::CancelledError&) {
    }
    ++resumed;
    co_return v;
  };
  std::unique_ptr<Round> r;
  std::size_t round = 0;
  std::atomic<int> failures{0};
  race_rounds(
      scaled(40'000), 2, [&] { r = std::make_unique<Round>(); },
      [&](int t) {
        if (t == 0) {
          r->coroutine = awaiting(r->future, r->resumed);
        } else if (round % 4 == 0) {
          (void)r->future.cancel();
        } else {
          r->promise.set_result(static_cast<int>(round));
        }
      },
      [&] {
        const int expected = round % 4 == 0 ? -1 : static_cast<int>(round);
        ++round;
        if (r->resumed.load() != 1 || !r->coroutine.done() || r->coroutine.result(0s) != expected) {
          ++failures;
        }
      });
  EXPECT_EQ(failures.load(), 0);
}

TEST(Stress, ThenAndWhenAllRaceCompletion) {
  // A continuation and a when_all added while two threads finish the inputs: fn runs
  // exactly once, and both new futures finish.
  constexpr int kInputs = 8;
  struct Round {
    std::vector<cf::Promise<int>> promises = std::vector<cf::Promise<int>>(kInputs);
    std::vector<cf::Future<int>> futures;
    std::atomic<int> calls{0};
    cf::Future<int> then;
    cf::Future<void> all;
  };
  std::unique_ptr<Round> r;
  std::atomic<int> failures{0};
  race_rounds(
      scaled(20'000), 3,
      [&] {
        r = std::make_unique<Round>();
        for (auto& p : r->promises) r->futures.push_back(p.get_future());
      },
      [&](int t) {
        if (t == 0) {
          r->then = r->futures[0].then([&c = r->calls](int v) { return v + ++c; });
          r->all = cf::when_all(r->futures);
          return;
        }
        for (int k = t - 1; k < kInputs; k += 2) r->promises[k].set_result(k);
      },
      [&] {
        if (r->calls.load() != 1 || r->then.result(0s) != 1 || !r->all.done()) ++failures;
      });
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
