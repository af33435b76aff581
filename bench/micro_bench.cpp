// Micro-benchmarks of the thread pool, futures, wait() and as_completed(), each beside
// its baselines in the same run, in the manner of Taskflow's benchmarks/<workload>/:
//
//   cf        concurrent::futures (ThreadPoolExecutor, Future, Promise)
//   async     std::async(std::launch::async) and std::future: a thread per call
//   cvpool    a plain mutex + condition-variable pool handing out std::future
//   asio      Boost.Asio thread_pool with std::promise (if Boost was found)
//   tbb       oneTBB task_group in a task_arena, fire-and-forget (if TBB was found)
//
// Python's ThreadPoolExecutor runs the same workloads in bench/python/micro.py; the runner
// (bench/experiments.cpp) puts the two side by side and prints the ratios.
//
//   cf_micro_bench [--cf_scale=smoke|quick|full] [Google Benchmark flags]
//
// Every benchmark uses real time (the work runs on other threads). Names read
// <workload>/<library>/<parameter>:<value>.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "concurrent/futures/thread_pool.hpp"
#include "concurrent/futures/wait.hpp"

#include "concurrent/futures/process_pool.hpp"
#if CF_BENCH_HAVE_BOOST
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#endif
#if CF_BENCH_HAVE_TBB
#include <tbb/task_arena.h>
#include <tbb/task_group.h>
#endif

namespace cf = concurrent::futures;

namespace {

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
};

