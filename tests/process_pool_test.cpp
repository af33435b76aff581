// ProcessPoolExecutor: what is specific to running calls in worker processes, for each
// start method. (The behaviour it shares with the thread pool is in executor_test.cpp.)
//
// Worker processes here do real work, sleep as part of a workload, crash on purpose,
// and are killed; the tests never sleep to synchronise, and every blocking call has a
// timeout (kLongTimeout).
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <future>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "concurrent/futures/process_pool.hpp"
#include "concurrent/futures/wait.hpp"
#include "process/image.hpp"
#include "process/wire.hpp"
#include "process/worker.hpp"
#include "process_gate.hpp"
#include "test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
namespace wire = concurrent::futures::detail::wire;
using namespace std::chrono_literals;
using cft::kLongTimeout;

namespace {

// ------------------------------------------------------------------------------------
// What the workers run.

int square(int x) { return x * x; }
int add(int a, int b) { return a + b; }
int my_pid() { return static_cast<int>(::getpid()); }
std::string greet(std::string name) { return "hello " + name; }
void nothing() {}
int sleep_then(int ms, int x) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return x;
}
std::size_t byte_count(std::vector<char> bytes) { return bytes.size(); }

struct Math {
  static int twice(int x) { return 2 * x; }
};

// A function object with state: crosses because cereal can serialize it.
struct Scale {
  int factor = 1;
  int operator()(int x) const { return factor * x; }
  template <class Archive>
  void serialize(Archive& ar) {
    ar(factor);
  }
};

// An empty function object: crosses as its type.
struct Negate {
  int operator()(int x) const { return -x; }
};

struct Point {
  int x = 0;
  int y = 0;
  std::string label;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(x, y, label);
  }
  friend bool operator==(const Point&, const Point&) = default;
};
Point mirror(Point p) { return Point{p.y, p.x, p.label + "'"}; }

struct CustomError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
int throw_custom(int) { throw CustomError("custom failure"); }
int throw_int(int) { throw 42; }
template <class E>
int throw_std(std::string message) {
  throw E(message);
}
int throw_bad_alloc(int) { throw std::bad_alloc(); }
int throw_timeout(int) { throw cf::TimeoutError("from the worker"); }

// Set by the initializer, in the worker.
int g_initialized = 0;
void initialize(int value) { g_initialized = value; }
int initialized_value() { return g_initialized; }
void failing_initializer(std::string why) { throw std::runtime_error(why); }

// ------------------------------------------------------------------------------------
// Crashes on purpose: {throw, exit, abort, SIGKILL, SIGSEGV} at a chosen moment.

enum class Action { none, throw_error, exit_3, abort, sigkill, sigsegv };
enum class Phase { none, read_task, run, write_result };

[[maybe_unused]] const char* to_string(Action a) {
  switch (a) {
    case Action::none:
      return "none";
    case Action::throw_error:
      return "throw";
    case Action::exit_3:
      return "exit";
    case Action::abort:
      return "abort";
    case Action::sigkill:
      return "sigkill";
    case Action::sigsegv:
      return "sigsegv";
  }
  return "?";
}
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

void act(Action a) {
  switch (a) {
    case Action::none:
      return;
    case Action::throw_error:
      throw std::runtime_error("the bomb went off");
    case Action::exit_3:
      std::exit(3);
    case Action::abort:
      std::abort();
    case Action::sigkill:
      ::raise(SIGKILL);
      return;
    case Action::sigsegv: {
      volatile int* volatile p = nullptr;
      *p = 1;
      return;
    }
  }
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

// Sleeps, then crashes: for crashes while other work is queued behind it.
int crash_after(int ms, int action) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  act(static_cast<Action>(action));
  return 0;
}

// Saving fails in the parent: an argument that cannot be serialized.
struct Unsendable {
  template <class Archive>
  void save(Archive&) const {
    throw std::length_error("this value refuses to be serialized");
  }
  template <class Archive>
  void load(Archive&) {}
};
int take_unsendable(Unsendable) { return 1; }

