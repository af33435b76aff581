// Attach done-callbacks and cancel work that has not started yet.
// Shows add_done_callback(), cancel(), cancelled() and CancelledError.
#include <concurrent/futures.hpp>
#include <cstdio>
#include <latch>

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

int main() {
  cf::ThreadPoolExecutor pool(1);  // one worker: the second call has to wait

  std::latch started(1);
  std::latch go(1);
  cf::Future<int> first = pool.submit([&started, &go] {
    started.count_down();
    go.wait();
    return 1;
  });
  started.wait();  // `first` is running now
  cf::Future<int> second = pool.submit([] { return 2; });

  // Callbacks run once the future is done, in the thread that finishes it: here the
  // worker. result() may return before that thread has run them, so the latch lets
  // this example print in a fixed order.
  std::latch first_callback_ran(1);
  first.add_done_callback([&first_callback_ran](const cf::Future<int>& f) {
    std::printf("callback: first finished with %d\n", f.result());
    first_callback_ran.count_down();
  });
  second.add_done_callback([](const cf::Future<int>& f) {
    std::printf("callback: second %s\n", f.cancelled() ? "was cancelled" : "finished");
  });

  // `second` is still queued behind `first`, so it can be cancelled.
  std::printf("cancel second: %s\n", second.cancel() ? "cancelled" : "too late");
  std::printf("cancel first: %s\n", first.cancel() ? "cancelled" : "too late (it is running)");

  go.count_down();
  first.result(10s);
  first_callback_ran.wait();
  try {
    second.result(10s);
  } catch (const cf::CancelledError&) {
    std::puts("second.result() threw CancelledError");
  }

  // A callback added to a future that is already done runs at once, in this thread.
  first.add_done_callback(
      [](const cf::Future<int>&) { std::puts("callback: added late, ran at once"); });
}