Scale scale_named(const std::string& name) {
  if (name == "smoke") return {1000, 100, {2}, 20, {1000}, 1000, 1000, {1, 16}};
  if (name == "full") {
    return {100'000,   100'000, {1, 2, 4, 8},       2000, {1000, 10'000, 100'000, 1'000'000},
            1'000'000, 100'000, {1, 4, 16, 64, 256}};
  }
  return {100'000, 10'000, {1, 2, 4},   500, {1000, 10'000, 100'000, 1'000'000},
          100'000, 10'000, {1, 16, 256}};
}

int noop() { return 0; }

// ---------------------------------------------------------------------------------
// Baseline: the plain pool everybody writes first. One mutex, one condition variable,
// one deque of packaged tasks; workers sleep on the condition variable when idle.
class CvPool {
 public:
  explicit CvPool(int workers) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
  }
  ~CvPool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  std::future<int> submit(int (*fn)()) {
    std::packaged_task<int()> task(fn);
    std::future<int> future = task.get_future();
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
    return future;
  }

 private:
  void work() {
    for (;;) {
      std::packaged_task<int()> task;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<int()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

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
// Fire-and-forget: task_group has no per-call result, so this is a lower bound on what
// a pool that must hand back a future per call can do.
void throughput_tbb(benchmark::State& state, std::int64_t n) {
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

int identity(int x) { return x; }

// The same map() loop for either executor: generic code runs on both.
template <class Executor>
void run_map(benchmark::State& state, Executor& pool, std::int64_t n) {
  std::vector<int> inputs(static_cast<std::size_t>(n));
  std::iota(inputs.begin(), inputs.end(), 0);
  cf::MapOptions options;
  options.chunksize = state.range(0);
  for (int y : pool.map(options, identity, inputs)) benchmark::DoNotOptimize(y);  // warm-up
  for (auto _ : state) {
    std::int64_t sum = 0;
    for (int y : pool.map(options, identity, inputs)) sum += y;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * n);
}

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

// The process pool: a round trip to a worker process (pipe, serialization, management
// thread), and map() where chunksize matters: one message per chunk.
void latency_cf_process_pool(benchmark::State& state, int samples) {
  cf::ProcessPoolExecutor pool(1);
  for (int i = 0; i < 4; ++i) pool.submit(noop).result();
  measure_latency(state, samples, [&] { benchmark::DoNotOptimize(pool.submit(noop).result()); });
}

void map_cf_process_pool(benchmark::State& state, std::int64_t n) {
  cf::ProcessPoolExecutor pool(2);
  for (int i = 0; i < 4; ++i) pool.submit(noop).result();
  run_map(state, pool, n);
}

// ---------------------------------------------------------------------------------
// wait() and as_completed() over n futures that another thread completes in order
// while the caller waits. The per_future counter (seconds per future) should stay
// roughly flat as n grows 1000-fold: the cost is linear.

void complete(cf::Promise<int>& p) { p.set_result(0); }
void complete(std::promise<int>& p) { p.set_value(0); }

// n promises of type P, completed in order by another thread while `body` waits on
// their futures.
template <class P, class Body>
void over_n_futures(benchmark::State& state, Body body) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<P> promises(n);
    std::vector<decltype(promises.front().get_future())> futures;
    futures.reserve(n);
    for (auto& p : promises) futures.push_back(p.get_future());
    state.ResumeTiming();
    std::thread setter([&] {
      for (auto& p : promises) complete(p);
    });
    body(futures);
    setter.join();
    state.PauseTiming();
    futures.clear();
    promises.clear();
    state.ResumeTiming();
  }
  state.counters["per_future"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
}

void wait_cf(benchmark::State& state) {
  over_n_futures<cf::Promise<int>>(state, [&](const std::vector<cf::Future<int>>& futures) {
    auto [done, not_done] = cf::wait(futures);
    if (!not_done.empty()) state.SkipWithError("wait returned early");
    benchmark::DoNotOptimize(done.size());
  });
}

void as_completed_cf(benchmark::State& state) {
  over_n_futures<cf::Promise<int>>(state, [&](const std::vector<cf::Future<int>>& futures) {
    std::size_t seen = 0;
    for (const auto& f : cf::as_completed(futures)) {
      benchmark::DoNotOptimize(&f);
      ++seen;
    }
    if (seen != futures.size()) state.SkipWithError("as_completed lost futures");
  });
}

// The standard library has no wait-for-all: waiting on each std::future in turn is it.
void wait_std(benchmark::State& state) {
  over_n_futures<std::promise<int>>(state, [](std::vector<std::future<int>>& futures) {
    for (auto& f : futures) f.wait();
  });
}

// ---------------------------------------------------------------------------------
// Done-callback overhead: per future, add k callbacks, then finish it (which runs them).
// Compare k = 1 with k = 0 for the cost of one callback.

void callback_cf(benchmark::State& state, std::int64_t n) {
  const int k = static_cast<int>(state.range(0));
  std::int64_t calls = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<cf::Promise<int>> promises(static_cast<std::size_t>(n));
    std::vector<cf::Future<int>> futures;
    futures.reserve(promises.size());
    for (auto& p : promises) futures.push_back(p.get_future());
    state.ResumeTiming();
    for (std::size_t i = 0; i < promises.size(); ++i) {
      for (int c = 0; c < k; ++c) futures[i].add_done_callback([&calls](const auto&) { ++calls; });
      promises[i].set_result(0);
    }
    state.PauseTiming();
    futures.clear();
    promises.clear();
    state.ResumeTiming();
  }
  benchmark::DoNotOptimize(calls);
  state.counters["per_future"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
}

void register_all(const Scale& s) {
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
  latency(RegisterBenchmark("latency/cf_process_pool", latency_cf_process_pool,
                            std::max(5, s.latency_samples / 5)));

  auto chunks = RegisterBenchmark("map/cf", map_cf, s.map_calls);
  chunks->ArgName("chunksize")->UseRealTime()->Unit(benchmark::kMillisecond);
  for (auto c : s.chunksizes) chunks->Arg(c);
  auto process_chunks = RegisterBenchmark("map/cf_process_pool", map_cf_process_pool, s.map_calls);
  process_chunks->ArgName("chunksize")->UseRealTime()->Unit(benchmark::kMillisecond);
  for (auto c : s.chunksizes) process_chunks->Arg(c);
  RegisterBenchmark("map/cf_submit_loop", map_submit_loop_cf, s.map_calls)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);

  struct Named {
    const char* name;
    void (*fn)(benchmark::State&);
  };
  for (const Named& w : {Named{"wait/cf", wait_cf}, Named{"wait/std", wait_std},
                         Named{"as_completed/cf", as_completed_cf}}) {
    auto* b = RegisterBenchmark(w.name, w.fn);
    b->ArgName("futures")->UseRealTime()->Unit(benchmark::kMillisecond);
    for (auto n : s.wait_sizes) b->Arg(n);
  }

  RegisterBenchmark("callback/cf", callback_cf, s.callback_futures)
      ->ArgName("callbacks")
      ->Arg(0)
      ->Arg(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  std::string scale = "quick";
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    constexpr const char* kFlag = "--cf_scale=";
    if (std::strncmp(argv[i], kFlag, std::strlen(kFlag)) == 0) {
      scale = argv[i] + std::strlen(kFlag);
      if (scale != "smoke" && scale != "quick" && scale != "full") {
        std::fprintf(stderr, "cf_micro_bench: --cf_scale must be smoke, quick or full\n");
        return 2;
      }
    } else {
      args.push_back(argv[i]);
    }
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 2;
  register_all(scale_named(scale));
  benchmark::AddCustomContext("cf_scale", scale);
#if !CF_BENCH_HAVE_BOOST
  std::fprintf(stderr, "cf_micro_bench: Boost not found at configure time: no asio baseline\n");
#endif
#if !CF_BENCH_HAVE_TBB
  std::fprintf(stderr, "cf_micro_bench: oneTBB not found at configure time: no tbb baseline\n");
#endif
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
