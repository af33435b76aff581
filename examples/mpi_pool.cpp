// MPIPoolExecutor: the same submit and map as the other executors, with the workers on
// MPI ranks. Run it as `mpirun -n 3 ./example_mpi_pool`: rank 0 runs main(), ranks 1
// and 2 serve its calls (no guard in main() is needed), on one machine or several.
#include <unistd.h>

#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "concurrent/futures.hpp"
#include "concurrent/futures/mpi_pool.hpp"

namespace cf = concurrent::futures;

// Runs on a worker rank: says which process it ran in.
std::string hello(int n) {
  return "call " + std::to_string(n) + " ran in pid " + std::to_string(::getpid());
}

long long sum_of_squares(int from, int to) {
  long long sum = 0;
  for (long long i = from; i < to; ++i) sum += i * i;
  return sum;
}

int checked_sqrt(int x) {
  if (x < 0) throw std::domain_error("no square root of " + std::to_string(x));
  int r = 0;
  while ((r + 1) * (r + 1) <= x) ++r;
  return r;
}

int main() {
  cf::MPIPoolExecutor pool;
  std::printf("rank 0 (pid %d) has %zu workers\n", static_cast<int>(::getpid()),
              pool.max_workers());

  cf::Future<std::string> f = pool.submit(hello, 1);
  std::printf("%s\n", f.result().c_str());

  // map: 100 ranges of 10,000 numbers, 10 ranges per message.
  std::vector<int> from, to;
  for (int i = 0; i < 100; ++i) {
    from.push_back(i * 10000);
    to.push_back((i + 1) * 10000);
  }
  long long total = 0;
  for (long long part : pool.map({.chunksize = 10}, sum_of_squares, from, to)) total += part;
  std::printf("sum of squares below 1000000: %lld (expected %lld)\n", total,
              sum_of_squares(0, 1000000));

  // A worker's exception comes back as the same standard type.
  try {
    (void)pool.submit(checked_sqrt, -4).result();
  } catch (const std::domain_error& e) {
    std::printf("domain_error from a worker: %s\n", e.what());
  }
  pool.shutdown();
  std::printf("shut down\n");
}
