// The process pool's failure matrix: {throw, exit, abort, SIGKILL, SIGSEGV} x {reading
// the call, running it, writing its result} for every start method, each ending in a
// specific error and never hanging; and crashes at awkward moments (megabytes in
// flight, shutdown under way).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <string>
#include <tuple>
#include <vector>

#include "concurrent/futures/process_pool.hpp"
#include "process_pool_test_util.hpp"

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

namespace {

using namespace concurrent::futures::test;  // process_pool_test_util.hpp

// Where in a call the bomb goes off.
enum class Phase { none, read_task, run, write_result };

const char* to_string(Phase p) {
  switch (p) {
    case Phase::none:
      return "none";
    case Phase::read_task:
      return "read_task";
    case Phase::run:
      return "run";
    case Phase::write_result:
      return "write_result";
  }
  return "?";
}

// Goes off while a worker loads it (read_task) or saves it (write_result); never in the
// parent, whose pid it carries.
struct Bomb {
  int action = 0;
  int phase = 0;
  int parent = 0;

  bool armed(Phase p) const { return phase == static_cast<int>(p) && ::getpid() != parent; }

  template <class Archive>
  void save(Archive& ar) const {
    if (armed(Phase::write_result)) act(static_cast<Action>(action));
    ar(action, phase, parent);
  }
  template <class Archive>
  void load(Archive& ar) {
    ar(action, phase, parent);
    if (armed(Phase::read_task)) act(static_cast<Action>(action));
  }
};

Bomb bomb_call(Bomb b) {
  if (b.phase == static_cast<int>(Phase::run)) act(static_cast<Action>(b.action));
  if (b.phase == static_cast<int>(Phase::write_result)) return b;
  return Bomb{};
}

class FailureMatrix : public testing::TestWithParam<std::tuple<cf::StartMethod, Action, Phase>> {};

std::string matrix_name(const testing::TestParamInfo<FailureMatrix::ParamType>& info) {
  return std::string(cf::to_string(std::get<0>(info.param))) + "_" +
         to_string(std::get<1>(info.param)) + "_" + to_string(std::get<2>(info.param));
}

INSTANTIATE_TEST_SUITE_P(
    AllStartMethods, FailureMatrix,
    testing::Combine(testing::Values(cf::StartMethod::fork, cf::StartMethod::spawn,
                                     cf::StartMethod::forkserver),
                     testing::Values(Action::throw_error, Action::exit_3, Action::abort,
                                     Action::sigkill, Action::sigsegv),
                     testing::Values(Phase::read_task, Phase::run, Phase::write_result)),
    matrix_name);

TEST_P(FailureMatrix, EndsInASpecificErrorAndNeverHangs) {
  const auto [method, action, phase] = GetParam();
  cf::ProcessPoolExecutor pool({.max_workers = 2, .start_method = method});
  // Work queued behind the crash, so that pending and running futures are both hit.
  std::vector<cf::Future<int>> others;
  others.push_back(pool.submit(sleep_then, 200, 1));
  const Bomb bomb{static_cast<int>(action), static_cast<int>(phase), static_cast<int>(::getpid())};
  cf::Future<Bomb> f = pool.submit(bomb_call, bomb);
  try {
    for (int i = 0; i < 6; ++i) others.push_back(pool.submit(sleep_then, 10, i));
  } catch (const cf::BrokenProcessPool&) {
    // The bomb may already have broken the pool: later submits then throw, as they must.
    EXPECT_NE(action, Action::throw_error);
  }
  const std::string error = error_of(f);
  if (action == Action::throw_error) {
    EXPECT_EQ(error, "other: the bomb went off");
    for (auto& o : others) EXPECT_NO_THROW((void)o.result(kLongTimeout));
    EXPECT_EQ(pool.submit(square, 4).result(kLongTimeout), 16);
    return;
  }
  EXPECT_NE(error.find("BrokenProcessPool: worker process "), std::string::npos) << error;
  EXPECT_NE(error.find("while running this call"), std::string::npos) << error;
  EXPECT_NE(error.find("create a new ProcessPoolExecutor"), std::string::npos) << error;
  // It carries the dead worker's pid and status, as a nested WorkerDied.
  try {
    (void)f.result(kLongTimeout);
  } catch (const cf::BrokenProcessPool& e) {
    try {
      std::rethrow_if_nested(e);
      ADD_FAILURE() << "no nested WorkerDied";
    } catch (const cf::WorkerDied& died) {
      EXPECT_GT(died.pid(), 0);
      EXPECT_NE(error.find(std::to_string(died.pid())), std::string::npos) << error;
      EXPECT_TRUE(died.signal() > 0 ? died.exit_code() == -1 : died.exit_code() > 0);
    }
  }
  switch (action) {
    case Action::exit_3:
      EXPECT_NE(error.find("exited with code 3"), std::string::npos) << error;
      break;
    case Action::abort:
      EXPECT_NE(error.find("signal 6 (SIGABRT)"), std::string::npos) << error;
      break;
    case Action::sigkill:
      EXPECT_NE(error.find("signal 9 (SIGKILL)"), std::string::npos) << error;
      break;
    case Action::sigsegv:
      EXPECT_NE(error.find("signal 11 (SIGSEGV)"), std::string::npos) << error;
      break;
    default:
      break;
  }
  // The bystanders say that another call broke the pool.
  for (auto& o : others) {
    const std::string e = error_of(o);
    EXPECT_TRUE(e == "no error" || (e.find("BrokenProcessPool") == 0 &&
                                    e.find("while running another call") != std::string::npos))
        << e;
  }
  EXPECT_THROW((void)pool.submit(square, 1), cf::BrokenProcessPool);
}

// ------------------------------------------------------------------------------------
// Crashes at awkward moments.

class ProcessPoolCrashes : public ProcessPoolTest {};
INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessPoolCrashes, kStartMethods, start_method_name);

TEST_P(ProcessPoolCrashes, CrashWhileMegabytesOfArgumentsAreInFlight) {
  cf::ProcessPoolExecutor pool(options(1));
  std::vector<std::vector<char>> payloads(4, std::vector<char>(4 << 20));
  cf::Future<int> crash = pool.submit(crash_after, 300, static_cast<int>(Action::sigkill));
  std::vector<cf::Future<std::size_t>> big;
  try {
    for (auto& p : payloads) big.push_back(pool.submit(byte_count, std::move(p)));
  } catch (const cf::BrokenProcessPool&) {
    // A slow (sanitized) build may still be serializing when the worker dies.
  }
  EXPECT_NE(error_of(crash).find("signal 9 (SIGKILL)"), std::string::npos);
  for (auto& f : big) EXPECT_EQ(error_of(f).rfind("BrokenProcessPool", 0), 0u);
}

TEST_P(ProcessPoolCrashes, CrashRightAfterShutdownBegan) {
  cf::ProcessPoolExecutor pool(options(2));
  // The call that finished before the crash keeps its value. It runs first: submitted
  // after the crash, it could be queued behind it on the same worker and fail with the pool.
  cf::Future<int> fine = pool.submit(square, 3);
  EXPECT_EQ(fine.result(), 9);
  cf::Future<int> crash = pool.submit(crash_after, 100, static_cast<int>(Action::abort));
  pool.shutdown(true);  // must return: the crash ends the pool instead of hanging it
  EXPECT_TRUE(crash.done());
  EXPECT_NE(error_of(crash).find("SIGABRT"), std::string::npos);
  EXPECT_EQ(fine.result(0s), 9);
}

}  // namespace
