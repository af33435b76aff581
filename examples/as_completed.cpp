// Handle results in the order the calls finish, not the order they were submitted.
// Shows as_completed() over tasks that sleep for random times.
#include <chrono>
#include <concurrent/futures.hpp>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

int main() {
  cf::ThreadPoolExecutor pool(5);
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> millis(10, 200);

  std::vector<cf::Future<int>> futures;
  for (int task = 0; task < 5; ++task) {
    const auto nap = std::chrono::milliseconds(millis(rng));
    futures.push_back(pool.submit([task, nap] {
      std::this_thread::sleep_for(nap);
      return task;
    }));
  }

  int finished = 0;
  for (const cf::Future<int>& f : cf::as_completed(futures, 30s)) {
    std::printf("task %d finished (%d of %zu)\n", f.result(), ++finished, futures.size());
  }
}
