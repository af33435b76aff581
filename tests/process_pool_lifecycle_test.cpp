// ProcessPoolExecutor's lifecycle, for each start method: construction, initializers,
// max_tasks_per_child, shutdown, terminate/kill, done-callbacks that submit or shut
// down, and no process or descriptor left behind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "concurrent/futures/process_pool.hpp"
#include "process_pool_test_util.hpp"

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

namespace {

using namespace concurrent::futures::test;  // process_pool_test_util.hpp

// Set by the initializer, in the worker.
int g_initialized = 0;
void initialize(int value) { g_initialized = value; }
int initialized_value() { return g_initialized; }
void failing_initializer(std::string why) { throw std::runtime_error(why); }

class ProcessPoolLifecycle : public ProcessPoolTest {};
INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessPoolLifecycle, kStartMethods, start_method_name);

TEST_P(ProcessPoolLifecycle, NoZombiesAndNoFdLeaks) {
  const std::size_t fds_before = open_fds();
  std::vector<int> pids;
  {
    cf::ProcessPoolExecutor pool(options(3));
    for (int i = 0; i < 20; ++i) EXPECT_EQ(pool.submit(square, i).result(kLongTimeout), i * i);
    pids = pool.worker_pids();
    EXPECT_EQ(pids.size(), 3u);
  }
  EXPECT_EQ(open_fds(), fds_before);
  for (int pid : pids) EXPECT_FALSE(process_exists(pid)) << pid;
  EXPECT_FALSE(has_children());
  {
    cf::ProcessPoolExecutor broken(options(2));
    EXPECT_NE(error_of(broken.submit(crash_after, 0, static_cast<int>(Action::sigkill))),
              "no error");
  }
  EXPECT_EQ(open_fds(), fds_before);
  EXPECT_FALSE(has_children());
}

TEST_P(ProcessPoolLifecycle, MaxTasksPerChildReplacesWorkers) {
  if (GetParam() == cf::StartMethod::fork) {
    EXPECT_THROW(
        cf::ProcessPoolExecutor(
            {.max_workers = 1, .start_method = cf::StartMethod::fork, .max_tasks_per_child = 2}),
        std::invalid_argument);
    return;
  }
  auto o = options(1);
  o.max_tasks_per_child = 2;
  cf::ProcessPoolExecutor pool(o);
  std::vector<cf::Future<int>> fs;
  for (int i = 0; i < 6; ++i) fs.push_back(pool.submit(my_pid));
  std::vector<int> pids;
  for (auto& f : fs) pids.push_back(f.result(kLongTimeout));
  EXPECT_EQ(pids[0], pids[1]);
  EXPECT_EQ(pids[2], pids[3]);
  EXPECT_EQ(pids[4], pids[5]);
  EXPECT_EQ(std::set<int>(pids.begin(), pids.end()).size(), 3u);
  // A long run of calls with replacements in between strands nothing (gh-115634).
  std::vector<cf::Future<int>> more;
  for (int i = 0; i < 25; ++i) more.push_back(pool.submit(square, i));
  for (int i = 0; i < 25; ++i) EXPECT_EQ(more[i].result(kLongTimeout), i * i);
}

TEST_P(ProcessPoolLifecycle, Initializer) {
  auto o = options(2);
  o.initializer = {initialize, 17};
  cf::ProcessPoolExecutor pool(o);
  EXPECT_EQ(pool.submit(initialized_value).result(kLongTimeout), 17);
}

TEST_P(ProcessPoolLifecycle, FailingInitializerBreaksThePool) {
  auto o = options(2);
  o.initializer = {failing_initializer, std::string("no model file")};
  cf::ProcessPoolExecutor pool(o);
  std::string error;
  try {
    error = error_of(pool.submit(square, 2));
  } catch (const cf::BrokenProcessPool& e) {
    // With fork the workers start (and fail) in the constructor: the pool may already
    // know it is broken.
    error = std::string("BrokenProcessPool: ") + e.what();
  }
  EXPECT_EQ(error.rfind("BrokenProcessPool", 0), 0u) << error;
  EXPECT_NE(error.find("no model file"), std::string::npos) << error;
  // Once the pool knows it is broken, submit says so.
  EXPECT_THROW((void)pool.submit(square, 1), cf::BrokenProcessPool);
}

