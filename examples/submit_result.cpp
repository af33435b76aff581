// Submit a call to a thread pool, watch its state, and read its result.
// Shows submit(), running(), done(), result() and an exception carried to result().
#include <concurrent/futures.hpp>
#include <cstdio>
#include <latch>
#include <stdexcept>

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

int main() {
  cf::ThreadPoolExecutor pool(2);

  // A call that waits until we let it go, so we can see it running.
  std::latch started(1);
  std::latch go(1);
  cf::Future<int> answer = pool.submit([&started, &go] {
    started.count_down();
    go.wait();
    return 6 * 7;
  });
  started.wait();
  std::printf("running: %s, done: %s\n", answer.running() ? "yes" : "no",
              answer.done() ? "yes" : "no");
  go.count_down();
  std::printf("result: %d\n", answer.result(10s));
  std::printf("state: %s\n", cf::to_string(answer.state()));

  // An exception thrown by the call is rethrown by result().
  cf::Future<double> failing = pool.submit(
      []() -> double { throw std::domain_error("no square root of a negative number"); });
  try {
    failing.result(10s);
  } catch (const std::domain_error& e) {
    std::printf("result() rethrew: %s\n", e.what());
  }
}
