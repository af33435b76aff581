// The thread pool against its baselines, each in the same run: submit + result
// throughput, round-trip latency on an idle pool, and map() with a chunksize sweep.
//
//   cf        concurrent::futures ThreadPoolExecutor
//   async     std::async(std::launch::async) and std::future: a thread per call
//   cvpool    a plain mutex + condition-variable pool handing out std::future
//   asio      Boost.Asio thread_pool with std::promise (if Boost was found)
//   tbb       oneTBB task_group in a task_arena, fire-and-forget (if TBB was found)
#include <atomic>
#include <cstdio>
#include <future>
#include <vector>

#include "concurrent/futures/thread_pool.hpp"
#include "micro/common.hpp"
#include "micro/cv_pool.hpp"
#include "micro/registry.hpp"
#if CF_BENCH_HAVE_BOOST
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#endif
#if CF_BENCH_HAVE_TBB
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>
#endif

namespace cf = concurrent::futures;

namespace bench::micro {

namespace {

cf::ThreadPoolExecutor make_cf_pool(int workers) {
  cf::ThreadPoolOptions options;
  options.max_workers = static_cast<std::size_t>(workers);
  return cf::ThreadPoolExecutor(std::move(options));
}

// ---------------------------------------------------------------------------------
// Throughput: submit N no-op calls, then take every result.

void throughput_cf(benchmark::State& state, std::int64_t n) {
  const int workers = static_cast<int>(state.range(0));
  cf::ThreadPoolExecutor pool = make_cf_pool(workers);
  std::vector<cf::Future<int>> futures;
  futures.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < 4 * workers; ++i) pool.submit(noop).result();
  for (auto _ : state) {
    for (std::int64_t i = 0; i < n; ++i) futures.push_back(pool.submit(noop));
    for (auto& f : futures) benchmark::DoNotOptimize(f.result());
    futures.clear();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void throughput_async(benchmark::State& state, std::int64_t n) {
  std::vector<std::future<int>> futures;
  futures.reserve(static_cast<std::size_t>(n));
  for (auto _ : state) {
    for (std::int64_t i = 0; i < n; ++i) futures.push_back(std::async(std::launch::async, noop));
    for (auto& f : futures) benchmark::DoNotOptimize(f.get());
    futures.clear();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void throughput_cvpool(benchmark::State& state, std::int64_t n) {
  CvPool pool(static_cast<int>(state.range(0)));
  std::vector<std::future<int>> futures;
  futures.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < 8; ++i) pool.submit(noop).get();
  for (auto _ : state) {
    for (std::int64_t i = 0; i < n; ++i) futures.push_back(pool.submit(noop));
    for (auto& f : futures) benchmark::DoNotOptimize(f.get());
    futures.clear();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

#if CF_BENCH_HAVE_BOOST
std::future<int> asio_submit(boost::asio::thread_pool& pool) {
  std::promise<int> promise;
  std::future<int> future = promise.get_future();
  boost::asio::post(pool, [promise = std::move(promise)]() mutable { promise.set_value(noop()); });
  return future;
}

void throughput_asio(benchmark::State& state, std::int64_t n) {
  boost::asio::thread_pool pool(static_cast<std::size_t>(state.range(0)));
  std::vector<std::future<int>> futures;
  futures.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < 8; ++i) asio_submit(pool).get();
  for (auto _ : state) {
    for (std::int64_t i = 0; i < n; ++i) futures.push_back(asio_submit(pool));
    for (auto& f : futures) benchmark::DoNotOptimize(f.get());
    futures.clear();
  }
  state.SetItemsProcessed(state.iterations() * n);
  pool.join();
}
#endif

#if CF_BENCH_HAVE_TBB
// oneTBB caps its workers at the CPU count less one unless told otherwise, and warns
// ("the number of workers is currently limited") when an arena asks for more: allow
// what the arena asks for, as the other pools get the workers they are given.
tbb::global_control allow_threads(int threads) {
  return tbb::global_control(tbb::global_control::max_allowed_parallelism,
                             static_cast<std::size_t>(threads));
}

// Fire-and-forget: task_group has no per-call result, so this is a lower bound on what
// a pool that must hand back a future per call can do.
void throughput_tbb(benchmark::State& state, std::int64_t n) {
  const auto allowed = allow_threads(static_cast<int>(state.range(0)));
  tbb::task_arena arena(static_cast<int>(state.range(0)));
  tbb::task_group group;
  std::atomic<std::int64_t> ran{0};
  arena.execute([&] {
    group.run([] {});
    group.wait();
  });
  for (auto _ : state) {
    arena.execute([&] {
      for (std::int64_t i = 0; i < n; ++i) {
        group.run([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
      }
      group.wait();
    });
  }
  benchmark::DoNotOptimize(ran.load());
  state.SetItemsProcessed(state.iterations() * n);
}
#endif

// ---------------------------------------------------------------------------------
// Round-trip latency on an idle pool (measure_latency in common.hpp).

void latency_cf(benchmark::State& state, int samples) {
  cf::ThreadPoolExecutor pool = make_cf_pool(2);
  for (int i = 0; i < 8; ++i) pool.submit(noop).result();
  measure_latency(state, samples, [&] { benchmark::DoNotOptimize(pool.submit(noop).result()); });
}

void latency_async(benchmark::State& state, int samples) {
  measure_latency(state, samples,
                  [] { benchmark::DoNotOptimize(std::async(std::launch::async, noop).get()); });
}

void latency_cvpool(benchmark::State& state, int samples) {
  CvPool pool(2);
  measure_latency(state, samples, [&] { benchmark::DoNotOptimize(pool.submit(noop).get()); });
}

#if CF_BENCH_HAVE_BOOST
void latency_asio(benchmark::State& state, int samples) {
  boost::asio::thread_pool pool(2);
  measure_latency(state, samples, [&] { benchmark::DoNotOptimize(asio_submit(pool).get()); });
  pool.join();
}
#endif

#if CF_BENCH_HAVE_TBB
void latency_tbb(benchmark::State& state, int samples) {
  const auto allowed = allow_threads(2);
  tbb::task_arena arena(2);
  tbb::task_group group;
  std::atomic<int> sink{0};
  measure_latency(state, samples, [&] {
    arena.execute([&] {
      group.run([&sink] { sink.fetch_add(1, std::memory_order_relaxed); });
      group.wait();
    });
  });
}
#endif

// ---------------------------------------------------------------------------------
// map() with a chunksize sweep (the thread pool ignores chunksize, as Python's does;
// the sweep shows that it costs nothing either way), beside the same calls submitted
// one by one.

void map_cf(benchmark::State& state, std::int64_t n) {
  cf::ThreadPoolExecutor pool = make_cf_pool(2);
  for (int i = 0; i < 8; ++i) pool.submit(noop).result();
  run_map(state, pool, n);
}

void map_submit_loop_cf(benchmark::State& state, std::int64_t n) {
  cf::ThreadPoolExecutor pool = make_cf_pool(2);
  for (int i = 0; i < 8; ++i) pool.submit(noop).result();
  std::vector<cf::Future<int>> futures;
  futures.reserve(static_cast<std::size_t>(n));
  for (auto _ : state) {
    for (std::int64_t i = 0; i < n; ++i) futures.push_back(pool.submit(identity, int(i)));
    std::int64_t sum = 0;
    for (auto& f : futures) sum += f.result();
    benchmark::DoNotOptimize(sum);
    futures.clear();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void register_throughput(const Scale& s) {
  using benchmark::RegisterBenchmark;
  auto sweep = [&](benchmark::internal::Benchmark* b) {
    b->ArgName("workers");
    for (int w : s.workers) b->Arg(w);
    b->UseRealTime()->Unit(benchmark::kMillisecond);
  };
  sweep(RegisterBenchmark("throughput/cf", throughput_cf, s.tasks));
  sweep(RegisterBenchmark("throughput/cvpool", throughput_cvpool, s.tasks));
#if CF_BENCH_HAVE_BOOST
  sweep(RegisterBenchmark("throughput/asio", throughput_asio, s.tasks));
#endif
#if CF_BENCH_HAVE_TBB
  sweep(RegisterBenchmark("throughput/tbb", throughput_tbb, s.tasks));
#endif
  RegisterBenchmark("throughput/async", throughput_async, s.async_tasks)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

void register_latency(const Scale& s) {
  using benchmark::RegisterBenchmark;
  auto latency = [](benchmark::internal::Benchmark* b) {
    b->UseManualTime()->Iterations(1)->Unit(benchmark::kMicrosecond);
  };
  latency(RegisterBenchmark("latency/cf", latency_cf, s.latency_samples));
  latency(RegisterBenchmark("latency/cvpool", latency_cvpool, s.latency_samples));
#if CF_BENCH_HAVE_BOOST
  latency(RegisterBenchmark("latency/asio", latency_asio, s.latency_samples));
#endif
#if CF_BENCH_HAVE_TBB
  latency(RegisterBenchmark("latency/tbb", latency_tbb, s.latency_samples));
#endif
  latency(RegisterBenchmark("latency/async", latency_async, s.latency_samples));
}

void register_map(const Scale& s) {
  auto chunks = benchmark::RegisterBenchmark("map/cf", map_cf, s.map_calls);
  chunks->ArgName("chunksize")->UseRealTime()->Unit(benchmark::kMillisecond);
  for (auto c : s.chunksizes) chunks->Arg(c);
  benchmark::RegisterBenchmark("map/cf_submit_loop", map_submit_loop_cf, s.map_calls)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

void register_thread_pool_benchmarks(const Scale& s) {
  register_throughput(s);
  register_latency(s);
  register_map(s);
#if !CF_BENCH_HAVE_BOOST
  std::fprintf(stderr, "cf_micro_bench: Boost not found at configure time: no asio baseline\n");
#endif
#if !CF_BENCH_HAVE_TBB
  std::fprintf(stderr, "cf_micro_bench: oneTBB not found at configure time: no tbb baseline\n");
#endif
}

}  // namespace bench::micro