TEST_P(ProcessPoolLifecycle, ShutdownStopsSubmitsAndCanCancel) {
  cf::ProcessPoolExecutor pool(options(1));
  std::vector<cf::Future<int>> fs;
  fs.push_back(pool.submit(sleep_then, 100, 0));
  for (int i = 1; i < 12; ++i) fs.push_back(pool.submit(square, i));
  pool.shutdown(true, true);
  std::size_t cancelled = 0;
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(fs[i].done());
    if (fs[i].cancelled()) {
      ++cancelled;
    } else {
      EXPECT_EQ(fs[i].result(0s), i == 0 ? 0 : i * i);
    }
  }
  // Only the calls already in a worker's hands (the worker's first, as its call lengths
  // are not yet known, if the management thread got to it) escape cancellation.
  EXPECT_GE(cancelled, 8u);
  try {
    (void)pool.submit(square, 1);
    ADD_FAILURE() << "submit after shutdown";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "cannot schedule new futures after shutdown");
  }
  pool.shutdown();  // idempotent
}

TEST_P(ProcessPoolLifecycle, ShutdownWithoutWaitFinishesQueuedWork) {
  std::vector<cf::Future<int>> fs;
  {
    cf::ProcessPoolExecutor pool(options(2));
    for (int i = 0; i < 20; ++i) fs.push_back(pool.submit(square, i));
    pool.shutdown(false);
  }
  for (int i = 0; i < 20; ++i) EXPECT_EQ(fs[i].result(0s), i * i);
}

TEST_P(ProcessPoolLifecycle, KillAndTerminateWorkers) {
  for (bool kill : {true, false}) {
    cf::ProcessPoolExecutor pool(options(2));
    cf::Future<int> running = pool.submit(sleep_then, 10000, 1);
    EXPECT_EQ(pool.submit(square, 2).result(kLongTimeout), 4);
    if (kill) {
      pool.kill_workers();
    } else {
      pool.terminate_workers();
    }
    const std::string error = error_of(running);
    EXPECT_EQ(error.rfind("BrokenProcessPool", 0), 0u) << error;
    EXPECT_NE(error.find(kill ? "SIGKILL" : "SIGTERM"), std::string::npos) << error;
    EXPECT_THROW((void)pool.submit(square, 1), std::runtime_error);
    pool.shutdown(true);
    EXPECT_TRUE(pool.worker_pids().empty());
  }
}

TEST_P(ProcessPoolLifecycle, SubmitAndShutdownFromDoneCallbacks) {
  cf::ProcessPoolExecutor pool(options(2));
  std::promise<cf::Future<int>> chained;
  pool.submit(square, 3).add_done_callback(
      [&](const cf::Future<int>& f) { chained.set_value(pool.submit(square, f.result())); });
  cf::Future<int> second = chained.get_future().get();
  EXPECT_EQ(second.result(kLongTimeout), 81);
  std::promise<void> shut;
  pool.submit(square, 1).add_done_callback([&](const cf::Future<int>&) {
    pool.shutdown(true);  // on the management thread: must not wait for itself
    shut.set_value();
  });
  EXPECT_EQ(shut.get_future().wait_for(kLongTimeout), std::future_status::ready);
  EXPECT_THROW((void)pool.submit(square, 1), std::runtime_error);
}

// ------------------------------------------------------------------------------------
// Construction.

TEST(ProcessPoolConstruction, RejectsBadWorkerCounts) {
  try {
    cf::ProcessPoolExecutor pool(0);
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "max_workers must be greater than 0");
  }
  EXPECT_THROW(cf::ProcessPoolExecutor(-1), std::invalid_argument);
  EXPECT_THROW(cf::ProcessPoolExecutor({.max_workers = 0}), std::invalid_argument);
  EXPECT_THROW(cf::ProcessPoolExecutor({.max_tasks_per_child = 0}), std::invalid_argument);
  cf::ProcessPoolExecutor pool(std::size_t{1});
  EXPECT_EQ(pool.max_workers(), 1u);
}

TEST(ProcessPoolConstruction, DefaultsToUsableCpus) {
  cf::ProcessPoolExecutor pool;
  EXPECT_GE(pool.max_workers(), 1u);
  EXPECT_EQ(pool.submit(square, 2).result(kLongTimeout), 4);
}

}  // namespace
