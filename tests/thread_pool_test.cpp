// Tests for what only ThreadPoolExecutor does (thread_pool.hpp): max_workers checks,
// workers started on demand and reused, saturation, OS thread names, initializers and
// BrokenThreadPool, arbitrary callables and argument decay, submitting and shutting
// down from inside tasks and callbacks, and map details that need shared memory
// (buffersize counted with an atomic). The behaviour shared with the process pool is in
// executor_test.cpp.
#include "concurrent/futures/thread_pool.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <latch>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "concurrent/futures/wait.hpp"
#include "test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
using namespace std::chrono_literals;
using cft::kLongTimeout;

namespace {

// Thread ids seen by tasks, thread-safe.
class ThreadSet {
 public:
  void add() {
    std::lock_guard lock(mutex_);
    ids_.insert(std::this_thread::get_id());
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return ids_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::set<std::thread::id> ids_;
};

// ------------------------------------------------------------------------------------
// Construction.

TEST(ThreadPool, NonPositiveMaxWorkersThrows) {
  for (const auto& make : std::vector<std::function<void()>>{
           [] { cf::ThreadPoolExecutor pool(0); },
           [] { cf::ThreadPoolExecutor pool(-1); },
           [] { cf::ThreadPoolExecutor pool(static_cast<long long>(-100)); },
           [] { cf::ThreadPoolExecutor pool(cf::ThreadPoolOptions{.max_workers = 0}); },
       }) {
    try {
      make();
      ADD_FAILURE() << "no exception";
    } catch (const std::invalid_argument& e) {
      EXPECT_STREQ(e.what(), "max_workers must be greater than 0");
    }
  }
}

TEST(ThreadPool, DefaultMaxWorkersIsMin32AndCpusPlus4) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  const auto usable = static_cast<std::size_t>(CPU_COUNT(&set));
  cf::ThreadPoolExecutor pool;
  EXPECT_EQ(pool.max_workers(), std::min<std::size_t>(32, usable + 4));
  cf::ThreadPoolExecutor seven(7u);
  EXPECT_EQ(seven.max_workers(), 7u);
}

TEST(ThreadPool, NoThreadStartsBeforeWork) {
  std::atomic<int> started{0};
  {
    cf::ThreadPoolExecutor pool({.max_workers = 4, .initializer = [&] { ++started; }});
  }
  EXPECT_EQ(started.load(), 0);
}

// ------------------------------------------------------------------------------------
// Workers on demand.

TEST(ThreadPool, IdleThreadReuse) {
  // CPython's test_idle_thread_reuse: three sequential submit().result() use one thread.
  std::atomic<int> workers{0};
  ThreadSet threads;
  cf::ThreadPoolExecutor pool({.max_workers = 4, .initializer = [&] { ++workers; }});
  for (int i = 0; i < 3; ++i) pool.submit([&] { threads.add(); }).result(kLongTimeout);
  pool.shutdown(true);
  EXPECT_EQ(workers.load(), 1);
  EXPECT_EQ(threads.size(), 1u);
}

class ThreadPoolSweep : public testing::TestWithParam<std::size_t> {};

TEST_P(ThreadPoolSweep, SaturationStartsExactlyMaxWorkers) {
  // CPython's test_saturation: 15 * max_workers blocked calls start max_workers threads.
  const std::size_t max_workers = GetParam();
  cft::Gate gate;
  ThreadSet threads;
  std::atomic<std::size_t> workers{0};
  cf::ThreadPoolExecutor pool({.max_workers = max_workers, .initializer = [&] { ++workers; }});
  std::vector<cf::Future<void>> fs;
  for (std::size_t i = 0; i < 15 * max_workers; ++i) {
    fs.push_back(pool.submit([&] {
      threads.add();
      gate.wait();
    }));
  }
  ASSERT_TRUE(gate.wait_arrived(max_workers));
  EXPECT_EQ(workers.load(), max_workers);
  EXPECT_EQ(threads.size(), max_workers);
  gate.open();
  for (auto& f : fs) f.result(kLongTimeout);
  EXPECT_EQ(workers.load(), max_workers);
  EXPECT_EQ(threads.size(), max_workers);
  EXPECT_EQ(gate.arrived(), 15 * max_workers);
}

TEST_P(ThreadPoolSweep, InitializerRunsOncePerWorkerBeforeItsCalls) {
  const std::size_t max_workers = GetParam();
  static thread_local int initialized = 0;
  std::atomic<std::size_t> runs{0};
  cft::Gate gate;
  cf::ThreadPoolExecutor pool({.max_workers = max_workers, .initializer = [&] {
                                 ++initialized;
                                 ++runs;
                               }});
  std::vector<cf::Future<int>> fs;
  for (std::size_t i = 0; i < 4 * max_workers; ++i) {
    fs.push_back(pool.submit([&] {
      gate.wait();
      return initialized;
    }));
  }
  ASSERT_TRUE(gate.wait_arrived(max_workers));
  gate.open();
  for (auto& f : fs) EXPECT_EQ(f.result(kLongTimeout), 1);
  pool.shutdown(true);
  EXPECT_EQ(runs.load(), max_workers);
}

TEST_P(ThreadPoolSweep, SubmitFromManyThreads) {
  const std::size_t max_workers = GetParam();
  cf::ThreadPoolExecutor pool(max_workers);
  std::atomic<int> sum{0};
  std::vector<std::thread> submitters;
  std::vector<std::vector<cf::Future<void>>> fs(4);
  for (int t = 0; t < 4; ++t) {
    submitters.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i) fs[t].push_back(pool.submit([&sum, i] { sum += i; }));
    });
  }
  for (auto& t : submitters) t.join();
  for (auto& v : fs) {
    for (auto& f : v) f.result(kLongTimeout);
  }
  EXPECT_EQ(sum.load(), 4 * 249 * 250 / 2);
}

