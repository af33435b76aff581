// A worker rank that dies: under Open MPI's default, mpirun ends the whole job and says
// which rank died and how. tests/mpi_tests.cmake runs this under mpirun -n 3 and checks
// mpirun's message; the test's timeout proves that nothing hangs.
#include <csignal>
#include <cstdio>

#include "concurrent/futures.hpp"
#include "concurrent/futures/mpi_pool.hpp"

namespace cf = concurrent::futures;

int die(int) {
  std::raise(SIGKILL);
  return 0;
}

int main() {
  cf::MPIPoolExecutor pool;
  std::printf("submitting a call that kills its worker rank\n");
  std::fflush(stdout);
  try {
    (void)pool.submit(die, 0).result(std::chrono::seconds(30));
    std::printf("the call returned: not expected\n");
  } catch (const std::exception& e) {
    std::printf("rank 0 is still alive (%s): not expected\n", e.what());
  }
  return 1;
}
