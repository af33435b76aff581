// The experiments' task bodies (free functions with serializable arguments, so the
// process pool takes them) and one way to run a batch of calls on either executor.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "concurrent/futures/process_pool.hpp"
#include "concurrent/futures/thread_pool.hpp"
#include "concurrent/futures/timeline.hpp"
#include "runner/util.hpp"

namespace bench {

std::uint64_t busy_task(std::uint64_t n);  // bench::busy_sum
int idle_task(double seconds);             // bench::idle
double compute_task(std::uint64_t n);      // bench::cos_steps
std::uint64_t fetch_task(int port);        // one GET of /page from the loopback server

enum class Pool { threads, processes };

inline const char* pool_name(Pool p) { return p == Pool::threads ? "threads" : "processes"; }

// Runs `count` calls of fn(arg) on a fresh pool of `workers` (creation and shutdown
// included in the wall time, as `with Executor() as ex:` in Python); returns the wall
// time. The timeline, if given, records every call.
template <class Fn, class Arg>
double run_on_pool(Pool pool, int workers, int count, Fn fn, Arg arg,
                   const std::shared_ptr<concurrent::futures::Timeline>& timeline) {
  namespace cf = concurrent::futures;
  const auto t0 = Clock::now();
  if (pool == Pool::threads) {
    cf::ThreadPoolOptions options;
    options.max_workers = static_cast<std::size_t>(workers);
    options.timeline = timeline;
    cf::ThreadPoolExecutor executor(std::move(options));
    std::vector<decltype(executor.submit(fn, arg))> futures;
    futures.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) futures.push_back(executor.submit(fn, arg));
    for (auto& f : futures) f.result();
  } else {
    cf::ProcessPoolOptions options;
    options.max_workers = static_cast<std::size_t>(workers);
    options.timeline = timeline;
    cf::ProcessPoolExecutor executor(std::move(options));
    std::vector<decltype(executor.submit(fn, arg))> futures;
    futures.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) futures.push_back(executor.submit(fn, arg));
    for (auto& f : futures) f.result();
  }
  return seconds_since(t0);
}

}  // namespace bench