// Loading fails in the parent: a result that cannot be read back.
struct Unreadable {
  int parent = 0;
  template <class Archive>
  void save(Archive& ar) const {
    ar(parent);
  }
  template <class Archive>
  void load(Archive& ar) {
    ar(parent);
    if (::getpid() == parent) throw std::overflow_error("this value refuses to be read");
  }
};
Unreadable make_unreadable(int parent) { return Unreadable{parent}; }

// ------------------------------------------------------------------------------------
// Helpers.

std::size_t open_fds() {
  std::size_t n = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n - 1;  // the directory's own fd
}

bool process_exists(int pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

bool has_children() {
#if defined(CONCURRENT_FUTURES_TEST_SANITIZED)
  // A sanitizer may keep its symbolizer as a child process.
  return false;
#endif
  siginfo_t info{};
  return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

template <class T>
std::string error_of(const cf::Future<T>& f) {
  try {
    (void)f.result(kLongTimeout);
  } catch (const cf::BrokenProcessPool& e) {
    return std::string("BrokenProcessPool: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("other: ") + e.what();
  }
  return "no error";
}

class ProcessPoolTest : public testing::TestWithParam<cf::StartMethod> {
 protected:
  cf::ProcessPoolOptions options(std::size_t workers) {
    cf::ProcessPoolOptions o;
    o.max_workers = workers;
    o.start_method = GetParam();
    return o;
  }
};

INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessPoolTest,
                         testing::Values(cf::StartMethod::fork, cf::StartMethod::spawn,
                                         cf::StartMethod::forkserver),
                         [](const auto& info) { return cf::to_string(info.param); });

// ------------------------------------------------------------------------------------
// What crosses.

TEST_P(ProcessPoolTest, RunsEveryKindOfCallable) {
  cf::ProcessPoolExecutor pool(options(2));
  EXPECT_EQ(pool.submit(square, 7).result(kLongTimeout), 49);
  EXPECT_EQ(pool.submit(&add, 2, 3).result(kLongTimeout), 5);
  EXPECT_EQ(pool.submit(Math::twice, 21).result(kLongTimeout), 42);
  EXPECT_EQ(pool.submit([](int a, int b) { return a * b; }, 6, 7).result(kLongTimeout), 42);
  EXPECT_EQ(pool.submit(Negate{}, 5).result(kLongTimeout), -5);
  EXPECT_EQ(pool.submit(Scale{3}, 5).result(kLongTimeout), 15);
  EXPECT_EQ(pool.submit(greet, "ada").result(kLongTimeout), "hello ada");
  pool.submit(nothing).result(kLongTimeout);
  EXPECT_EQ(pool.submit(mirror, Point{1, 2, "p"}).result(kLongTimeout), (Point{2, 1, "p'"}));
  const int worker = pool.submit(my_pid).result(kLongTimeout);
  EXPECT_NE(worker, ::getpid());
  std::vector<int> pids = pool.worker_pids();
  EXPECT_NE(std::find(pids.begin(), pids.end(), worker), pids.end());
}

TEST_P(ProcessPoolTest, ExceptionsComeBackAsTheSameType) {
  cf::ProcessPoolExecutor pool(options(2));
  auto check = [&](auto fn, auto tag, const char* type) {
    using E = typename decltype(tag)::type;
    cf::Future<int> f = pool.submit(fn, std::string("message of ") + type);
    std::exception_ptr e = f.exception(kLongTimeout);
    if (!e) {
      ADD_FAILURE() << type << ": no exception";
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const E& caught) {
      EXPECT_EQ(typeid(caught), typeid(E)) << type;
      EXPECT_EQ(std::string(caught.what()), std::string("message of ") + type);
    } catch (...) {
      ADD_FAILURE() << type << " came back as another type";
    }
  };
  check(throw_std<std::logic_error>, std::type_identity<std::logic_error>{}, "logic_error");
  check(throw_std<std::invalid_argument>, std::type_identity<std::invalid_argument>{},
        "invalid_argument");
  check(throw_std<std::domain_error>, std::type_identity<std::domain_error>{}, "domain_error");
  check(throw_std<std::length_error>, std::type_identity<std::length_error>{}, "length_error");
  check(throw_std<std::out_of_range>, std::type_identity<std::out_of_range>{}, "out_of_range");
  check(throw_std<std::runtime_error>, std::type_identity<std::runtime_error>{}, "runtime_error");
  check(throw_std<std::range_error>, std::type_identity<std::range_error>{}, "range_error");
  check(throw_std<std::overflow_error>, std::type_identity<std::overflow_error>{},
        "overflow_error");
  check(throw_std<std::underflow_error>, std::type_identity<std::underflow_error>{},
        "underflow_error");
  check(throw_std<cf::InvalidStateError>, std::type_identity<cf::InvalidStateError>{},
        "InvalidStateError");
  check(throw_std<cf::BrokenThreadPool>, std::type_identity<cf::BrokenThreadPool>{},
        "BrokenThreadPool");

  // Each future outlives the handler that reads its exception: the exception object is
  // shared with the future, and its reference count lives in (uninstrumented) libstdc++,
  // so under ThreadSanitizer the future must be what orders the reads before the free.
  cf::Future<int> bad_alloc = pool.submit(throw_bad_alloc, 0);
  EXPECT_THROW((void)bad_alloc.result(kLongTimeout), std::bad_alloc);
  cf::Future<int> timeout = pool.submit(throw_timeout, 0);
  try {
    (void)timeout.result(kLongTimeout);
    ADD_FAILURE() << "no exception";
  } catch (const cf::TimeoutError& e) {
    EXPECT_STREQ(e.what(), "from the worker");
  }
  cf::Future<int> custom = pool.submit(throw_custom, 0);
  try {
    (void)custom.result(kLongTimeout);
    ADD_FAILURE() << "no exception";
  } catch (const cf::RemoteError& e) {
    EXPECT_EQ(e.type_name(), "(anonymous namespace)::CustomError");
    EXPECT_STREQ(e.what(), "custom failure");
  }
  cf::Future<int> thrown_int = pool.submit(throw_int, 0);
  try {
    (void)thrown_int.result(kLongTimeout);
    ADD_FAILURE() << "no exception";
  } catch (const cf::RemoteError& e) {
    EXPECT_EQ(e.type_name(), "int");
  }
  EXPECT_EQ(pool.submit(square, 3).result(kLongTimeout), 9) << "the pool is still usable";
}

TEST_P(ProcessPoolTest, SerializationFailuresFailOnlyTheirFuture) {
  cf::ProcessPoolExecutor pool(options(2));
  cf::Future<int> bad_argument = pool.submit(take_unsendable, Unsendable{});
  EXPECT_THROW((void)bad_argument.result(kLongTimeout), std::length_error);
  cf::Future<Unreadable> bad_result = pool.submit(make_unreadable, static_cast<int>(::getpid()));
  EXPECT_THROW((void)bad_result.result(kLongTimeout), std::overflow_error);
  EXPECT_EQ(pool.submit(square, 5).result(kLongTimeout), 25);
}

// ------------------------------------------------------------------------------------
// The failure matrix.

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
  EXPECT_NE(error.find("create a new ProcessPoolExecutor"), std::string::npos) << error;
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
#if defined(CONCURRENT_FUTURES_TEST_SANITIZED)
      // The sanitizer catches the fault, reports it and exits with its own code.
      EXPECT_TRUE(error.find("signal 11 (SIGSEGV)") != std::string::npos ||
                  error.find("exited with code") != std::string::npos)
          << error;
#else
      EXPECT_NE(error.find("signal 11 (SIGSEGV)"), std::string::npos) << error;
#endif
      break;
    default:
      break;
  }
  for (auto& o : others) {
    const std::string e = error_of(o);
    EXPECT_TRUE(e == "no error" || e.find("BrokenProcessPool") == 0) << e;
  }
  EXPECT_THROW((void)pool.submit(square, 1), cf::BrokenProcessPool);
}

