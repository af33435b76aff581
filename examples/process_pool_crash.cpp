// A worker process crashes in the middle of CPU-bound work: the parent survives, and every
// unfinished future reports BrokenProcessPool saying which worker died and how, the call
// that crashed it told apart from the others. (process_pool_crash_tolerant.cpp shows a
// pool that survives the crash.)
#include <chrono>
#include <concurrent/futures/process_pool.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

// Sums a range; input 13 stands for the bug that takes the process down.
long long crunch(int n) {
  if (n == 13) std::abort();
  long long sum = 0;
  for (int i = 0; i < 2'000'000; ++i) sum += (i * n) % 7;
  return sum;
}

int main() {
  cf::ProcessPoolExecutor pool(2);
  std::vector<cf::Future<long long>> futures;
  for (int n = 10; n < 20; ++n) futures.push_back(pool.submit(crunch, n));

  int finished = 0;
  int broken = 0;
  for (int n = 10; n < 20; ++n) {
    try {
      (void)futures[n - 10].result(60s);
      ++finished;
    } catch (const cf::BrokenProcessPool& e) {
      ++broken;
      // The others say the pool broke "while running another call".
      if (std::strstr(e.what(), "while running this call") != nullptr) {
        std::printf("input %d: %s\n", n, e.what());
      }
    }
  }
  std::printf("%d calls finished before the crash, %d failed with it\n", finished, broken);

  try {
    (void)pool.submit(crunch, 1);
  } catch (const cf::BrokenProcessPool&) {
    std::puts("submit() after the crash throws BrokenProcessPool too");
  }
  std::puts("the parent process is still running");
}
