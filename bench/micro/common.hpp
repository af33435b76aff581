// What the Google Benchmark binaries (cf_micro_bench, process_pool_bench) share: the
// sizes of each scale, the no-op calls they time, the latency and map() loops both
// executors run, and a main() that takes --cf_scale=smoke|quick|full.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "concurrent/futures/future.hpp"
#include "concurrent/futures/map_options.hpp"

namespace bench::micro {

// The sizes of one scale. The throughput target (issue 2) is stated for 100,000 tasks on
// 2 workers; quick keeps that and trims the rest.
struct Scale {
  std::int64_t tasks;        // per throughput iteration
  std::int64_t async_tasks;  // std::async starts a thread per call: fewer
  std::vector<int> workers;
  int latency_samples;  // round trips per latency iteration
  std::vector<std::int64_t> wait_sizes;
  std::int64_t callback_futures;
  std::int64_t map_calls;
  std::vector<std::int64_t> chunksizes;
  // process_pool_bench's own workloads
  int process_round_trips;   // iterations of round_trip/<method>
  int process_submits;       // per submit_then_results iteration
  int process_map_items;     // per map_chunked iteration
  int fib_n;                 // fork_join/*: fib(fib_n) with nested submits
  int process_replacements;  // iterations of replacement/<method>: a crash and a result each
};

Scale scale_named(const std::string& name);

// n pending futures and the promises that finish them, for rows that time what happens
// once they finish (made while the timing is paused).
struct PendingFutures {
  std::vector<concurrent::futures::Promise<int>> promises;
  std::vector<concurrent::futures::Future<int>> futures;
};
PendingFutures make_pending(std::int64_t n);

int noop();
int identity(int x);

// Parses --cf_scale (exit status 2 for a bad one), registers the benchmarks for that
// scale with `register_all`, and runs them with Google Benchmark's own flags.
int run_benchmarks(int argc, char** argv, const char* program, void (*register_all)(const Scale&));

// Round-trip latency on an idle pool: one call, wait for its result, let the pool go
// idle again (200 µs), repeat. Only the round trips are timed (manual time); the
// counters give the median and the 99th percentile of the individual round trips.
template <class RoundTrip>
void measure_latency(benchmark::State& state, int samples, RoundTrip round_trip) {
  std::vector<double> seconds;
  seconds.reserve(static_cast<std::size_t>(samples) * 16);
  for (auto _ : state) {
    double total = 0;
    for (int i = 0; i < samples; ++i) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      const auto t0 = std::chrono::steady_clock::now();
      round_trip();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      seconds.push_back(s);
      total += s;
    }
    state.SetIterationTime(total / samples);
  }
  std::sort(seconds.begin(), seconds.end());
  if (seconds.empty()) return;
  state.counters["p50_us"] = seconds[seconds.size() / 2] * 1e6;
  state.counters["p99_us"] = seconds[(seconds.size() - 1) * 99 / 100] * 1e6;
}

// map(identity) over n ints with chunksize state.range(0): the same loop for either
// executor, since generic code runs on both.
template <class Executor>
void run_map(benchmark::State& state, Executor& pool, std::int64_t n) {
  std::vector<int> inputs(static_cast<std::size_t>(n));
  std::iota(inputs.begin(), inputs.end(), 0);
  concurrent::futures::MapOptions options;
  options.chunksize = state.range(0);
  for (int y : pool.map(options, identity, inputs)) benchmark::DoNotOptimize(y);  // warm-up
  for (auto _ : state) {
    std::int64_t sum = 0;
    for (int y : pool.map(options, identity, inputs)) sum += y;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * n);
}

}  // namespace bench::micro