TEST_P(ThreadPoolSweep, MapInInputOrderWhenCompletionIsReversed) {
  // Each call waits until every later call has finished, so they complete in reverse
  // input order (in batches of max_workers); map must still yield in input order.
  const std::size_t workers = GetParam();
  cf::ThreadPoolExecutor pool(workers);
  const int n = static_cast<int>(workers);
  std::vector<std::shared_ptr<std::latch>> later_done;
  for (int i = 0; i < n; ++i) later_done.push_back(std::make_shared<std::latch>(n - 1 - i));
  std::vector<int> inputs;
  for (int i = 0; i < n; ++i) inputs.push_back(i);
  std::vector<int> out;
  for (int y : pool.map(
           [&](int i) {
             EXPECT_TRUE(later_done[i]->try_wait() ||
                         (later_done[i]->wait(), true));  // latches cannot time out
             for (int j = 0; j < i; ++j) later_done[j]->count_down();
             return i * 10;
           },
           inputs)) {
    out.push_back(y);
  }
  ASSERT_EQ(out.size(), inputs.size());
  for (int i = 0; i < n; ++i) EXPECT_EQ(out[i], i * 10);
}

TEST_P(ThreadPoolSweep, CallQueuedBehindABlockedWorkerWakesASleepingOne) {
  // Every worker has run a call and gone to sleep; one of them then blocks in a call.
  // The next call must wake a sleeper rather than wait for the blocked worker.
  const std::size_t max_workers = GetParam();
  if (max_workers < 2) GTEST_SKIP() << "needs a second worker";
  cf::ThreadPoolExecutor pool(max_workers);
  cft::Gate all_started;  // holds each warm-up call until every worker has one
  std::vector<cf::Future<void>> warm;
  for (std::size_t i = 0; i < max_workers; ++i) {
    warm.push_back(pool.submit([&] { all_started.wait(); }));
  }
  ASSERT_TRUE(all_started.wait_arrived(max_workers));
  all_started.open();
  for (auto& f : warm) f.result(kLongTimeout);
  cft::Gate blocker;
  cf::Future<void> blocked = pool.submit([&] { blocker.wait(); });
  ASSERT_TRUE(blocker.wait_arrived(1));
  EXPECT_EQ(pool.submit([] { return 7; }).result(kLongTimeout), 7);
  EXPECT_FALSE(blocked.done());
  blocker.open();
  blocked.result(kLongTimeout);
}

