// Uses the library through its umbrella header, as a consumer would.
#include <concurrent/futures.hpp>
#include <concurrent/futures/format.hpp>
#include <cstdio>

namespace cf = concurrent::futures;

int main() {
  cf::ThreadPoolExecutor pool(2);
  cf::Future<int> answer = pool.submit([](int a, int b) { return a * b; }, 6, 7);
  std::printf("consumer: %d (concurrent_futures %s)\n", answer.result(),
              CONCURRENT_FUTURES_VERSION_STRING);
  fmt::print("consumer future: {}\n", answer);
  return answer.result() == 42 ? 0 : 1;
}
