// OnWorkerDeath::replace, for spawn and forkserver: a crash fails only the call that was
// running (WorkerDied), every other call returns its own value exactly once (each call
// creates a marker file with O_EXCL, so a second run of any call fails it), a new worker
// takes the dead one's place, and a crash loop breaks the pool instead of spinning.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "concurrent/futures/process_pool.hpp"
#include "process_gate.hpp"
#include "process_pool_test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
using namespace std::chrono_literals;

namespace {

using namespace concurrent::futures::test;  // process_pool_test_util.hpp

// Runs in a worker: claims the marker `dir`/call-`id` (a call that finds it taken has
// run before, and says so), then, after `delay_ms`, does `action`; returns `id`.
int marked_call(std::string dir, int id, int action, int delay_ms) {
  const std::string path = dir + "/call-" + std::to_string(id);
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) throw std::logic_error("call " + std::to_string(id) + " ran twice");
    throw std::runtime_error("cannot create " + path);
  }
  ::close(fd);
  if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  act(static_cast<Action>(action));
  return id;
}

// A marked call that waits at `gate` (named by its id) until the test opens it.
int marked_gated_call(std::string dir, int id, std::string gate) {
  (void)marked_call(dir, id, static_cast<int>(Action::none), 0);
  return cft::gated_call(gate, std::to_string(id)) > 0 ? id : -1;
}

// Waits at the gate "crash" in `dir` until the test opens it, then does `action`: the
// test knows the call is running, and can queue calls behind it, before it crashes.
int gated_crash(std::string dir, int action) {
  (void)cft::gated_call(std::move(dir), "crash");
  act(static_cast<Action>(action));
  return 0;
}

// (SIGKILL and abort() rather than a segfault: a sanitizer takes a while to report each
// fault, and the matrix above covers segfaults.)
int crash_on_multiples_of_37(int i) {
  if (i % 37 == 0) act(Action::sigkill);
  return 2 * i;
}

void crashing_initializer() { act(Action::abort); }
void throwing_initializer() { throw std::runtime_error("no model file"); }

// Which marker files a test's calls created.
std::set<std::string> markers(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.insert(e.path().filename().string());
  }
  return names;
}

cf::ProcessPoolOptions replacing(cf::StartMethod method, std::size_t workers) {
  return {.max_workers = workers,
          .start_method = method,
          .on_worker_death = cf::OnWorkerDeath::replace};
}

// How the crash comes: the call's own Action, except Action::sigkill, which the test
// sends from outside to a call held at a gate.
// Where: while other calls run on another worker (running), or with calls written to the
// same worker behind it (queued: one worker, short calls in a burst, which fair dispatch
// batches).
enum class Where { running, queued };

class ReplaceMatrix : public testing::TestWithParam<std::tuple<cf::StartMethod, Action, Where>> {};

INSTANTIATE_TEST_SUITE_P(SpawnAndForkserver, ReplaceMatrix,
                         testing::Combine(testing::Values(cf::StartMethod::spawn,
                                                          cf::StartMethod::forkserver),
                                          testing::Values(Action::sigsegv, Action::abort,
                                                          Action::exit_3, Action::sigkill),
                                          testing::Values(Where::running, Where::queued)),
                         [](const auto& info) {
                           return std::string(cf::to_string(std::get<0>(info.param))) + "_" +
                                  to_string(std::get<1>(info.param)) + "_" +
                                  (std::get<2>(info.param) == Where::running ? "running"
                                                                             : "queued");
                         });

