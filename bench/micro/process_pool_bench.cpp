// process_pool_bench: every micro-benchmark of ProcessPoolExecutor, the workloads of
// issue 3 for each start method where it matters. Python's ProcessPoolExecutor runs the
// first four in bench/python/process_pool_peer.py (JSON on stdout), and the last two in
// bench/python/micro.py, so each can be put side by side.
//
//   round_trip/<method>        submit(no-op).result() on an idle 1-worker pool; the
//                              p50_us counter is the median of single round trips
//                              (target: at most 30 us)
//   submit_then_results        20,000 no-op submits, then every result, 2 workers
//                              (target: at least 100,000 tasks/s)
//   map_chunked                map over 1,000,000 ints with chunksize 1,000, 2 workers
//                              (target: at least 5x Python's; bytes_per_second counts
//                              the ints' own bytes, 4 out and 4 back per item)
//   start_to_first_result/<m>  construction of a 2-worker pool to its first result
//                              (target for spawn and forkserver: at most 20 ms)
//   latency/cf_process_pool    round trips with the pool let idle 200 µs between them,
//                              as latency/<library> in cf_micro_bench
//   latency/pipe_ping_pong     the floor for that: one byte to another process and back
//                              through two blocking pipes, with the same 200 µs of quiet
//                              (target for the pool: at most 3x this)
//   map/cf_process_pool        map() with a chunksize sweep, as map/cf in cf_micro_bench
//   replacement/<method>       the cost of a crash on a 1-worker pool that replaces its
//                              dead (OnWorkerDeath::replace): from submitting a call that
//                              exits its worker to the next call's result on the new
//                              worker (spawn and forkserver: fork cannot replace)
//
//   process_pool_bench [--cf_scale=smoke|quick|full] [Google Benchmark flags]
//
// Every benchmark uses real time: the work runs in other processes.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "concurrent/futures/process_pool.hpp"
#include "micro/common.hpp"

namespace cf = concurrent::futures;

