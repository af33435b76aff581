// The scales and the shared main() of the Google Benchmark binaries (see common.hpp).
#include "micro/common.hpp"

#include <cstdio>
#include <cstring>

namespace bench::micro {

Scale scale_named(const std::string& name) {
  if (name == "smoke") {
    return {1000, 100, {2}, 20, {1000}, 1000, 1000, {1, 16}, 50, 500, 20'000, 10, 3};
  }
  if (name == "full") {
    return {100'000,
            100'000,
            {1, 2, 4, 6, 8},
            2000,
            {1000, 10'000, 100'000, 1'000'000},
            1'000'000,
            100'000,
            {1, 4, 16, 64, 256, 1000},
            2000,
            20'000,
            1'000'000,
            22,
            50};
  }
  return {100'000,
          10'000,
          {1, 2, 4, 6, 8},
          500,
          {1000, 10'000, 100'000, 1'000'000},
          100'000,
          10'000,
          {1, 16, 256, 1000},
          2000,
          20'000,
          1'000'000,
          18,
          20};
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