TEST_P(ThreadPoolSweep, BurstsFromManyThreadsWithQuietSpellsAllComplete) {
  // Races the wake-up bookkeeping: short bursts from several threads, each followed by
  // a wait for its results, so workers keep going to sleep and being woken while other
  // threads submit. A lost wake-up leaves a future unfinished (the result() times out).
  const std::size_t max_workers = GetParam();
  cf::ThreadPoolExecutor pool(max_workers);
  std::atomic<int> ran{0};
  constexpr int kThreads = 4;
  constexpr int kRounds = 300;
  std::vector<std::thread> submitters;
  std::atomic<int> timeouts{0};
  for (int t = 0; t < kThreads; ++t) {
    submitters.emplace_back([&, t] {
      std::vector<cf::Future<void>> fs;
      for (int round = 0; round < kRounds; ++round) {
        const int burst = 1 + (round + t) % 5;
        for (int i = 0; i < burst; ++i) fs.push_back(pool.submit([&] { ++ran; }));
        for (auto& f : fs) {
          try {
            f.result(kLongTimeout);
          } catch (const cf::TimeoutError&) {
            ++timeouts;
          }
        }
        fs.clear();
      }
    });
  }
  for (auto& t : submitters) t.join();
  EXPECT_EQ(timeouts.load(), 0);
  int expected = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int round = 0; round < kRounds; ++round) expected += 1 + (round + t) % 5;
  }
  EXPECT_EQ(ran.load(), expected);
}

INSTANTIATE_TEST_SUITE_P(Workers, ThreadPoolSweep, testing::Values(1, 2, 4, 8, 16));

// ------------------------------------------------------------------------------------
// Thread names.

TEST(ThreadPool, CustomThreadNamePrefix) {
  // CPython: "^SpecialPool_[0-4]$".
  cft::Gate gate;
  cf::ThreadPoolExecutor pool({.max_workers = 5, .thread_name_prefix = "SpecialPool"});
  std::vector<cf::Future<std::string>> fs;
  for (int i = 0; i < 5; ++i) {
    fs.push_back(pool.submit([&] {
      gate.wait();
      return cft::current_thread_name();
    }));
  }
  ASSERT_TRUE(gate.wait_arrived(5));
  gate.open();
  std::set<std::string> names;
  for (auto& f : fs) {
    const std::string& name = f.result(kLongTimeout);
    EXPECT_TRUE(std::regex_match(name, std::regex("^SpecialPool_[0-4]$"))) << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), 5u) << "every worker has its own name";
}

TEST(ThreadPool, DefaultThreadNames) {
  cf::ThreadPoolExecutor pool(2);
  const std::string name = pool.submit(cft::current_thread_name).result(kLongTimeout);
  EXPECT_TRUE(std::regex_match(name, std::regex("^ThreadPool-\\d+_\\d*$"))) << name;
  EXPECT_NE(name, cft::current_thread_name());
}

TEST(ThreadPool, LongPrefixIsShortenedButTheWorkerNumberKept) {
  // The kernel keeps 15 characters; the prefix gives way so that workers stay apart.
  cf::ThreadPoolExecutor pool({.max_workers = 1, .thread_name_prefix = "AVeryLongPrefixIndeed"});
  const std::string name = pool.submit(cft::current_thread_name).result(kLongTimeout);
  EXPECT_EQ(name, "AVeryLongPref_0");
}

// ------------------------------------------------------------------------------------
// Initializer failure: BrokenThreadPool.

TEST(ThreadPool, InitializerFailureBreaksThePool) {
  cft::ErrorRecorder recorder;
  cf::ThreadPoolExecutor pool(
      {.max_workers = 2, .initializer = [] { throw std::runtime_error("no database"); }});
  std::vector<cf::Future<int>> fs;
  int rejected = 0;
  for (int i = 0; i < 10; ++i) {
    try {
      fs.push_back(pool.submit([i] { return i; }));
    } catch (const cf::BrokenThreadPool&) {
      ++rejected;  // the pool broke while this loop ran
    }
  }
  ASSERT_FALSE(fs.empty()) << "the first submit cannot fail: no worker ran yet";
  for (auto& f : fs) {
    try {
      (void)f.result(kLongTimeout);
      ADD_FAILURE() << "a call ran on a broken pool";
    } catch (const cf::BrokenThreadPool& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("initializer"), std::string::npos) << message;
      EXPECT_NE(message.find("no database"), std::string::npos) << message;
    }
  }
  EXPECT_EQ(fs.size() + rejected, 10u);
  // Once a future has failed, the pool is known to be broken: later submits throw.
  EXPECT_THROW((void)pool.submit([] { return 0; }), cf::BrokenThreadPool);
  EXPECT_THROW((void)pool.submit([] { return 0; }), cf::BrokenExecutor);
  ASSERT_GE(recorder.wait_for(1), 1u);
  const auto reports = recorder.reports();
  EXPECT_EQ(reports[0].message, "no database");
  EXPECT_NE(reports[0].context.find("initializer"), std::string::npos) << reports[0].context;
  pool.shutdown(true);  // must not hang with a dead worker
}

