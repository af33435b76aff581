// How workers start and retire under a program's own process settings, for each start
// method: a program that ignores SIGCHLD or reaps its children itself keeps its pool
// through retirements (max_tasks_per_child); re-executed workers and the fork server do
// not inherit the program's ignored signals; a worker that never reports ready breaks
// the pool after worker_start_timeout instead of hanging it, and a slow initializer is
// not bounded by it.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "concurrent/futures/process_pool.hpp"
#include "process/worker.hpp"
#include "process_pool_test_util.hpp"

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

namespace {

using namespace concurrent::futures::test;  // process_pool_test_util.hpp

// Sets a signal's disposition for one scope.
class SignalDisposition {
 public:
  SignalDisposition(int sig, void (*handler)(int)) : sig_(sig) {
    struct sigaction action {};
    action.sa_handler = handler;
    action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&action.sa_mask);
    ::sigaction(sig_, &action, &old_);
  }
  ~SignalDisposition() { ::sigaction(sig_, &old_, nullptr); }
  SignalDisposition(const SignalDisposition&) = delete;
  SignalDisposition& operator=(const SignalDisposition&) = delete;

 private:
  int sig_;
  struct sigaction old_ {};
};

// A program's own SIGCHLD handler that reaps every child it can.
void reap_all_children(int) {
  const int saved = errno;
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  errno = saved;
}

bool sigusr1_ignored() {
  struct sigaction action {};
  ::sigaction(SIGUSR1, nullptr, &action);
  return action.sa_handler == SIG_IGN;
}

void slow_initializer(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Holds a worker before it reports ready: in a forked child (pthread_atfork), or in a
// re-executed one's static initializers, while the test asks for it.
constexpr const char* kHangVariable = "CONCURRENT_FUTURES_TEST_HANG_WORKER_START";
bool g_hang_forked_children = false;
[[noreturn]] void hang() {
  for (;;) ::pause();
}
[[maybe_unused]] const bool g_hang_registered = [] {
  if (concurrent::futures::detail::started_as_process_worker() &&
      std::getenv(kHangVariable) != nullptr) {  // NOLINT(concurrency-mt-unsafe)
    hang();
  }
  ::pthread_atfork(nullptr, nullptr, [] {
    if (g_hang_forked_children) hang();
  });
  return true;
}();

class ProcessPoolStart : public ProcessPoolTest {
 protected:
  // 20 calls through workers that retire after 2 calls each.
  void expect_retirements_survive() {
    if (GetParam() == cf::StartMethod::fork)
      GTEST_SKIP() << "max_tasks_per_child needs spawn or forkserver";
    auto o = options(2);
    o.max_tasks_per_child = 2;
    cf::ProcessPoolExecutor pool(o);
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 20; ++i) fs.push_back(pool.submit(square, i));
    for (int i = 0; i < 20; ++i) {
      const std::string error = error_of(fs[i]);
      EXPECT_EQ(error, "no error") << i;
      if (error == "no error") {
        EXPECT_EQ(fs[i].result(0s), i * i);
      }
    }
  }
};
INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessPoolStart, kStartMethods, start_method_name);

TEST_P(ProcessPoolStart, RetirementsSurviveAProgramThatIgnoresSigchld) {
  SignalDisposition ignore(SIGCHLD, SIG_IGN);
  expect_retirements_survive();
}

TEST_P(ProcessPoolStart, RetirementsSurviveAProgramThatReapsItsChildren) {
  SignalDisposition reap(SIGCHLD, reap_all_children);
  expect_retirements_survive();
}

TEST_P(ProcessPoolStart, WorkersDoNotInheritIgnoredSignals) {
  if (GetParam() == cf::StartMethod::fork)
    GTEST_SKIP() << "a forked worker is a copy of the program";
  SignalDisposition ignore_child(SIGCHLD, SIG_IGN);
  SignalDisposition ignore_usr1(SIGUSR1, SIG_IGN);
  cf::ProcessPoolExecutor pool(options(1));
  EXPECT_FALSE(pool.submit(sigusr1_ignored).result(kLongTimeout));
}

TEST_P(ProcessPoolStart, AWorkerThatNeverReportsReadyBreaksThePool) {
  if (GetParam() == cf::StartMethod::forkserver) {
    GTEST_SKIP() << "the fork server forks its workers from its own initialized state: "
                    "nothing of the test's holds them before they report ready";
  }
  g_hang_forked_children = true;
  ::setenv(kHangVariable, "1", 1);  // NOLINT(concurrency-mt-unsafe): no other thread reads it
  auto o = options(1);
  o.worker_start_timeout = 300ms;
  std::string error;
  {
    cf::ProcessPoolExecutor pool(o);
    g_hang_forked_children = false;
    ::unsetenv(kHangVariable);  // NOLINT(concurrency-mt-unsafe)
    try {
      error = error_of(pool.submit(square, 2));
    } catch (const cf::BrokenProcessPool& e) {
      error = std::string("BrokenProcessPool: ") + e.what();
    }
  }
  EXPECT_EQ(error.rfind("BrokenProcessPool: worker process ", 0), 0u) << error;
  EXPECT_NE(error.find("did not report ready within 300 ms"), std::string::npos) << error;
  EXPECT_FALSE(has_children());
}

TEST_P(ProcessPoolStart, ASlowInitializerIsNotBoundedByTheStartTimeout) {
  auto o = options(1);
  // The bound leaves a sanitized, re-executed worker on a loaded machine ample time to
  // report ready; the initializer alone outlasts it.
  o.worker_start_timeout = 1s;
  o.initializer = {slow_initializer, 1500};
  cf::ProcessPoolExecutor pool(o);
  EXPECT_EQ(pool.submit(square, 3).result(kLongTimeout), 9);
}

}  // namespace