namespace bench::micro {

namespace {

constexpr cf::StartMethod kStartMethods[] = {cf::StartMethod::fork, cf::StartMethod::spawn,
                                             cf::StartMethod::forkserver};

void round_trip(benchmark::State& state, cf::StartMethod method) {
  cf::ProcessPoolExecutor pool({.max_workers = 1, .start_method = method});
  (void)pool.submit(identity, 0).result();  // the worker is up
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(state.max_iterations));
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(pool.submit(identity, 1).result());
    samples.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(samples.begin(), samples.end());
  state.counters["p50_us"] = samples[samples.size() / 2];
  state.counters["p99_us"] = samples[samples.size() * 99 / 100];
}

void submit_then_results(benchmark::State& state, int submits) {
  cf::ProcessPoolExecutor pool(2);
  (void)pool.submit(identity, 0).result();
  std::vector<cf::Future<int>> futures;
  futures.reserve(static_cast<std::size_t>(submits));
  for (auto _ : state) {
    futures.clear();
    for (int i = 0; i < submits; ++i) futures.push_back(pool.submit(identity, i));
    std::int64_t sum = 0;
    for (auto& f : futures) sum += f.result();
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * submits);
}

void map_chunked(benchmark::State& state, int items) {
  cf::ProcessPoolExecutor pool(2);
  (void)pool.submit(identity, 0).result();
  std::vector<int> inputs(static_cast<std::size_t>(items));
  for (std::size_t i = 0; i < inputs.size(); ++i) inputs[i] = static_cast<int>(i);
  for (auto _ : state) {
    std::int64_t sum = 0;
    for (int y : pool.map({.chunksize = 1000}, identity, inputs)) sum += y;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * items);
  state.SetBytesProcessed(state.iterations() * items * 2 * std::int64_t{sizeof(int)});
}

// Runs in a worker: ends it as a crash would, without a core dump.
int exit_worker() { ::_exit(3); }

void replacement(benchmark::State& state, cf::StartMethod method) {
  cf::ProcessPoolExecutor pool(
      {.max_workers = 1, .start_method = method, .on_worker_death = cf::OnWorkerDeath::replace});
  (void)pool.submit(identity, 0).result();  // the first worker is up
  for (auto _ : state) {
    if (!pool.submit(exit_worker).exception()) state.SkipWithError("the worker did not die");
    benchmark::DoNotOptimize(pool.submit(identity, 1).result());
  }
}

void start_to_first_result(benchmark::State& state, cf::StartMethod method) {
  for (auto _ : state) {
    cf::ProcessPoolExecutor pool({.max_workers = 2, .start_method = method});
    benchmark::DoNotOptimize(pool.submit(identity, 1).result());
    state.PauseTiming();  // shutting the pool down is not part of it
    pool.shutdown(true);
    state.ResumeTiming();
  }
}

// A round trip to a worker process (pipe, serialization, management thread) on a pool
// let idle between calls.
void latency_cf_process_pool(benchmark::State& state, int samples) {
  cf::ProcessPoolExecutor pool(1);
  for (int i = 0; i < 4; ++i) pool.submit(noop).result();
  measure_latency(state, samples, [&] { benchmark::DoNotOptimize(pool.submit(noop).result()); });
}

// Two processes, two blocking pipes, one byte each way: two wake-ups per round trip,
// the least any process pool's round trip can cost.
void latency_pipe_ping_pong(benchmark::State& state, int samples) {
  int to_child[2];
  int to_parent[2];
  if (::pipe(to_child) != 0 || ::pipe(to_parent) != 0) {
    state.SkipWithError("pipe() failed");
    return;
  }
  const pid_t child = ::fork();
  if (child < 0) {
    state.SkipWithError("fork() failed");
    return;
  }
  if (child == 0) {
    // The echo: only the ends it uses stay open, so that it sees end of file once the
    // parent closes its writing end, and the parent sees it go.
    ::close(to_child[1]);
    ::close(to_parent[0]);
    char byte;
    while (::read(to_child[0], &byte, 1) == 1) {
      if (::write(to_parent[1], &byte, 1) != 1) break;
    }
    ::_exit(0);
  }
  ::close(to_child[0]);
  ::close(to_parent[1]);
  bool ok = true;
  measure_latency(state, samples, [&] {
    char byte = 1;
    ok = ok && ::write(to_child[1], &byte, 1) == 1 && ::read(to_parent[0], &byte, 1) == 1;
  });
  ::close(to_child[1]);
  ::close(to_parent[0]);
  ::waitpid(child, nullptr, 0);
  if (!ok) state.SkipWithError("the echo process stopped answering");
}

// map() where chunksize matters: one message per chunk.
void map_cf_process_pool(benchmark::State& state, std::int64_t n) {
  cf::ProcessPoolExecutor pool(2);
  for (int i = 0; i < 4; ++i) pool.submit(noop).result();
  run_map(state, pool, n);
}

void register_all(const Scale& s) {
  using benchmark::RegisterBenchmark;
  for (cf::StartMethod m : kStartMethods) {
    RegisterBenchmark((std::string("round_trip/") + cf::to_string(m)).c_str(), round_trip, m)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond)
        ->Iterations(s.process_round_trips);
  }
  RegisterBenchmark("submit_then_results", submit_then_results, s.process_submits)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  RegisterBenchmark("map_chunked", map_chunked, s.process_map_items)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  for (cf::StartMethod m : kStartMethods) {
    RegisterBenchmark((std::string("start_to_first_result/") + cf::to_string(m)).c_str(),
                      start_to_first_result, m)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  for (cf::StartMethod m : {cf::StartMethod::spawn, cf::StartMethod::forkserver}) {
    RegisterBenchmark(fmt::format("replacement/{}", cf::to_string(m)).c_str(), replacement, m)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(s.process_replacements);
  }
  // The pool and its floor, side by side in one run.
  using Latency = void (*)(benchmark::State&, int);
  for (auto [name, fn] :
       {std::pair<const char*, Latency>{"latency/cf_process_pool", latency_cf_process_pool},
        std::pair<const char*, Latency>{"latency/pipe_ping_pong", latency_pipe_ping_pong}}) {
    RegisterBenchmark(name, fn, std::max(5, s.latency_samples / 5))
        ->UseManualTime()
        ->Iterations(1)
        ->Unit(benchmark::kMicrosecond);
  }
  auto chunks = RegisterBenchmark("map/cf_process_pool", map_cf_process_pool, s.map_calls);
  chunks->ArgName("chunksize")->UseRealTime()->Unit(benchmark::kMillisecond);
  for (auto c : s.chunksizes) chunks->Arg(c);
}

}  // namespace

}  // namespace bench::micro

int main(int argc, char** argv) {
  return bench::micro::run_benchmarks(argc, argv, "process_pool_bench", bench::micro::register_all);
}
