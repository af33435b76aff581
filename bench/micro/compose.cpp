// The composition micro-benchmarks: one then() hop beside a raw done-callback and a
// hand-written continuation through std::promise, one co_await on a done and on a
// pending future, and when_all over n futures (per_future should stay flat as n grows).
#include <coroutine>
#include <cstdint>
#include <future>
#include <vector>

#include "concurrent/futures/coroutine.hpp"
#include "concurrent/futures/future.hpp"
#include "concurrent/futures/wait.hpp"
#include "micro/registry.hpp"

namespace cf = concurrent::futures;

namespace bench::micro {

namespace {

void per_future(benchmark::State& state, std::int64_t n) {
  state.counters["per_future"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
}

// n pending futures (their promises made untimed), then `hop(future, promise)` on each:
// attach the continuation, finish the promise, which runs it.
template <class Hop>
void over_hops(benchmark::State& state, std::int64_t n, Hop hop) {
  for (auto _ : state) {
    state.PauseTiming();
    auto [promises, futures] = make_pending(n);
    state.ResumeTiming();
    for (std::size_t i = 0; i < promises.size(); ++i) hop(futures[i], promises[i]);
    state.PauseTiming();
    futures.clear();
    promises.clear();
    state.ResumeTiming();
  }
  per_future(state, n);
}

void hop_callback(benchmark::State& state, std::int64_t n) {
  std::int64_t sum = 0;
  over_hops(state, n, [&](const cf::Future<int>& f, cf::Promise<int>& p) {
    f.add_done_callback([&sum](const cf::Future<int>& g) { sum += g.result(); });
    p.set_result(1);
  });
  benchmark::DoNotOptimize(sum);
}

void hop_then(benchmark::State& state, std::int64_t n) {
  std::int64_t sum = 0;
  over_hops(state, n, [&](const cf::Future<int>& f, cf::Promise<int>& p) {
    cf::Future<int> next = f.then([](int v) { return v + 1; });
    p.set_result(1);
    sum += next.result();
  });
  benchmark::DoNotOptimize(sum);
}

// What a user writes without then(): a callback that fulfils a std::promise.
void hop_std_promise(benchmark::State& state, std::int64_t n) {
  std::int64_t sum = 0;
  over_hops(state, n, [&](const cf::Future<int>& f, cf::Promise<int>& p) {
    auto next = std::make_shared<std::promise<int>>();
    std::future<int> result = next->get_future();
    f.add_done_callback([next](const cf::Future<int>& g) { next->set_value(g.result() + 1); });
    p.set_result(1);
    sum += result.get();
  });
  benchmark::DoNotOptimize(sum);
}

cf::Future<std::int64_t> await_each(const std::vector<cf::Future<int>>& futures) {
  std::int64_t sum = 0;
  for (const auto& f : futures) sum += co_await f;
  co_return sum;
}

// One coroutine awaits n futures that are already done (no suspension).
void co_await_done(benchmark::State& state, std::int64_t n) {
  cf::Promise<int> done;
  done.set_result(1);
  const std::vector<cf::Future<int>> futures(static_cast<std::size_t>(n), done.get_future());
  for (auto _ : state) benchmark::DoNotOptimize(await_each(futures).result());
  per_future(state, n);
}

// One coroutine awaits n pending futures; this thread finishes each in turn, which
// resumes the coroutine until it suspends on the next.
void co_await_pending(benchmark::State& state, std::int64_t n) {
  for (auto _ : state) {
    state.PauseTiming();
    auto [promises, futures] = make_pending(n);
    state.ResumeTiming();
    cf::Future<std::int64_t> sum = await_each(futures);
    for (auto& p : promises) p.set_result(1);
    benchmark::DoNotOptimize(sum.result());
    state.PauseTiming();
    futures.clear();
    promises.clear();
    state.ResumeTiming();
  }
  per_future(state, n);
}

// when_all over n pending futures, then finishing them all.
void when_all_cf(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<cf::Promise<int>> promises(n);
    std::vector<cf::Future<int>> futures;
    futures.reserve(n);
    for (auto& p : promises) futures.push_back(p.get_future());
    state.ResumeTiming();
    cf::Future<void> all = cf::when_all(futures);
    for (auto& p : promises) p.set_result(0);
    if (!all.done()) state.SkipWithError("when_all did not finish");
    state.PauseTiming();
    futures.clear();
    promises.clear();
    state.ResumeTiming();
  }
  per_future(state, static_cast<std::int64_t>(n));
}

}  // namespace

void register_compose_benchmarks(const Scale& s) {
  struct Named {
    const char* name;
    void (*fn)(benchmark::State&, std::int64_t);
  };
  for (const Named& w :
       {Named{"hop/callback", hop_callback}, Named{"hop/then", hop_then},
        Named{"hop/std_promise", hop_std_promise}, Named{"co_await/done", co_await_done},
        Named{"co_await/pending", co_await_pending}}) {
    benchmark::RegisterBenchmark(w.name, w.fn, s.callback_futures)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  auto* b = benchmark::RegisterBenchmark("when_all/cf", when_all_cf);
  b->ArgName("futures")->UseRealTime()->Unit(benchmark::kMillisecond);
  for (auto n : s.wait_sizes) b->Arg(n);
}

}  // namespace bench::micro