TEST_P(ReplaceMatrix, OnlyTheCrashedCallFailsAndEveryOtherRunsExactlyOnce) {
  const auto [method, crash, where] = GetParam();
  cft::ProcessGate gate;  // holds the call killed from outside; doubles as the marker dir
  const std::filesystem::path dir = std::filesystem::path(gate.dir()) / "markers";
  std::filesystem::create_directory(dir);
  const std::size_t workers = where == Where::running ? 2 : 1;
  cf::ProcessPoolExecutor pool(replacing(method, workers));
  // Short calls first, so that the worker's calls count as short and are batched.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(pool.submit(square, i).result(kLongTimeout), i * i);
  constexpr int kCalls = 12;
  constexpr int kCrasher = 3;
  const int delay = where == Where::running ? 50 : 0;
  std::vector<cf::Future<int>> fs;
  for (int i = 0; i < kCalls; ++i) {
    if (i != kCrasher) {
      fs.push_back(pool.submit(marked_call, dir.string(), i, static_cast<int>(Action::none), 0));
    } else if (crash == Action::sigkill) {
      fs.push_back(pool.submit(marked_gated_call, dir.string(), i, gate.dir()));
    } else {
      fs.push_back(pool.submit(marked_call, dir.string(), i, static_cast<int>(crash), delay));
    }
  }
  if (crash == Action::sigkill) {
    const int pid = gate.wait_started(std::to_string(kCrasher));
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
  }
  for (int i = 0; i < kCalls; ++i) {
    if (i == kCrasher) continue;
    EXPECT_EQ(error_of(fs[i]), "no error") << "call " << i;
  }
  try {
    (void)fs[kCrasher].result(kLongTimeout);
    ADD_FAILURE() << "the crashed call returned";
  } catch (const cf::WorkerDied& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("worker process " + std::to_string(e.pid())), std::string::npos) << what;
    EXPECT_NE(what.find("while running this call"), std::string::npos) << what;
    switch (crash) {
      case Action::sigsegv:
        EXPECT_EQ(e.signal(), SIGSEGV) << what;
        EXPECT_EQ(e.exit_code(), -1);
        break;
      case Action::abort:
        EXPECT_EQ(e.signal(), SIGABRT) << what;
        break;
      case Action::exit_3:
        EXPECT_EQ(e.signal(), 0) << what;
        EXPECT_EQ(e.exit_code(), 3) << what;
        EXPECT_NE(what.find("exited with code 3"), std::string::npos) << what;
        break;
      case Action::sigkill:
        EXPECT_EQ(e.signal(), SIGKILL) << what;
        EXPECT_NE(what.find("signal 9 (SIGKILL)"), std::string::npos) << what;
        break;
      case Action::none:
      case Action::throw_error:
        ADD_FAILURE() << "not a crash: " << to_string(crash);
        break;
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not WorkerDied: " << e.what();
  }
  // Every call ran, the crashed one included, and none twice (a second run would have
  // found its marker and failed).
  EXPECT_EQ(markers(dir.string()).size(), static_cast<std::size_t>(kCalls));
  // The pool goes on with all its workers.
  EXPECT_EQ(pool.submit(square, 5).result(kLongTimeout), 25);
  EXPECT_EQ(pool.worker_pids().size(), workers);
}

class ProcessPoolReplace : public ProcessPoolTest {};
INSTANTIATE_TEST_SUITE_P(SpawnAndForkserver, ProcessPoolReplace,
                         testing::Values(cf::StartMethod::spawn, cf::StartMethod::forkserver),
                         start_method_name);

// The case: 200 inputs through a parser that crashes on every 37th.
TEST_P(ProcessPoolReplace, TwoHundredCallsEveryThirtySeventhCrashing) {
  const std::size_t fds_before = open_fds();
  {
    cf::ProcessPoolExecutor pool(replacing(GetParam(), 2));
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 200; ++i) fs.push_back(pool.submit(crash_on_multiples_of_37, i));
    int values = 0;
    int died = 0;
    for (int i = 0; i < 200; ++i) {
      const std::string error = error_of(fs[i]);
      if (i % 37 == 0) {
        died += error.rfind("WorkerDied: ", 0) == 0;
        EXPECT_EQ(error.rfind("WorkerDied: ", 0), 0u) << i << ": " << error;
      } else {
        values += error == "no error" && fs[i].result(0s) == 2 * i;
        EXPECT_EQ(error, "no error") << i;
      }
    }
    EXPECT_EQ(values, 194);
    EXPECT_EQ(died, 6);
    EXPECT_EQ(pool.worker_pids().size(), 2u);
  }
  // However many workers were replaced, none is left, and no descriptor.
  EXPECT_EQ(open_fds(), fds_before);
  EXPECT_FALSE(has_children());
}

TEST_P(ProcessPoolReplace, ACrashingInitializerBreaksThePoolInsteadOfLooping) {
  auto o = replacing(GetParam(), 2);
  o.initializer = {crashing_initializer};
  cf::ProcessPoolExecutor pool(o);
  const std::string error = error_of(pool.submit(square, 2));
  EXPECT_EQ(error.rfind("BrokenProcessPool: ", 0), 0u) << error;
  EXPECT_NE(error.find("in a row died before finishing a call"), std::string::npos) << error;
  EXPECT_NE(error.find("before its initializer returned"), std::string::npos) << error;
  EXPECT_THROW((void)pool.submit(square, 1), cf::BrokenProcessPool);
}

TEST_P(ProcessPoolReplace, AThrowingInitializerBreaksThePoolAtOnce) {
  auto o = replacing(GetParam(), 2);
  o.initializer = {throwing_initializer};
  cf::ProcessPoolExecutor pool(o);
  const std::string error = error_of(pool.submit(square, 2));
  EXPECT_EQ(error.rfind("BrokenProcessPool: ", 0), 0u) << error;
  EXPECT_NE(error.find("no model file"), std::string::npos) << error;
}

