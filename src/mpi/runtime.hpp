// MPI for MPIPoolExecutor beyond one pool: initializing and finalizing MPI, turning
// ranks into workers before main(), and handing out workers to pools. Private to
// concurrent_futures_mpi.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace concurrent::futures::detail::mpi {

// Tags on the communicators the library owns. Rank 0 tells a worker rank that the
// program is ending with kExitTag; each pool talks to its workers on a tag of its own.
inline constexpr int kExitTag = 0;

// The workers a pool talks to.
struct WorkerSet {
  MPI_Comm comm = MPI_COMM_NULL;  // the library's copy of MPI_COMM_WORLD, or an
                                  // intercommunicator to spawned workers
  std::vector<int> ranks;         // the workers' ranks in `comm`
  int tag = 1;                    // the pool's tag
  bool spawned = false;
};

// Rank 0: initializes MPI if that has not happened yet, and claims `wanted` workers
// (default: every free worker rank of an mpirun job; in a singleton, that many spawned
// processes, default the usable CPUs). Throws std::invalid_argument (too few free
// ranks) or std::runtime_error (MPI cannot support a pool, spawning failed).
WorkerSet claim_workers(std::optional<std::size_t> wanted);

// Called by the pool's thread once every worker of `set` was sent a stop: spawned
// workers are disconnected, worker ranks are free for the next pool.
void release_workers(WorkerSet& set) noexcept;

// Rank 0 at exit, before MPI is finalized (pool.cpp): shuts down every pool still
// alive and waits for it, so that no pool thread makes MPI calls after MPI_Finalize.
void shutdown_live_pools() noexcept;

// The text of an MPI error code.
std::string error_string(int code);

// Worker side (worker.cpp): serves pools on `comm`, whose rank 0 is the program's rank
// 0, until told to exit (a spawned worker: until its pool stops). `refusal`, if not
// empty, is why this worker cannot run calls; it is sent to every pool that configures
// it. Never throws.
void serve(MPI_Comm comm, bool spawned, const std::string& refusal) noexcept;

}  // namespace concurrent::futures::detail::mpi
