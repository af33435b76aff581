// MPIPoolExecutor beside ProcessPoolExecutor, in one run on the same machine: the round
// trip of one small call, 20,000 single submits, and map over 1,000,000 ints with
// chunksize 1000. Run under `mpirun -n 3` (two worker ranks; the process pool gets two
// workers too). Prints one line per measurement, `<measure> <pool> <value>`, medians of
// several repetitions; bench/mpi/run.sh puts them beside mpi4py.futures'.
//
//   mpi_pool_bench [REPETITIONS]     the sizes above
//   mpi_pool_bench --smoke           tiny sizes, once (the ctest smoke run)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "concurrent/futures.hpp"
#include "concurrent/futures/mpi_pool.hpp"

namespace cf = concurrent::futures;
using Clock = std::chrono::steady_clock;

namespace {

int identity(int x) { return x; }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Microseconds per round trip (submit, then result, one call at a time).
struct Sizes {
  int reps = 5;
  int round_trips = 2000;
  int submits = 20000;
  int map_elements = 1000000;
};

template <class Pool>
double round_trip_us(Pool& pool, int calls) {
  for (int i = 0; i < std::min(calls, 200); ++i) (void)pool.submit(identity, i).result();
  const auto start = Clock::now();
  for (int i = 0; i < calls; ++i) (void)pool.submit(identity, i).result();
  return seconds_since(start) * 1e6 / calls;
}

// Calls per second: `calls` submits, then every result.
template <class Pool>
double submits_per_second(Pool& pool, int calls) {
  std::vector<cf::Future<int>> fs;
  fs.reserve(static_cast<std::size_t>(calls));
  const auto start = Clock::now();
  for (int i = 0; i < calls; ++i) fs.push_back(pool.submit(identity, i));
  long long sum = 0;
  for (auto& f : fs) sum += f.result();
  const double s = seconds_since(start);
  if (sum != static_cast<long long>(calls) * (calls - 1) / 2) std::abort();
  return calls / s;
}

// Elements per second of map() over `n` ints, chunksize 1000.
template <class Pool>
double map_per_second(Pool& pool, const std::vector<int>& in) {
  const auto start = Clock::now();
  long long sum = 0;
  for (int y : pool.map(cf::MapOptions{.chunksize = 1000}, identity, in)) sum += y;
  const double s = seconds_since(start);
  if (sum != static_cast<long long>(in.size()) * (static_cast<long long>(in.size()) - 1) / 2) {
    std::abort();
  }
  return static_cast<double>(in.size()) / s;
}

template <class Pool>
void measure(const char* name, Pool& pool, const Sizes& sizes) {
  std::vector<double> rt, submits, map;
  std::vector<int> in(static_cast<std::size_t>(sizes.map_elements));
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int>(i);
  for (int r = 0; r < sizes.reps; ++r) {
    rt.push_back(round_trip_us(pool, sizes.round_trips));
    submits.push_back(submits_per_second(pool, sizes.submits));
    map.push_back(map_per_second(pool, in));
  }
  std::printf("round_trip_us %s %.2f\n", name, median(rt));
  std::printf("submits_per_s %s %.0f\n", name, median(submits));
  std::printf("map_per_s %s %.0f\n", name, median(map));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Sizes sizes;
  if (argc > 1 && std::string(argv[1]) == "--smoke") {
    sizes = Sizes{.reps = 1, .round_trips = 20, .submits = 200, .map_elements = 20000};
  } else if (argc > 1) {
    sizes.reps = std::max(1, std::atoi(argv[1]));
  }
  {
    cf::MPIPoolExecutor pool;
    measure("MPIPoolExecutor", pool, sizes);
  }
  {
    cf::ProcessPoolExecutor pool(2);
    measure("ProcessPoolExecutor", pool, sizes);
  }
}
