// Per-call timeouts on the process pool (submit(CallOptions{.timeout}, ...)), for spawn
// and forkserver in both OnWorkerDeath modes: a call over its timeout fails with
// TimeoutError and its worker is replaced, a call is timed from its own start, and the
// pool's kill is never counted as a crash.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "concurrent/futures/process_pool.hpp"
#include "concurrent/futures/timeline.hpp"
#include "process_pool_test_util.hpp"

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

namespace {

using namespace concurrent::futures::test;  // process_pool_test_util.hpp

// The TimeoutError of a call's own timeout (not of a wait that ran out), or "".
template <class T>
std::string call_timeout_of(const cf::Future<T>& f) {
  try {
    (void)f.result(kLongTimeout);
  } catch (const cf::TimeoutError& e) {
    if (f.done()) return e.what();
  } catch (...) {
  }
  return "";
}

class ProcessPoolTimeout
    : public testing::TestWithParam<std::tuple<cf::StartMethod, cf::OnWorkerDeath>> {
 protected:
  cf::ProcessPoolOptions options(std::size_t workers) const {
    return {.max_workers = workers,
            .start_method = std::get<0>(GetParam()),
            .on_worker_death = std::get<1>(GetParam())};
  }
};

INSTANTIATE_TEST_SUITE_P(
    SpawnAndForkserver, ProcessPoolTimeout,
    testing::Combine(testing::Values(cf::StartMethod::spawn, cf::StartMethod::forkserver),
                     testing::Values(cf::OnWorkerDeath::break_pool, cf::OnWorkerDeath::replace)),
    [](const auto& info) {
      return std::string(cf::to_string(std::get<0>(info.param))) +
             (std::get<1>(info.param) == cf::OnWorkerDeath::replace ? "_replace" : "_break_pool");
    });

TEST_P(ProcessPoolTimeout, ACallOverItsTimeoutFailsAndItsWorkerIsReplaced) {
  auto timeline = std::make_shared<cf::Timeline>();
  auto o = options(1);
  o.timeline = timeline;
  cf::ProcessPoolExecutor pool(o);
  const int pid = pool.submit(my_pid).result(kLongTimeout);
  // Sleeps far longer than any test waits: only the kill can end it in time.
  cf::Future<int> slow = pool.submit({.timeout = 100ms}, sleep_then, 600000, 1);
  std::vector<cf::Future<int>> behind;
  for (int i = 0; i < 3; ++i) behind.push_back(pool.submit(square, i));
  const std::string error = call_timeout_of(slow);
  EXPECT_NE(error.find("timeout of 100 ms"), std::string::npos) << error;
  EXPECT_NE(error.find("worker process " + std::to_string(pid)), std::string::npos) << error;
  // The calls behind it, and later ones, run on the new worker.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(behind[i].result(kLongTimeout), i * i);
  const int new_pid = pool.submit(my_pid).result(kLongTimeout);
  EXPECT_NE(new_pid, pid);
  EXPECT_EQ(pool.worker_pids().size(), 1u);
  // The timeline shows the killed call on the old worker, the rest on the new one.
  const auto tasks = timeline->tasks();
  ASSERT_EQ(tasks.size(), 6u);
  EXPECT_EQ(tasks[1].killed, "killed: it overran its timeout of 100 ms");
  EXPECT_EQ(tasks[1].worker, "pid " + std::to_string(pid));
  EXPECT_GE(tasks[1].finished - tasks[1].started, 100ms);
  for (std::size_t i = 2; i < tasks.size(); ++i) {
    EXPECT_EQ(tasks[i].killed, "") << i;
    EXPECT_EQ(tasks[i].worker, "pid " + std::to_string(new_pid)) << i;
  }
}

TEST_P(ProcessPoolTimeout, ACallIsTimedFromItsOwnStart) {
  cf::ProcessPoolExecutor pool(options(1));
  cf::Future<int> long_call = pool.submit(sleep_then, 300, 1);
  // Waits 300 ms behind the long call, then runs for a moment: well inside 200 ms of its
  // own start, though not of its submit.
  cf::Future<int> queued = pool.submit({.timeout = 200ms}, square, 7);
  EXPECT_EQ(long_call.result(kLongTimeout), 1);
  EXPECT_EQ(queued.result(kLongTimeout), 49);
}

// Killing a worker for a timeout is the pool's act: it breaks nothing and, however often
// it happens to fresh workers, is not a crash loop.
TEST_P(ProcessPoolTimeout, KillsAreNotCrashes) {
  cf::ProcessPoolExecutor pool(options(1));
  std::vector<cf::Future<int>> slow;
  for (int i = 0; i < 4; ++i) slow.push_back(pool.submit({.timeout = 20ms}, sleep_then, 600000, i));
  for (auto& f : slow) EXPECT_NE(call_timeout_of(f), "");
  EXPECT_EQ(pool.submit(square, 3).result(kLongTimeout), 9);
  // A generous timeout changes nothing for a call that keeps it.
  EXPECT_EQ(pool.submit({.timeout = 60s}, square, 4).result(kLongTimeout), 16);
}

TEST(ProcessPoolTimeoutOptions, BadTimeoutsAreRefused) {
  cf::ProcessPoolExecutor pool(1);
  EXPECT_THROW((void)pool.submit({.timeout = 0s}, square, 1), std::invalid_argument);
  EXPECT_THROW((void)pool.submit({.timeout = -1ms}, square, 1), std::invalid_argument);
  EXPECT_EQ(pool.submit(cf::CallOptions{}, square, 2).result(kLongTimeout), 4);
  cf::ProcessPoolExecutor forked({.max_workers = 1, .start_method = cf::StartMethod::fork});
  try {
    (void)forked.submit({.timeout = 1s}, square, 1);
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("StartMethod::forkserver"), std::string::npos) << e.what();
  }
  EXPECT_EQ(forked.submit(cf::CallOptions{}, square, 3).result(kLongTimeout), 9);
}

}  // namespace