TEST(ThreadPool, InitializerFailureFailsQueuedWork) {
  cft::ErrorRecorder recorder;
  std::latch release(1);
  cf::ThreadPoolExecutor pool({.max_workers = 1, .initializer = [&] {
                                 release.wait();
                                 throw std::runtime_error("late failure");
                               }});
  std::vector<cf::Future<int>> fs;
  for (int i = 0; i < 5; ++i) fs.push_back(pool.submit([i] { return i; }));
  release.count_down();
  for (auto& f : fs) EXPECT_THROW((void)f.result(kLongTimeout), cf::BrokenThreadPool);
  EXPECT_THROW((void)pool.submit([] { return 0; }), cf::BrokenThreadPool);
}

// ------------------------------------------------------------------------------------
// What submit accepts.

TEST(ThreadPool, ArgumentsAreDecayCopied) {
  cft::Gate gate;
  cf::ThreadPoolExecutor pool(1);
  cf::Future<void> blocker = pool.submit([&] { gate.wait(); });
  std::string text = "original";
  int counter = 1;
  const int constant = 3;
  cf::Future<std::string> copy = pool.submit([](std::string s) { return s; }, text);
  cf::Future<int> by_ref = pool.submit([](int& x) { return ++x; }, std::ref(counter));
  cf::Future<int> from_const = pool.submit([](int x) { return x; }, constant);
  cf::Future<std::size_t> from_array =
      pool.submit([](const char* s) { return std::string(s).size(); }, "abc");
  text = "changed after submit";
  gate.open();
  EXPECT_EQ(copy.result(kLongTimeout), "original");
  EXPECT_EQ(by_ref.result(kLongTimeout), 2);
  EXPECT_EQ(counter, 2) << "std::ref passes a reference";
  EXPECT_EQ(from_const.result(kLongTimeout), 3);
  EXPECT_EQ(from_array.result(kLongTimeout), 3u);
  blocker.result(kLongTimeout);
}

TEST(ThreadPool, MoveOnlyArgumentsAndCallables) {
  cf::ThreadPoolExecutor pool(2);
  auto owned = std::make_unique<int>(4);
  cf::Future<int> f = pool.submit([](std::unique_ptr<int> p) { return *p * 2; }, std::move(owned));
  EXPECT_EQ(f.result(kLongTimeout), 8);
  auto held = std::make_unique<int>(5);
  cf::Future<int> g = pool.submit([p = std::move(held)] { return *p; });
  EXPECT_EQ(g.result(kLongTimeout), 5);
  cf::Future<std::unique_ptr<int>> h = pool.submit([] { return std::make_unique<int>(6); });
  EXPECT_EQ(*h.result(kLongTimeout), 6);
}

struct Counter {
  int value = 10;
  int add(int x) const { return value + x; }
  int& ref() { return value; }
};

int free_function(int x) { return x - 1; }

TEST(ThreadPool, AnyInvocable) {
  cf::ThreadPoolExecutor pool(2);
  Counter counter;
  EXPECT_EQ(pool.submit(&Counter::add, &counter, 5).result(kLongTimeout), 15);
  EXPECT_EQ(pool.submit(&Counter::add, counter, 6).result(kLongTimeout), 16);
  EXPECT_EQ(pool.submit(free_function, 3).result(kLongTimeout), 2);
  EXPECT_EQ(pool.submit(&free_function, 4).result(kLongTimeout), 3);
  // A reference result is decayed: the future holds a copy.
  cf::Future<int> r = pool.submit(&Counter::ref, &counter);
  static_assert(std::is_same_v<decltype(r), cf::Future<int>>);
  EXPECT_EQ(r.result(kLongTimeout), 10);
  std::function<int()> fn = [] { return 1; };
  EXPECT_EQ(pool.submit(fn).result(kLongTimeout), 1);
}

