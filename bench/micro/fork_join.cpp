// Recursive fork-join: fib(n) where every call submits its two halves to the same pool
// and waits for them, beside the same recursion run serially. It runs only because a
// waiting worker runs the pool's queued calls (thread_pool.hpp, "Waiting inside a
// worker"). The futures-based peers cannot run it at all: in the mutex + condition
// variable pool and in Boost.Asio's thread_pool with std::promise, a worker blocked in
// std::future::get() runs nothing, so once every worker waits on a call still queued
// behind them, the pool deadlocks (with 2 workers, fib(3) already does). oneTBB's
// task_group::wait() helps as this library does, but hands back no futures.
#include <benchmark/benchmark.h>

#include <functional>

#include "concurrent/futures/thread_pool.hpp"
#include "micro/common.hpp"
#include "micro/registry.hpp"

namespace cf = concurrent::futures;

namespace bench::micro {

namespace {

int fib_serial(int n) { return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2); }

int fib_nested(cf::ThreadPoolExecutor& pool, int n) {
  if (n < 2) return n;
  cf::Future<int> a = pool.submit(fib_nested, std::ref(pool), n - 1);
  cf::Future<int> b = pool.submit(fib_nested, std::ref(pool), n - 2);
  return a.result() + b.result();
}

void fork_join_cf(benchmark::State& state, int n) {
  cf::ThreadPoolExecutor pool(static_cast<std::size_t>(state.range(0)));
  const int expected = fib_serial(n);
  for (auto _ : state) {
    if (pool.submit(fib_nested, std::ref(pool), n).result() != expected) {
      state.SkipWithError("fib with nested submits gave a wrong result");
    }
  }
  state.counters["calls"] = 2.0 * fib_serial(n + 1) - 1;  // calls per fib(n)
}

void fork_join_serial(benchmark::State& state, int n) {
  for (auto _ : state) benchmark::DoNotOptimize(fib_serial(n));
}

}  // namespace

void register_fork_join_benchmarks(const Scale& s) {
  benchmark::RegisterBenchmark("fork_join/cf", fork_join_cf, s.fib_n)
      ->ArgName("workers")
      ->Arg(1)
      ->Arg(2)
      ->Arg(4)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("fork_join/serial", fork_join_serial, s.fib_n)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace bench::micro
