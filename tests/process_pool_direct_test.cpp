// The idle fast path (src/process/core.hpp, LentChannel): a submit to an idle pool writes
// its call to a lent worker's socket itself. These tests race it against everything else
// that touches a call: other submits going through the management thread, a worker
// dying and being replaced, shutdown with cancel_futures, and kill_workers(). Every
// round lets the pool go idle, so that each one lends a worker again.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <cstddef>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "concurrent/futures/process_pool.hpp"
#include "process_pool_test_util.hpp"

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

namespace {

using namespace concurrent::futures::test;  // process_pool_test_util.hpp

constexpr std::size_t kThreads = 3;

// Whether `f` returns `expected`. The tests' threads call this rather than result(): an
// exception escaping a thread would end the whole test binary instead of failing a test.
bool returns(const cf::Future<int>& f, int expected) {
  try {
    return f.result(kLongTimeout) == expected;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected " << expected << ", the call failed: " << e.what();
    return false;
  }
}

class ProcessPoolDirect : public ProcessPoolTest {};
INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessPoolDirect, kStartMethods, start_method_name);

// Threads submit at the same moment to an idle pool, round after round: one of them may
// take the lent worker, the others go through the management thread; every call returns
// its own value.
TEST_P(ProcessPoolDirect, SimultaneousSubmitsToAnIdlePoolEachGetTheirOwnResult) {
  cf::ProcessPoolExecutor pool(options(2));
  const int rounds = static_cast<int>(scaled(200));
  std::barrier start(static_cast<std::ptrdiff_t>(kThreads));
  std::atomic<int> wrong{0};
  std::vector<std::jthread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        const int x = r * static_cast<int>(kThreads) + static_cast<int>(t);
        start.arrive_and_wait();
        if (!returns(pool.submit(square, x), x * x)) ++wrong;
        start.arrive_and_wait();  // every result is in: the pool is idle again
      }
    });
  }
  threads.clear();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(pool.submit(add, 2, 3).result(kLongTimeout), 5);
}

// A submit from a done-callback: on the management thread (which has taken its worker
// back by then) it goes through pending_ and does not wait for itself; on this thread,
// when `first` was done before the callback was added, it may take the fast path.
TEST_P(ProcessPoolDirect, ASubmitFromADoneCallbackOfADirectCallFinishes) {
  cf::ProcessPoolExecutor pool(options(1));
  for (int r = 0; r < static_cast<int>(scaled(50)); ++r) {
    cf::Future<int> first = pool.submit(square, r);
    cf::Promise<cf::Future<int>> second;
    first.add_done_callback(
        [&](const cf::Future<int>&) { second.set_result(pool.submit(add, r, 1)); });
    EXPECT_EQ(first.result(kLongTimeout), r * r);
    EXPECT_EQ(second.get_future().result(kLongTimeout).result(kLongTimeout), r + 1);
  }
}

class ProcessPoolDirectReplace : public ProcessPoolTest {};
INSTANTIATE_TEST_SUITE_P(SpawnAndForkserver, ProcessPoolDirectReplace,
                         testing::Values(cf::StartMethod::spawn, cf::StartMethod::forkserver),
                         start_method_name);

// A call written straight to an idle worker that then dies fails alone (WorkerDied), while
// other threads' calls, direct or not, go on and the dead worker is replaced.
TEST_P(ProcessPoolDirectReplace, ADirectCallThatKillsItsWorkerFailsAlone) {
  cf::ProcessPoolOptions o = options(2);
  o.on_worker_death = cf::OnWorkerDeath::replace;
  cf::ProcessPoolExecutor pool(o);
  const int rounds = static_cast<int>(scaled(40));
  std::barrier start(static_cast<std::ptrdiff_t>(kThreads));
  std::atomic<int> crash_errors{0};
  std::atomic<int> wrong{0};
  std::vector<std::jthread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        start.arrive_and_wait();
        if (t == 0) {
          const std::string error =
              error_of(pool.submit(crash_after, 0, static_cast<int>(Action::exit_3)));
          if (error.rfind("WorkerDied: ", 0) != 0) {
            ++crash_errors;
            ADD_FAILURE() << "round " << r << ": " << error;
          }
        } else if (!returns(pool.submit(square, r), r * r)) {
          ++wrong;
        }
        start.arrive_and_wait();
      }
    });
  }
  threads.clear();
  EXPECT_EQ(crash_errors.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(pool.submit(square, 7).result(kLongTimeout), 49);
  EXPECT_EQ(pool.worker_pids().size(), 2u);
}

// Submits race shutdown(wait=false, cancel_futures=true): each submit either throws (after
// shutdown) or returns a future that ends cancelled or with its value; after the join,
// every one of them is done.
TEST_P(ProcessPoolDirect, SubmitsRacingShutdownWithCancelEndCancelledOrWithTheirValue) {
  for (int round = 0; round < static_cast<int>(scaled(10)); ++round) {
    std::vector<std::vector<std::pair<int, cf::Future<int>>>> got(kThreads);
    cf::ProcessPoolExecutor pool(options(2));
    std::latch warmed_up(static_cast<std::ptrdiff_t>(kThreads));
    std::vector<std::jthread> threads;
    for (std::size_t t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          try {
            got[t].emplace_back(i, pool.submit(square, i));
          } catch (const std::runtime_error&) {
            return;  // shut down
          }
          if (i % 2 == 0) (void)error_of(got[t].back().second);  // idle now and then
          if (i == 4) warmed_up.count_down();
        }
      });
    }
    warmed_up.wait();
    pool.shutdown(false, true);
    threads.clear();
    pool.shutdown(true);
    for (auto& calls : got) {
      for (auto& [i, f] : calls) {
        ASSERT_TRUE(f.done()) << i;
        if (!f.cancelled()) {
          EXPECT_EQ(f.result(0s), i * i) << i;
        }
      }
    }
  }
}

// Submits race kill_workers(): each future ends with its value, cancelled (it was still
// pending) or with BrokenProcessPool (it was running); no submit or wait hangs.
TEST_P(ProcessPoolDirect, SubmitsRacingKillWorkersEndWithTheirValueCancelledOrBroken) {
  for (int round = 0; round < static_cast<int>(scaled(10)); ++round) {
    // The futures outlive the pool: the failed ones share one exception, whose last
    // reference is then dropped on this thread after the others have joined
    // (ThreadSanitizer does not see the uninstrumented exception_ptr's count).
    std::vector<std::vector<cf::Future<int>>> got(kThreads);
    cf::ProcessPoolExecutor pool(options(2));
    std::latch warmed_up(static_cast<std::ptrdiff_t>(kThreads));
    std::atomic<int> wrong{0};
    std::vector<std::jthread> threads;
    for (std::size_t t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          try {
            got[t].push_back(pool.submit(square, i));
          } catch (const std::runtime_error&) {
            return;  // shut down by kill_workers()
          }
          const cf::Future<int>& f = got[t].back();
          const std::string error = error_of(f);
          const bool ok = error == "no error"
                              ? f.result(0s) == i * i
                              : f.cancelled() || error.rfind("BrokenProcessPool: ", 0) == 0;
          if (!ok) {
            ++wrong;
            ADD_FAILURE() << i << ": " << error;
          }
          if (i == 4) warmed_up.count_down();
        }
      });
    }
    warmed_up.wait();
    pool.kill_workers();
    threads.clear();
    EXPECT_EQ(wrong.load(), 0);
  }
}

}  // namespace
