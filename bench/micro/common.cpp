// The scales and the shared main() of the Google Benchmark binaries (see common.hpp).
#include "micro/common.hpp"

#include <cstdio>
#include <cstring>

namespace bench::micro {

Scale scale_named(const std::string& name) {
  if (name == "smoke") {
    return Scale{
        .tasks = 1000,
        .async_tasks = 100,
        .workers = {2},
        .latency_samples = 20,
        .wait_sizes = {1000},
        .callback_futures = 1000,
        .map_calls = 1000,
        .chunksizes = {1, 16},
        .process_round_trips = 50,
        .process_submits = 500,
        .process_map_items = 20'000,
        .fib_n = 10,
        .process_replacements = 3,
    };
  }
  if (name == "full") {
    return Scale{
        .tasks = 100'000,
        .async_tasks = 100'000,
        .workers = {1, 2, 4, 6, 8},
        .latency_samples = 2000,
        .wait_sizes = {1000, 10'000, 100'000, 1'000'000},
        .callback_futures = 1'000'000,
        .map_calls = 100'000,
        .chunksizes = {1, 4, 16, 64, 256, 1000},
        .process_round_trips = 2000,
        .process_submits = 20'000,
        .process_map_items = 1'000'000,
        .fib_n = 22,
        .process_replacements = 50,
    };
  }
  return Scale{
      .tasks = 100'000,
      .async_tasks = 10'000,
      .workers = {1, 2, 4, 6, 8},
      .latency_samples = 500,
      .wait_sizes = {1000, 10'000, 100'000, 1'000'000},
      .callback_futures = 100'000,
      .map_calls = 10'000,
      .chunksizes = {1, 16, 256, 1000},
      .process_round_trips = 2000,
      .process_submits = 20'000,
      .process_map_items = 1'000'000,
      .fib_n = 18,
      .process_replacements = 20,
  };
}

PendingFutures make_pending(std::int64_t n) {
  PendingFutures pending;
  pending.promises.resize(static_cast<std::size_t>(n));
  pending.futures.reserve(pending.promises.size());
  for (auto& p : pending.promises) pending.futures.push_back(p.get_future());
  return pending;
}

int noop() { return 0; }
int identity(int x) { return x; }

int run_benchmarks(int argc, char** argv, const char* program, void (*register_all)(const Scale&)) {
  std::string scale = "quick";
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    constexpr const char* kFlag = "--cf_scale=";
    if (std::strncmp(argv[i], kFlag, std::strlen(kFlag)) == 0) {
      scale = argv[i] + std::strlen(kFlag);
      if (scale != "smoke" && scale != "quick" && scale != "full") {
        std::fprintf(stderr, "%s: --cf_scale must be smoke, quick or full\n", program);
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
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace bench::micro