TEST(ThreadPool, TaskArgumentsAreReleasedAfterTheCall) {
  // CPython's test_no_stale_references: the worker drops the call once it has run.
  cf::ThreadPoolExecutor pool(1);
  cf::Promise<void> released;
  cf::Future<void> released_future = released.get_future();
  auto arg = std::shared_ptr<int>(new int(1), [&](int* p) {
    delete p;
    released.set_result();
  });
  cf::Future<int> f = pool.submit([](std::shared_ptr<int> p) { return *p; }, std::move(arg));
  EXPECT_EQ(f.result(kLongTimeout), 1);
  EXPECT_NO_THROW(released_future.result(kLongTimeout));
}

// ------------------------------------------------------------------------------------
// Reentrancy: submit and shutdown from tasks and callbacks.

TEST(ThreadPool, SubmitFromInsideATask) {
  for (std::size_t workers : {1, 2}) {
    cf::ThreadPoolExecutor pool(workers);
    cf::Future<cf::Future<int>> outer =
        pool.submit([&pool] { return pool.submit([] { return 42; }); });
    EXPECT_EQ(outer.result(kLongTimeout).result(kLongTimeout), 42);
  }
}

TEST(ThreadPool, SubmitFromADoneCallback) {
  cf::ThreadPoolExecutor pool(2);
  cf::Promise<cf::Future<int>> inner;
  cf::Future<cf::Future<int>> inner_future = inner.get_future();
  cf::Future<int> first = pool.submit([] { return 1; });
  first.add_done_callback([&](const cf::Future<int>& f) {
    inner.set_result(pool.submit([x = f.result()] { return x + 1; }));
  });
  EXPECT_EQ(inner_future.result(kLongTimeout).result(kLongTimeout), 2);
}

TEST(ThreadPool, DoneCallbackWaitingOnNewWorkGetsANewThread) {
  // A worker running done-callbacks is busy: work the callback submits (and waits for)
  // must start another worker, not wait for this one.
  cf::ThreadPoolExecutor pool(2);
  cft::Gate gate;
  cf::Promise<int> inner;
  cf::Future<int> inner_future = inner.get_future();
  cf::Future<int> f = pool.submit([&] {
    gate.wait();
    return 1;
  });
  f.add_done_callback([&](const cf::Future<int>&) {
    try {
      inner.set_result(pool.submit([] { return 2; }).result(kLongTimeout));
    } catch (...) {
      inner.set_exception(std::current_exception());
    }
  });
  gate.open();
  EXPECT_EQ(inner_future.result(kLongTimeout * 2), 2);
}

TEST(ThreadPool, ShutdownWaitFromInsideAWorkerDoesNotDeadlock) {
  for (std::size_t workers : {1, 2, 4}) {
    auto pool = std::make_unique<cf::ThreadPoolExecutor>(workers);
    cf::Future<int> queued_before;
    cft::Gate gate;
    cf::Future<bool> f = pool->submit([&] {
      gate.wait();
      pool->shutdown(true);
      try {
        (void)pool->submit([] { return 0; });
        return false;
      } catch (const std::runtime_error&) {
        return true;
      }
    });
    queued_before = pool->submit([] { return 5; });
    gate.open();
    EXPECT_TRUE(f.result(kLongTimeout)) << "submit after shutdown from a worker must throw";
    EXPECT_EQ(queued_before.result(kLongTimeout), 5) << "shutdown(true) keeps queued work";
    pool.reset();  // the destructor joins every worker, including the one that shut down
  }
}

TEST(ThreadPool, ShutdownWithCancelFromInsideAWorker) {
  cf::ThreadPoolExecutor pool(1);
  cft::Gate gate;
  cf::Future<void> f = pool.submit([&] {
    gate.wait();
    pool.shutdown(true, true);
  });
  std::vector<cf::Future<int>> queued;
  for (int i = 0; i < 5; ++i) queued.push_back(pool.submit([i] { return i; }));
  gate.open();
  f.result(kLongTimeout);
  for (auto& q : queued) EXPECT_TRUE(q.cancelled());
}

