// The groups of cf_micro_bench's benchmarks, one file each; main.cpp registers them in
// this order. A new group gets a file here and a line in main.cpp.
#pragma once

#include "micro/common.hpp"

namespace bench::micro {

// thread_pool_vs_baselines.cpp: throughput/*, latency/*, map/* against cvpool, asio,
// tbb and std::async.
void register_thread_pool_benchmarks(const Scale& s);

// futures.cpp: wait/*, as_completed/* and callback/* on bare promises.
void register_future_benchmarks(const Scale& s);

// fork_join.cpp: fork_join/* (fib with nested submits) beside a serial run.
void register_fork_join_benchmarks(const Scale& s);
// compose.cpp: hop/* (then, raw callback, std::promise glue), co_await/*, when_all/*.
void register_compose_benchmarks(const Scale& s);

}  // namespace bench::micro