// ------------------------------------------------------------------------------------
// Crashes at awkward moments.

TEST_P(ProcessPoolTest, CrashWhileMegabytesOfArgumentsAreInFlight) {
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

TEST_P(ProcessPoolTest, CrashRightAfterShutdownBegan) {
  cf::ProcessPoolExecutor pool(options(2));
  cf::Future<int> crash = pool.submit(crash_after, 100, static_cast<int>(Action::abort));
  cf::Future<int> fine = pool.submit(square, 3);
  pool.shutdown(true);  // must return: the crash ends the pool instead of hanging it
  EXPECT_TRUE(crash.done());
  EXPECT_NE(error_of(crash).find("SIGABRT"), std::string::npos);
  EXPECT_EQ(fine.result(0s), 9);
}

TEST_P(ProcessPoolTest, BigArgumentsAndResultsCross) {
  cf::ProcessPoolExecutor pool(options(2));
  std::vector<cf::Future<std::size_t>> fs;
  for (int i = 0; i < 4; ++i) fs.push_back(pool.submit(byte_count, std::vector<char>(3 << 20)));
  for (auto& f : fs) EXPECT_EQ(f.result(kLongTimeout), std::size_t{3} << 20);
  auto big =
      pool.submit([](int n) { return std::string(static_cast<std::size_t>(n), 'x'); }, 5 << 20);
  EXPECT_EQ(big.result(kLongTimeout).size(), std::size_t{5} << 20);
}

// ------------------------------------------------------------------------------------
// Dispatch.

// Long calls are never queued behind one another while a worker is free (as in CPython,
// whose call queue any free worker takes from). Four gated calls on two workers: a and b
// hold both workers; c and d must wait in the pool, not in a busy worker's socket, so
// that once a and then c are released, d runs on that same worker while b still blocks.
// (Before fair dispatch, d was written behind b and stranded there.) No timing: every
// wait is for an event, with a timeout only against hangs.
TEST_P(ProcessPoolTest, LongCallsAreNotQueuedBehindBusyWorkers) {
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
TEST_P(ProcessPoolTest, ShutdownReturnsWhenTheLastPendingCallsWereCancelled) {
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

// ------------------------------------------------------------------------------------
// Lifecycle.

TEST_P(ProcessPoolTest, NoZombiesAndNoFdLeaks) {
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

TEST_P(ProcessPoolTest, MaxTasksPerChildReplacesWorkers) {
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

TEST_P(ProcessPoolTest, Initializer) {
  auto o = options(2);
  o.initializer = {initialize, 17};
  cf::ProcessPoolExecutor pool(o);
  EXPECT_EQ(pool.submit(initialized_value).result(kLongTimeout), 17);
}

TEST_P(ProcessPoolTest, FailingInitializerBreaksThePool) {
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

TEST_P(ProcessPoolTest, ShutdownStopsSubmitsAndCanCancel) {
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
  // Only the calls already in a worker's hands (max_workers + kExtraQueuedCalls, if
  // the management thread got to them) escape cancellation.
  EXPECT_GE(cancelled, 8u);
  try {
    (void)pool.submit(square, 1);
    ADD_FAILURE() << "submit after shutdown";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "cannot schedule new futures after shutdown");
  }
  pool.shutdown();  // idempotent
}

TEST_P(ProcessPoolTest, ShutdownWithoutWaitFinishesQueuedWork) {
  std::vector<cf::Future<int>> fs;
  {
    cf::ProcessPoolExecutor pool(options(2));
    for (int i = 0; i < 20; ++i) fs.push_back(pool.submit(square, i));
    pool.shutdown(false);
  }
  for (int i = 0; i < 20; ++i) EXPECT_EQ(fs[i].result(0s), i * i);
}

TEST_P(ProcessPoolTest, KillAndTerminateWorkers) {
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

TEST_P(ProcessPoolTest, SubmitAndShutdownFromDoneCallbacks) {
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

TEST_P(ProcessPoolTest, TimelineRecordsWorkerTimes) {
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

TEST_P(ProcessPoolTest, MapInChunksKeepsOrderAndPerItemErrors) {
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
      seen.push_back(e.what());
    }
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"2", "1", "division by zero", "1", "5"}));
  EXPECT_THROW((void)pool.map({.chunksize = 0}, square, xs), std::invalid_argument);
}

TEST_P(ProcessPoolTest, MapBuffersizeAndTimeout) {
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

// ------------------------------------------------------------------------------------
// A worker given crafted messages: it runs nothing it was not built to run.

class CraftedMessages : public testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      ::close(fds[0]);
      ::_exit(concurrent::futures::detail::worker_main(fds[1]));
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  void send(const std::string& bytes) {
    ASSERT_EQ(::write(fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  void send_config(std::string_view build_id) {
    std::string out;
    wire::ConfigMessage config;
    config.build_id = build_id;
    wire::encode_config(out, config);
    send(out);
  }
  // The next frame from the worker (false at end of file).
  bool receive(wire::MessageType& type, std::string& payload) {
    wire::FrameDecoder decoder;
    std::string_view view;
    for (;;) {
      if (decoder.next(type, view)) {
        payload.assign(view);
        // Only one frame is read at a time, so nothing is lost by dropping the decoder.
        return true;
      }
      char c;
      const ssize_t n = ::read(fd_, &c, 1);
      if (n <= 0) return false;
      decoder.feed(&c, 1);
    }
  }
  int exit_code() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
  pid_t pid_ = -1;
  int fd_ = -1;
};

std::string call_frame(std::string_view key, std::string_view fn, std::string_view args) {
  std::string out;
  wire::encode_call(out, {.seq = 1, .entry_key = key, .fn = fn, .items = {{0, args}}});
  return out;
}

TEST_F(CraftedMessages, WrongExecutableIsRefused) {
  send_config("0123456789abcdef");
  wire::MessageType type{};
  std::string payload;
  ASSERT_TRUE(receive(type, payload));
  EXPECT_EQ(type, wire::MessageType::refused);
  const std::string text(wire::decode_text(payload));
  EXPECT_NE(text.find("runs a different executable"), std::string::npos) << text;
  EXPECT_EQ(exit_code(), concurrent::futures::detail::kExitRefused);
}

TEST_F(CraftedMessages, UnknownEntriesAndFunctionsFailTheCall) {
  send_config(concurrent::futures::detail::executable_build_id());
  wire::MessageType type{};
  std::string payload;
  ASSERT_TRUE(receive(type, payload));
  ASSERT_EQ(type, wire::MessageType::ready);

  send(call_frame("no such entry", "", ""));
  ASSERT_TRUE(receive(type, payload));
  ASSERT_EQ(type, wire::MessageType::result);
  wire::ResultMessage r = wire::decode_result(payload);
  EXPECT_EQ(r.status, wire::ResultStatus::exception);
  EXPECT_NE(r.message.find("no entry point named"), std::string_view::npos) << r.message;

  // A real entry (int(*)(int)), but a function name the executable does not have.
  using Entry = concurrent::futures::detail::ProcessEntry<false, int (*)(int), int>;
  (void)Entry::registered;
  std::string args;
  concurrent::futures::detail::ValueWriter(&args).write(3);
  send(call_frame(Entry::key(), "not_a_function_here", args));
  ASSERT_TRUE(receive(type, payload));
  r = wire::decode_result(payload);
  EXPECT_EQ(r.status, wire::ResultStatus::exception);
  EXPECT_NE(r.message.find("no function named"), std::string_view::npos) << r.message;

  // The right function with truncated arguments: the call fails, nothing runs.
  send(call_frame(
      Entry::key(),
      concurrent::futures::detail::function_symbol_key(reinterpret_cast<const void*>(&square)),
      args.substr(0, 2)));
  ASSERT_TRUE(receive(type, payload));
  r = wire::decode_result(payload);
  EXPECT_EQ(r.status, wire::ResultStatus::exception);

  // And with whole arguments it runs.
  send(call_frame(
      Entry::key(),
      concurrent::futures::detail::function_symbol_key(reinterpret_cast<const void*>(&square)),
      args));
  ASSERT_TRUE(receive(type, payload));
  r = wire::decode_result(payload);
  ASSERT_EQ(r.status, wire::ResultStatus::value);
  int value = 0;
  concurrent::futures::detail::ValueReader reader;
  reader.reset(r.value);
  reader.read(value);
  EXPECT_EQ(value, 9);
}

TEST_F(CraftedMessages, CorruptFramingEndsTheWorker) {
  send_config(concurrent::futures::detail::executable_build_id());
  wire::MessageType type{};
  std::string payload;
  ASSERT_TRUE(receive(type, payload));
  send(std::string("this is not a frame at all"));
  EXPECT_EQ(exit_code(), concurrent::futures::detail::kExitBadMessage);
}

}  // namespace