TEST_P(ProcessPoolReplace, ShutdownWaitsForTheRequeuedCalls) {
  cft::ProcessGate gate;
  std::vector<cf::Future<int>> fs;
  cf::Future<int> crash;
  {
    cf::ProcessPoolExecutor pool(replacing(GetParam(), 1));
    crash = pool.submit(gated_crash, gate.dir(), static_cast<int>(Action::abort));
    ASSERT_GT(gate.wait_started("crash"), 0);
    for (int i = 0; i < 6; ++i) fs.push_back(pool.submit(square, i));  // queued behind it
    gate.open("crash");
    pool.shutdown(true);
    EXPECT_TRUE(pool.worker_pids().empty());
  }
  EXPECT_EQ(error_of(crash).rfind("WorkerDied: ", 0), 0u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(fs[i].result(0s), i * i);
}

TEST_P(ProcessPoolReplace, TheCallRunningWhenACrashLoopBreaksThePoolSaysSo) {
  // One worker, and every call kills the worker running it: the first replacement's
  // death is the first strike, the third's breaks the pool.
  cf::ProcessPoolExecutor pool(replacing(GetParam(), 1));
  std::vector<cf::Future<int>> fs;
  for (int i = 0; i < 5; ++i) {
    fs.push_back(pool.submit(crash_after, 0, static_cast<int>(Action::sigkill)));
  }
  for (int i = 0; i < 3; ++i) {
    const std::string error = error_of(fs[i]);
    EXPECT_EQ(error.rfind("WorkerDied: ", 0), 0u) << i << ": " << error;
    EXPECT_NE(error.find("goes on"), std::string::npos) << i << ": " << error;
  }
  const std::string last = error_of(fs[3]);
  EXPECT_EQ(last.rfind("WorkerDied: ", 0), 0u) << last;
  EXPECT_NE(last.find("stopped replacing them and is broken"), std::string::npos) << last;
  const std::string after = error_of(fs[4]);
  EXPECT_EQ(after.rfind("BrokenProcessPool: ", 0), 0u) << after;
  EXPECT_NE(after.find("in a row died before finishing a call"), std::string::npos) << after;
  EXPECT_THROW((void)pool.submit(square, 1), cf::BrokenProcessPool);
}

TEST_P(ProcessPoolReplace, KillWorkersStillStopsEverything) {
  cft::ProcessGate gate;
  cf::ProcessPoolExecutor pool(replacing(GetParam(), 2));
  cf::Future<int> held = pool.submit(cft::gated_call, gate.dir(), std::string("a"));
  ASSERT_GT(gate.wait_started("a"), 0);
  pool.kill_workers();
  const std::string error = error_of(held);
  EXPECT_EQ(error.rfind("BrokenProcessPool", 0), 0u) << error;
  EXPECT_NE(error.find("kill_workers()"), std::string::npos) << error;
  pool.shutdown(true);
  EXPECT_TRUE(pool.worker_pids().empty());
}

TEST_P(ProcessPoolReplace, MaxTasksPerChildStillRetiresWorkers) {
  auto o = replacing(GetParam(), 1);
  o.max_tasks_per_child = 2;
  cf::ProcessPoolExecutor pool(o);
  std::vector<cf::Future<int>> fs;
  for (int i = 0; i < 4; ++i) fs.push_back(pool.submit(my_pid));
  cf::Future<int> crash = pool.submit(crash_after, 0, static_cast<int>(Action::sigkill));
  for (int i = 0; i < 4; ++i) fs.push_back(pool.submit(my_pid));
  std::vector<int> pids;
  for (auto& f : fs) pids.push_back(f.result(kLongTimeout));
  EXPECT_EQ(error_of(crash).rfind("WorkerDied: ", 0), 0u);
  EXPECT_EQ(pids[0], pids[1]);
  EXPECT_EQ(pids[2], pids[3]);
  EXPECT_NE(pids[1], pids[2]);
  EXPECT_EQ(pids[4], pids[5]);
  EXPECT_EQ(pids[6], pids[7]);
}

TEST(ProcessPoolReplaceConstruction, ForkIsRefusedWithAWayOut) {
  try {
    cf::ProcessPoolExecutor pool(replacing(cf::StartMethod::fork, 1));
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("StartMethod::forkserver"), std::string::npos) << e.what();
  }
}

// break_pool (the default) still breaks the pool, but tells the call that was running
// on the dead worker apart from the bystanders.
TEST(ProcessPoolBreakPool, TheRunningCallIsToldApartFromTheBystanders) {
  cft::ProcessGate gate;
  cf::ProcessPoolExecutor pool({.max_workers = 1});
  cf::Future<int> crash = pool.submit(gated_crash, gate.dir(), static_cast<int>(Action::sigkill));
  ASSERT_GT(gate.wait_started("crash"), 0);
  std::vector<cf::Future<int>> bystanders;
  for (int i = 0; i < 3; ++i) bystanders.push_back(pool.submit(square, i));
  gate.open("crash");
  const std::string error = error_of(crash);
  EXPECT_NE(error.find("was killed by signal 9 (SIGKILL) while running this call"),
            std::string::npos)
      << error;
  for (auto& f : bystanders) {
    const std::string e = error_of(f);
    EXPECT_EQ(e.rfind("BrokenProcessPool: the process pool broke before this call finished", 0), 0u)
        << e;
    EXPECT_NE(e.find("while running another call"), std::string::npos) << e;
    EXPECT_NE(e.find("OnWorkerDeath::replace"), std::string::npos) << e;
  }
}

}  // namespace
