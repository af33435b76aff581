// The futures micro-benchmarks: wait() and as_completed() over n futures beside waiting
// on each std::future, and the cost of a done-callback.
#include <future>
#include <thread>
#include <vector>

#include "concurrent/futures/future.hpp"
#include "concurrent/futures/wait.hpp"
#include "micro/registry.hpp"

namespace cf = concurrent::futures;

namespace bench::micro {

namespace {

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
    auto [promises, futures] = make_pending(n);
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

}  // namespace

void register_future_benchmarks(const Scale& s) {
  struct Named {
    const char* name;
    void (*fn)(benchmark::State&);
  };
  for (const Named& w : {Named{"wait/cf", wait_cf}, Named{"wait/std", wait_std},
                         Named{"as_completed/cf", as_completed_cf}}) {
    auto* b = benchmark::RegisterBenchmark(w.name, w.fn);
    b->ArgName("futures")->UseRealTime()->Unit(benchmark::kMillisecond);
    for (auto n : s.wait_sizes) b->Arg(n);
  }

  benchmark::RegisterBenchmark("callback/cf", callback_cf, s.callback_futures)
      ->ArgName("callbacks")
      ->Arg(0)
      ->Arg(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace bench::micro