TEST(ThreadPool, ShutdownFromADoneCallbackOnAWorker) {
  auto pool = std::make_unique<cf::ThreadPoolExecutor>(2);
  cft::Gate gate;
  cf::Promise<void> shut;
  cf::Future<void> shut_future = shut.get_future();
  cf::Future<int> f = pool->submit([&] {
    gate.wait();
    return 1;
  });
  f.add_done_callback([&](const cf::Future<int>&) {
    pool->shutdown(true);
    shut.set_result();
  });
  gate.open();
  EXPECT_NO_THROW(shut_future.result(kLongTimeout));
  pool.reset();
}

TEST(ThreadPool, ConcurrentShutdownsAllWait) {
  cf::ThreadPoolExecutor pool(2);
  cft::Gate gate;
  cf::Future<int> f = pool.submit([&] {
    gate.wait();
    return 1;
  });
  std::latch started(3);
  std::atomic<int> saw_done{0};
  std::vector<std::thread> shutters;
  for (int i = 0; i < 3; ++i) {
    shutters.emplace_back([&] {
      started.count_down();
      pool.shutdown(true);
      if (f.done()) ++saw_done;
    });
  }
  started.wait();
  gate.open();
  for (auto& t : shutters) t.join();
  EXPECT_EQ(saw_done.load(), 3) << "every shutdown(true) returns only after the work is done";
}

TEST(ThreadPool, DestructorAfterShutdownWithoutWait) {
  std::atomic<int> ran{0};
  cft::Gate gate;
  {
    cf::ThreadPoolExecutor pool(2);
    for (int i = 0; i < 10; ++i) {
      (void)pool.submit([&] {
        gate.wait();
        ++ran;
      });
    }
    pool.shutdown(false);
    gate.open();
  }
  EXPECT_EQ(ran.load(), 10);
}

// ------------------------------------------------------------------------------------
// map details that need shared memory.

TEST(ThreadPoolMap, BuffersizeBoundsSubmissionsAhead) {
  for (std::int64_t buffersize : {1, 2, 5}) {
    SCOPED_TRACE(buffersize);
    cf::ThreadPoolExecutor pool(4);
    std::atomic<std::int64_t> started{0};
    std::vector<int> in(60);
    for (int i = 0; i < 60; ++i) in[i] = i;
    std::int64_t consumed = 0;
    for (int y : pool.map(
             cf::MapOptions{.buffersize = buffersize},
             [&](int x) {
               ++started;
               return x;
             },
             in)) {
      EXPECT_EQ(y, consumed);
      ++consumed;
      // Python: after k results were read, buffersize + k calls were submitted.
      EXPECT_LE(started.load(), consumed + buffersize);
    }
    EXPECT_EQ(consumed, 60);
  }
}

TEST(ThreadPoolMap, AChunkIsOneQueueEntry) {
  // chunksize 2 on 2 workers: each worker takes a whole chunk, so while the first
  // element of each chunk blocks, the second elements have not started. One queue
  // entry per element would have run element 1 on the second worker.
  cf::ThreadPoolExecutor pool(2);
  cft::Gate gate;
  std::mutex mutex;
  std::vector<int> arrived;
  auto results = pool.map(
      cf::MapOptions{.chunksize = 2},
      [&](int x) {
        {
          std::lock_guard lock(mutex);
          arrived.push_back(x);
        }
        if (x % 2 == 0) gate.wait();
        return x;
      },
      std::vector<int>{0, 1, 2, 3});
  ASSERT_TRUE(gate.wait_arrived(2));
  {
    std::lock_guard lock(mutex);
    std::vector<int> first(arrived);
    std::sort(first.begin(), first.end());
    EXPECT_EQ(first, (std::vector<int>{0, 2}));
  }
  gate.open();
  std::vector<int> out(results.begin(), results.end());
  EXPECT_EQ(out, (std::vector<int>{0, 1, 2, 3}));
}

