// Wait until the first of several calls finishes, then go on without the others.
// Shows wait() with FIRST_COMPLETED and a timeout, and structured bindings on its result.
#include <chrono>
#include <concurrent/futures.hpp>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

int main() {
  cf::ThreadPoolExecutor pool(3);

  // Three mirrors of one file; one of them answers much faster than the others.
  struct Mirror {
    const char* name;
    std::chrono::milliseconds latency;
  };
  const Mirror mirrors[] = {{"mirror-a", 1000ms}, {"mirror-b", 10ms}, {"mirror-c", 1000ms}};
  std::vector<cf::Future<std::string>> downloads;
  for (const Mirror& mirror : mirrors) {
    downloads.push_back(pool.submit([mirror] {
      std::this_thread::sleep_for(mirror.latency);  // stands in for a download
      return std::string(mirror.name);
    }));
  }

  auto [done, not_done] = cf::wait(downloads, 30s, cf::FIRST_COMPLETED);
  std::printf("first done: %s\n", done.front().result().c_str());
  std::printf("done: %zu, not done: %zu\n", done.size(), not_done.size());
}
