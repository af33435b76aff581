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
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "concurrent/futures/process_pool.hpp"
#include "process_gate.hpp"
#include "process_pool_test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
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

// Reading one's own result (src/process/own_result.cpp): a thread that submits to an
// idle pool and then waits reads the result from the worker's socket itself, so the
// future's done-callbacks run on it, inside result(), not on the management thread. A
// new pool's first calls may go through the management thread, and any call may when
// the thread is late; if none of 50 finished this way, the path is gone.
TEST_P(ProcessPoolDirect, AThreadWaitingForItsOwnCallReadsTheResultItself) {
  cf::ProcessPoolExecutor pool(options(1));
  struct Round {
    std::atomic<bool> adding{true};
    std::atomic<bool> finished_here{false};
  };
  const std::thread::id self = std::this_thread::get_id();
  int read_here = 0;
  for (int r = 0; r < 50; ++r) {
    auto round = std::make_shared<Round>();
    cf::Future<int> f = pool.submit(square, r);
    f.add_done_callback([round, self](const cf::Future<int>&) {
      round->finished_here = !round->adding && std::this_thread::get_id() == self;
    });
    round->adding = false;
    EXPECT_EQ(f.result(kLongTimeout), r * r);
    if (round->finished_here) ++read_here;
  }
  EXPECT_GT(read_here, 0);
}

// A wait for its own call that times out leaves the result to the management thread:
// the call still finishes, and the calls after it too.
TEST_P(ProcessPoolDirect, AWaitForItsOwnCallThatTimesOutLeavesTheResultToThePool) {
  cft::ProcessGate gate;
  cf::ProcessPoolExecutor pool(options(1));
  for (int r = 0; r < 5; ++r) {
    const std::string name = "call" + std::to_string(r);
    cf::Future<int> f = pool.submit(cft::gated_call, gate.dir(), name);
    EXPECT_THROW((void)f.result(1ms), cf::TimeoutError) << "its gate is closed";
    gate.open(name);
    EXPECT_GT(f.result(kLongTimeout), 0);
    EXPECT_EQ(pool.submit(square, r).result(kLongTimeout), r * r);
  }
}

// A call to an idle pool that nobody waits for is read by the management thread.
TEST_P(ProcessPoolDirect, ACallNobodyWaitsForFinishesAllTheSame) {
  cf::ProcessPoolExecutor pool(options(1));
  for (int r = 0; r < static_cast<int>(scaled(20)); ++r) {
    auto seen = std::make_shared<cf::Promise<int>>();
    pool.submit(square, r).add_done_callback(
        [seen](const cf::Future<int>& f) { seen->set_result(f.result()); });
    EXPECT_EQ(seen->get_future().result(kLongTimeout), r * r);
  }
}

// While this thread reads its own call's result, another thread's submit makes the
// management thread take the worker back from it; both calls return their values.
TEST_P(ProcessPoolDirect, ASubmitWhileAThreadReadsItsOwnResultTakesTheWorkerBack) {
  cft::ProcessGate gate;
  cf::ProcessPoolExecutor pool(options(1));
  for (int r = 0; r < static_cast<int>(scaled(5)); ++r) {
    const std::string name = "call" + std::to_string(r);
    cf::Future<int> gated = pool.submit(cft::gated_call, gate.dir(), name);
    std::atomic<bool> other_ok{false};
    std::jthread other([&] {
      if (gate.wait_started(name) == 0) return;
      cf::Future<int> f = pool.submit(square, r);
      gate.open(name);
      other_ok = returns(f, r * r);
    });
    EXPECT_GT(gated.result(kLongTimeout), 0);
    other.join();
    EXPECT_TRUE(other_ok.load());
  }
}

// Threads that each submit and wait, on one worker, race for the lent socket and for
// taking it back, against a thread whose waits time out; every call returns its value.
TEST_P(ProcessPoolDirect, ThreadsReadingTheirOwnResultsRaceEachOtherAndTimeouts) {
  cf::ProcessPoolExecutor pool(options(1));
  const int calls = static_cast<int>(scaled(300));
  std::atomic<int> wrong{0};
  std::vector<std::jthread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < calls; ++i) {
        cf::Future<int> f = pool.submit(square, i);
        if (t == 0) {
          try {
            (void)f.result(std::chrono::microseconds(i % 3 * 50));
          } catch (const cf::TimeoutError&) {
          }
        }
        if (!returns(f, i * i)) ++wrong;
      }
    });
  }
  threads.clear();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