TEST(ThreadPoolMap, ShutdownWithCancelFuturesCancelsQueuedChunks) {
  cf::ThreadPoolExecutor pool(1);
  cft::Gate gate;
  cf::Future<void> blocker = pool.submit([&] { gate.wait(); });
  ASSERT_TRUE(gate.wait_arrived(1));
  auto results = pool.map(
      cf::MapOptions{.chunksize = 3}, [](int x) { return x; }, std::vector<int>{1, 2, 3, 4});
  pool.shutdown(false, /*cancel_futures=*/true);
  gate.open();
  int cancelled = 0;
  for (auto it = results.begin(); it != results.end(); ++it) {
    EXPECT_THROW((void)*it, cf::CancelledError);
    ++cancelled;
  }
  EXPECT_EQ(cancelled, 4) << "every element of a cancelled chunk reports the cancellation";
  blocker.result(kLongTimeout);
}

TEST(ThreadPoolMap, BuffersizeWithoutIteratingSubmitsOnlyThatMany) {
  // CPython's test_map_buffersize_when_buffer_is_full.
  cf::ThreadPoolExecutor pool(2);
  std::atomic<int> calls{0};
  auto results = pool.map(
      cf::MapOptions{.buffersize = 3}, [&](int x) { return calls += x; }, std::vector<int>(100, 1));
  pool.shutdown(true);
  EXPECT_EQ(calls.load(), 3);
}

// An endless input range: Python's itertools.count().
struct Naturals {
  struct iterator {
    using value_type = int;
    using difference_type = std::ptrdiff_t;
    int n = 0;
    int operator*() const { return n; }
    iterator& operator++() {
      ++n;
      return *this;
    }
    bool operator==(const iterator&) const { return false; }
  };
  iterator begin() const { return {}; }
  iterator end() const { return {-1}; }
};

TEST(ThreadPoolMap, EndlessInputWithBuffersize) {
  cf::ThreadPoolExecutor pool(2);
  std::atomic<int> calls{0};
  int read = 0;
  {
    auto results = pool.map(
        cf::MapOptions{.buffersize = 4},
        [&](int x) {
          ++calls;
          return x * 2;
        },
        Naturals{});
    for (int y : results) {
      EXPECT_EQ(y, read * 2);
      if (++read == 10) break;
    }
  }
  pool.shutdown(true);
  EXPECT_EQ(read, 10);
  EXPECT_LE(calls.load(), 10 + 4);
}

TEST(ThreadPoolMap, RangeOutlivingTheExecutorStopsSubmitting) {
  // The range holds the pool weakly, as Python's map iterator does.
  auto pool = std::make_unique<cf::ThreadPoolExecutor>(2);
  auto results = pool->map(
      cf::MapOptions{.buffersize = 2}, [](int x) { return x; }, std::vector<int>{0, 1, 2, 3, 4, 5});
  pool.reset();
  std::vector<int> out;
  for (int y : results) out.push_back(y);
  EXPECT_EQ(out, (std::vector<int>{0, 1}));
}

TEST(ThreadPoolMap, SubmitsEverythingUpFrontWithoutBuffersize) {
  // CPython's test_map_submits_without_iteration.
  cf::ThreadPoolExecutor pool(2);
  std::atomic<int> calls{0};
  auto results = pool.map([&](int) { return ++calls; }, std::vector<int>(20, 0));
  pool.shutdown(true);
  EXPECT_EQ(calls.load(), 20);
}

TEST(ThreadPoolMap, PrvalueElements) {
  // Inputs whose iterators return by value (here std::vector<bool>'s proxies).
  cf::ThreadPoolExecutor pool(2);
  std::vector<int> out;
  for (int y : pool.map([](bool b) { return b ? 1 : 0; }, std::vector<bool>{true, false, true})) {
    out.push_back(y);
  }
  for (int y : pool.map([](int x, int y) { return x + y; }, Naturals{}, std::vector<int>{0, 0})) {
    out.push_back(y);
  }
  EXPECT_EQ(out, (std::vector<int>{1, 0, 1, 0, 1}));
}

TEST(ThreadPoolMap, NoIterables) {
  cf::ThreadPoolExecutor pool(1);
  int count = 0;
  for (int y : pool.map([] { return 1; })) count += y;
  EXPECT_EQ(count, 0);
}

}  // namespace
