// StartMethod::fork while other threads are inside the library (issue 7 item 5): a
// forked worker must not inherit a lock held by another thread, or a process-wide table
// half built. Each round runs in a fresh process (so that the executable's symbol table
// is not built yet), where one thread builds the symbol table and then hammers the
// library's registries while the main thread creates fork pools and runs calls that need
// them. A worker that inherited a held lock never answers: the round then fails on its
// timeout instead of hanging.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "concurrent/futures/detail/process_entry.hpp"
#include "concurrent/futures/errors.hpp"
#include "concurrent/futures/process_pool.hpp"
#include "test_util.hpp"

namespace cf = concurrent::futures;
namespace cfd = concurrent::futures::detail;

namespace {

struct Registered : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[maybe_unused]] const bool registered = cf::register_exception<Registered>();

int twice(int x) { return 2 * x; }
// In the worker: the exception registry (encoding a registered type).
int throw_registered(int) { throw Registered("from the worker"); }
// In the worker: the error handler's lock.
int touch_error_handler(int x) {
  (void)cf::set_error_handler({});
  return x;
}

// What a worker's call may wait for; it fails the round long before ctest's timeout.
constexpr std::chrono::seconds kCallLimit{10};
constexpr int kPoolsPerRound = 4;

enum RoundResult { kOk = 0, kHung = 1, kWrong = 2 };

// One round, in a child process of the test; returns its exit code.
int run_round() {
  std::atomic<bool> started{false};
  std::atomic<bool> stop{false};
  std::thread other([&] {
    started = true;
    // A first submit of a function pointer builds the symbol table: take that long step
    // while the main thread forks.
    (void)cfd::function_symbol_key(reinterpret_cast<const void*>(&twice));
    using Entry = cfd::ProcessEntry<false, int (*)(int), int>;
    while (!stop.load(std::memory_order_relaxed)) {
      cfd::check_process_entry(Entry::key());      // the entry registry
      (void)cf::register_exception<Registered>();  // the exception registry
      (void)cf::set_error_handler({});             // the error handler
    }
  });
  while (!started) {
  }
  int result = kOk;
  for (int i = 0; i < kPoolsPerRound && result == kOk; ++i) {
    cf::ProcessPoolExecutor pool(
        cf::ProcessPoolOptions{.max_workers = 2, .start_method = cf::StartMethod::fork});
    std::vector<cf::Future<int>> calls;
    for (int j = 0; j < 2; ++j) {
      calls.push_back(pool.submit(twice, j));
      calls.push_back(pool.submit(throw_registered, j));
      calls.push_back(pool.submit(touch_error_handler, j));
    }
    for (std::size_t j = 0; j < calls.size() && result == kOk; ++j) {
      try {
        const int value = calls[j].result(kCallLimit);
        if (j % 3 == 0 && value != static_cast<int>(j / 3) * 2) result = kWrong;
        if (j % 3 == 1) result = kWrong;
      } catch (const Registered&) {
        if (j % 3 != 1) result = kWrong;
      } catch (const cf::TimeoutError&) {
        result = kHung;
      } catch (...) {
        result = kWrong;
      }
    }
    if (result == kHung) pool.kill_workers();  // or the destructor would wait for them
  }
  stop = true;
  other.join();
  return result;
}

TEST(ForkSafety, ForkingWhileOtherThreadsUseTheLibraryNeverDeadlocksAWorker) {
  const int rounds = static_cast<int>(cf::test::scaled(24));
  for (int round = 0; round < rounds; ++round) {
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) ::_exit(run_round());
    // The round's own limits end it; this one only guards against a bug in them.
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child, 0));
    ASSERT_GE(pidfd, 0);
    pollfd exited{pidfd, POLLIN, 0};
    const int ready =
        ::poll(&exited, 1, static_cast<int>(6 * kCallLimit / std::chrono::milliseconds(1)));
    ::close(pidfd);
    int status = 0;
    if (ready != 1) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      FAIL() << "round " << round << " hung past its own limits";
    }
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status)) << "round " << round << " ended by signal " << WTERMSIG(status);
    ASSERT_EQ(WEXITSTATUS(status), kOk)
        << "round " << round
        << (WEXITSTATUS(status) == kHung ? ": a forked worker never answered (it inherited a "
                                           "held lock or a half-built table)"
                                         : ": a call came back wrong");
  }
}

}  // namespace
