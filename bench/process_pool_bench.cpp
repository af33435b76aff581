// Micro-benchmarks of ProcessPoolExecutor, the workloads of issue 3, for each start
// method where it matters. Python's ProcessPoolExecutor runs the same workloads in
// bench/python/process_pool_peer.py (JSON on stdout), so the two can be put side by side.
//
//   round_trip/<method>        submit(no-op).result() on an idle 1-worker pool; the
//                              p50_us counter is the median of single round trips
//                              (target: at most 30 us)
//   submit_then_results        20,000 no-op submits, then every result, 2 workers
//                              (target: at least 100,000 tasks/s)
//   map_chunked                map over 1,000,000 ints with chunksize 1,000, 2 workers
//                              (target: at least 5 million items/s)
//   start_to_first_result/<m>  construction of a 2-worker pool to its first result
//                              (target for spawn and forkserver: at most 20 ms)
//
//   process_pool_bench [--cf_scale=smoke|full] [Google Benchmark flags]
//
// Every benchmark uses real time: the work runs in other processes.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "concurrent/futures/process_pool.hpp"

namespace cf = concurrent::futures;

namespace {

int noop(int x) { return x; }

struct Scale {
  int round_trip_samples;
  int submits;
  int map_items;
};
Scale g_scale{2000, 20000, 1000000};

void round_trip(benchmark::State& state, cf::StartMethod method) {
  cf::ProcessPoolExecutor pool({.max_workers = 1, .start_method = method});
  (void)pool.submit(noop, 0).result();  // the worker is up
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(g_scale.round_trip_samples));
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(pool.submit(noop, 1).result());
    samples.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(samples.begin(), samples.end());
  state.counters["p50_us"] = samples[samples.size() / 2];
  state.counters["p99_us"] = samples[samples.size() * 99 / 100];
}

void submit_then_results(benchmark::State& state) {
  cf::ProcessPoolExecutor pool(2);
  (void)pool.submit(noop, 0).result();
  std::vector<cf::Future<int>> futures;
  futures.reserve(static_cast<std::size_t>(g_scale.submits));
  for (auto _ : state) {
    futures.clear();
    for (int i = 0; i < g_scale.submits; ++i) futures.push_back(pool.submit(noop, i));
    std::int64_t sum = 0;
    for (auto& f : futures) sum += f.result();
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * g_scale.submits);
}

void map_chunked(benchmark::State& state) {
  cf::ProcessPoolExecutor pool(2);
  (void)pool.submit(noop, 0).result();
  std::vector<int> inputs(static_cast<std::size_t>(g_scale.map_items));
  for (std::size_t i = 0; i < inputs.size(); ++i) inputs[i] = static_cast<int>(i);
  for (auto _ : state) {
    std::int64_t sum = 0;
    for (int y : pool.map({.chunksize = 1000}, noop, inputs)) sum += y;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * g_scale.map_items);
}

void start_to_first_result(benchmark::State& state, cf::StartMethod method) {
  for (auto _ : state) {
    cf::ProcessPoolExecutor pool({.max_workers = 2, .start_method = method});
    benchmark::DoNotOptimize(pool.submit(noop, 1).result());
    state.PauseTiming();  // shutting the pool down is not part of it
    pool.shutdown(true);
    state.ResumeTiming();
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--cf_scale=smoke") == 0) {
      g_scale = Scale{50, 500, 20000};
    } else if (std::strcmp(argv[i], "--cf_scale=full") != 0) {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  for (cf::StartMethod m :
       {cf::StartMethod::fork, cf::StartMethod::spawn, cf::StartMethod::forkserver}) {
    benchmark::RegisterBenchmark((std::string("round_trip/") + cf::to_string(m)).c_str(),
                                 round_trip, m)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond)
        ->Iterations(g_scale.round_trip_samples);
  }
  benchmark::RegisterBenchmark("submit_then_results", submit_then_results)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("map_chunked", map_chunked)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  for (cf::StartMethod m :
       {cf::StartMethod::fork, cf::StartMethod::spawn, cf::StartMethod::forkserver}) {
    benchmark::RegisterBenchmark((std::string("start_to_first_result/") + cf::to_string(m)).c_str(),
                                 start_to_first_result, m)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&n, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
