// CPU-bound work three ways: serial std::transform, a thread pool's map, a process pool's
// map (in chunks), each timed; the classic gcd-of-pairs comparison from Python's docs.
#include <algorithm>
#include <chrono>
#include <concurrent/futures/process_pool.hpp>
#include <concurrent/futures/thread_pool.hpp>
#include <cstdint>
#include <cstdio>
#include <utility>
#include <vector>

namespace cf = concurrent::futures;

// Deliberately slow: trial division from the smaller number down.
std::int64_t slow_gcd(std::pair<std::int64_t, std::int64_t> p) {
  for (std::int64_t d = std::min(p.first, p.second); d > 1; --d) {
    if (p.first % d == 0 && p.second % d == 0) return d;
  }
  return 1;
}

template <class F>
double millis(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

int main() {
  std::vector<std::pair<std::int64_t, std::int64_t>> pairs;
  for (std::int64_t i = 0; i < 16; ++i) pairs.emplace_back(1'963'309 + 7 * i, 2'265'973 + 11 * i);

  std::vector<std::int64_t> serial(pairs.size());
  const double serial_ms =
      millis([&] { std::transform(pairs.begin(), pairs.end(), serial.begin(), slow_gcd); });

  std::vector<std::int64_t> threads;
  const double threads_ms = millis([&] {
    cf::ThreadPoolExecutor pool(2);
    for (std::int64_t g : pool.map(slow_gcd, pairs)) threads.push_back(g);
  });

  std::vector<std::int64_t> processes;
  const double processes_ms = millis([&] {
    cf::ProcessPoolExecutor pool(2);  // construction and worker start-up are timed too
    for (std::int64_t g : pool.map({.chunksize = 4}, slow_gcd, pairs)) processes.push_back(g);
  });

  std::printf("serial std::transform:     %8.1f ms\n", serial_ms);
  std::printf("ThreadPoolExecutor map:    %8.1f ms\n", threads_ms);
  std::printf("ProcessPoolExecutor map:   %8.1f ms\n", processes_ms);
  std::printf("results agree: %s\n", serial == threads && serial == processes ? "yes" : "no");
  return serial == threads && serial == processes ? 0 : 1;
}
