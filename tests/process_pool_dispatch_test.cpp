// How the process pool hands out calls, for each start method: long calls never wait
// behind a busy worker, cancelled calls are dropped, the timeline records where and
// when each call ran, and map() in chunks and with a buffer or a timeout.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "concurrent/futures/process_pool.hpp"
#include "concurrent/futures/timeline.hpp"
#include "process_gate.hpp"
#include "process_pool_test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
using namespace std::chrono_literals;

namespace {

using namespace concurrent::futures::test;  // process_pool_test_util.hpp

class ProcessPoolDispatch : public ProcessPoolTest {};
INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessPoolDispatch, kStartMethods, start_method_name);

// Long calls are never queued behind one another while a worker is free (as in CPython,
// whose call queue any free worker takes from). Four gated calls on two workers: a and b
// hold both workers; c and d must wait in the pool, not in a busy worker's socket, so
// that once a and then c are released, d runs on that same worker while b still blocks.
// (Before fair dispatch, d was written behind b and stranded there.) No timing: every
// wait is for an event, with a timeout only against hangs.
TEST_P(ProcessPoolDispatch, LongCallsAreNotQueuedBehindBusyWorkers) {
  cft::ProcessGate gate;
  cf::ProcessPoolExecutor pool(options(2));
  std::vector<cf::Future<int>> fs;
  for (const char* name : {"a", "b", "c", "d"}) {
    fs.push_back(pool.submit(cft::gated_call, gate.dir(), std::string(name)));
  }
  const int pid_a = gate.wait_started("a");
  const int pid_b = gate.wait_started("b");
  ASSERT_NE(pid_a, 0);
  ASSERT_NE(pid_b, 0);
  EXPECT_NE(pid_a, pid_b);
  EXPECT_FALSE(gate.started("c"));
  EXPECT_FALSE(gate.started("d"));
  gate.open("a");
  EXPECT_EQ(fs[0].result(kLongTimeout), pid_a);
  EXPECT_EQ(gate.wait_started("c"), pid_a);
  gate.open("c");
  EXPECT_EQ(fs[2].result(kLongTimeout), pid_a);
  EXPECT_EQ(gate.wait_started("d"), pid_a) << "d was stranded behind b";
  EXPECT_FALSE(fs[1].done());
  gate.open("all");
  EXPECT_EQ(fs[1].result(kLongTimeout), pid_b);
  EXPECT_EQ(fs[3].result(kLongTimeout), pid_a);
}

// Calls cancelled while they wait in the pool are dropped when a worker frees up; if that
// happens after shutdown began, shutdown(true) must still return (it once hung: the pool
// decided whether to stop before it dropped them).
TEST_P(ProcessPoolDispatch, ShutdownReturnsWhenTheLastPendingCallsWereCancelled) {
  cft::ProcessGate gate;
  cf::ProcessPoolExecutor pool(options(1));
  cf::Future<int> running = pool.submit(cft::gated_call, gate.dir(), std::string("a"));
  std::vector<cf::Future<int>> queued{pool.submit(square, 1), pool.submit(square, 2)};
  ASSERT_NE(gate.wait_started("a"), 0);
  for (auto& f : queued) EXPECT_TRUE(f.cancel());
  pool.shutdown(false);
  gate.open("a");
  auto shut = std::async(std::launch::async, [&] { pool.shutdown(true); });
  const bool returned = shut.wait_for(kLongTimeout) == std::future_status::ready;
  EXPECT_TRUE(returned) << "shutdown(true) hung";
  if (!returned) pool.kill_workers();
  shut.wait();
  EXPECT_GT(running.result(0s), 0);
}

TEST_P(ProcessPoolDispatch, TimelineRecordsWorkerTimes) {
  auto timeline = std::make_shared<cf::Timeline>();
  auto o = options(2);
  o.timeline = timeline;
  {
    cf::ProcessPoolExecutor pool(o);
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 6; ++i) fs.push_back(pool.submit(sleep_then, 5, i));
    for (auto& f : fs) (void)f.result(kLongTimeout);
  }
  const auto tasks = timeline->tasks();
  ASSERT_EQ(tasks.size(), 6u);
  for (const auto& t : tasks) {
    EXPECT_EQ(t.worker.rfind("pid ", 0), 0u) << t.worker;
    EXPECT_GE(t.finished - t.started, 4ms);
    EXPECT_GE(t.started, t.submitted);
  }
}

// ------------------------------------------------------------------------------------
// map.

TEST_P(ProcessPoolDispatch, MapInChunksKeepsOrderAndPerItemErrors) {
  cf::ProcessPoolExecutor pool(options(2));
  std::vector<int> xs(1000);
  for (int i = 0; i < 1000; ++i) xs[i] = i;
  long long sum = 0;
  int count = 0;
  for (int y : pool.map({.chunksize = 64}, square, xs)) {
    EXPECT_EQ(y, count * count);
    sum += y;
    ++count;
  }
  EXPECT_EQ(count, 1000);
  EXPECT_EQ(sum, 332833500);
  // Zipped inputs, a failing element in the middle of a chunk, iteration goes on.
  std::vector<int> a{5, 5, 5, 5, 5};
  std::vector<int> b{2, 3, 0, 5, 1};
  auto divide = [](int x, int y) {
    if (y == 0) throw std::domain_error("division by zero");
    return x / y;
  };
  std::vector<std::string> seen;
  auto range = pool.map({.chunksize = 3}, divide, a, b);
  for (auto it = range.begin(); it != range.end(); ++it) {
    try {
      seen.push_back(std::to_string(*it));
    } catch (const std::domain_error& e) {
      seen.emplace_back(e.what());
    }
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"2", "1", "division by zero", "1", "5"}));
  EXPECT_THROW((void)pool.map({.chunksize = 0}, square, xs), std::invalid_argument);
}

TEST_P(ProcessPoolDispatch, MapBuffersizeAndTimeout) {
  cf::ProcessPoolExecutor pool(options(2));
  std::vector<int> xs{1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<int> out;
  for (int y : pool.map({.chunksize = 2, .buffersize = 1}, square, xs)) out.push_back(y);
  EXPECT_EQ(out, (std::vector<int>{1, 4, 9, 16, 25, 36, 49, 64}));
  std::vector<int> slow{5000, 5000, 5000, 5000};
  auto range = pool.map({.timeout = 50ms}, sleep_then, slow, xs);
  EXPECT_THROW(
      {
        for (int y : range) (void)y;
      },
      cf::TimeoutError);
  pool.kill_workers();  // do not wait five seconds for the sleepers
}

}  // namespace
