// MPIPoolExecutor: the executor interface over MPI ranks, on one machine or across a
// cluster, in the manner of mpi4py.futures.MPIPoolExecutor. Link concurrent::futures_mpi
// (built when CMake finds MPI).
//
//   int square(int x) { return x * x; }
//
//   int main() {                                   // no guard, no MPI_Init
//     cf::MPIPoolExecutor pool;                    // mpirun -n 3 ./app: 2 workers
//     cf::Future<int> f = pool.submit(square, 7);
//     f.result();                                  // 49
//     for (int y : pool.map({.chunksize = 1000}, square, inputs)) ...
//   }
//
// Launch: `mpirun -n N ./app`. Every rank runs the same executable. Before main(), the
// library initializes MPI on every rank (MPI_Init_thread, MPI_THREAD_MULTIPLE); ranks
// 1..N-1 then become workers: they finish the program's static initialization (so
// every function a call may name is registered, as for the process pool's spawned
// workers) and serve calls until rank 0's program ends, never entering main(). Rank 0
// runs main(); its pools take their workers from ranks 1..N-1. No line in main() is
// needed. The library finalizes MPI when rank 0's program exits normally (returning
// from main() or exit()), after telling the workers to exit. Do not call MPI_Init or
// MPI_Finalize yourself in such a program (MPI_Initialized tells you it is up); you
// may use MPI on rank 0 from any thread otherwise. (Ranks become workers only in a
// program that uses MPIPoolExecutor: linking the library alone changes nothing.)
//
// Spawn mode: run without mpirun (`./app`, an MPI singleton) or with `mpirun -n 1`, and
// the pool spawns its workers with MPI_Comm_spawn (max_workers of them, default the
// CPUs this process may use) and ends them at shutdown, as mpi4py does by default.
// Spawning costs a few tenths of a second; launching with mpirun does not. One pool per
// program spawns: a second throws std::runtime_error, because Open MPI 4.1 crashes at
// random when a process spawns again (open-mpi/ompi#12307); launch with mpirun to use
// several pools.
//
// Workers of several pools: a pool claims `max_workers` free worker ranks (default all
// that are free) for its lifetime; pools alive at the same time get disjoint ranks, and
// a rank serves the next pool once the previous one has shut down. A pool that asks for
// more ranks than are free throws std::invalid_argument saying how many are. A worker
// rank keeps what earlier pools' calls and initializers left in its memory.
//
// What crosses: exactly what crosses to a ProcessPoolExecutor (process_pool.hpp): free
// functions, static member functions, captureless lambdas and empty or serializable
// function objects, with cereal-serializable arguments and results, through the same
// entry registry and wire format. Every rank must run the same executable (the same
// build on every machine): a worker checks the build id first and refuses otherwise.
// One message carries at most 2 GiB - 1 byte (MPI's int count): a call or a result that
// encodes larger fails that future with std::length_error.
//
// Dispatch: an idle worker always takes the next call; a busy worker is given more only
// while its calls are short, to save round trips (as the process pool). A call stays
// in the pool, cancellable, until it is sent to a worker.
//
// Failures: an exception thrown by a call reaches result() as the same type for the
// standard and the library's exception types, as RemoteError otherwise (as the process
// pool). A worker that refuses to run calls (another executable) or whose initializer
// throws breaks the pool: pending and running futures fail with BrokenExecutor saying
// why, and later submit() throws it. A worker rank that dies (a signal, exit(), abort())
// ends the whole job under Open MPI's default: mpirun kills every rank, rank 0 included,
// and prints "mpirun noticed that process rank R ... exited on signal S"; no future is
// left waiting because no process is left. `mpirun --enable-recovery` would keep rank 0
// alive, but Open MPI 4.1 (no ULFM) then tells the survivors nothing (a send to the dead
// rank succeeds, a receive from it never ends), so a pool would wait forever for the
// lost calls: the constructor refuses with std::runtime_error under --enable-recovery.
//
// Threads and waiting: one management thread per pool on rank 0 makes all of the pool's
// MPI calls. MPI offers no wait that sleeps in the kernel, so the thread and the workers
// wait in two phases: for 200 us after a message (when the next one is likely to follow
// within microseconds) they poll MPI and yield the CPU between polls, which keeps a
// round trip at a few tens of microseconds; after that they poll less and less often
// (naps from 1 us growing to 1 ms), so that an idle rank costs almost no CPU that an
// oversubscribed machine's other ranks need (about 2% of a core, measured, where a rank
// blocked in MPI_Recv takes all it is given). A submit wakes the management thread at
// once (it naps on a condition variable); with no call in flight it stops polling MPI
// once the 200 us have passed.
//
// Lifetime: the destructor calls shutdown(true). Destroy every pool before main()
// returns (a pool at namespace scope is shut down when rank 0's program exits, before
// MPI is finalized). Calls may be submitted from done-callbacks (they run on the pool's
// management thread).
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "concurrent/futures/detail/max_workers.hpp"
#include "concurrent/futures/map_options.hpp"
#include "concurrent/futures/process_pool.hpp"

namespace concurrent::futures {

// Every member has a default initializer, so that designated initializers naming only
// some members do not trip g++'s -Wmissing-field-initializers.
struct MPIPoolOptions {
  // Launched by mpirun with N > 1 ranks: default every free worker rank (N - 1 for the
  // first pool); more than are free throws std::invalid_argument. Spawn mode: default
  // the CPUs this process may use. 0 throws std::invalid_argument.
  std::optional<std::size_t> max_workers = {};
  // Runs once in each worker rank for this pool, before its first call; if it throws,
  // the pool is broken (BrokenExecutor). Accepts what submit() accepts.
  ProcessInitializer initializer = {};
};

namespace detail {
class MPIPoolCore;
void process_pool_check_open(MPIPoolCore& core);
void process_pool_submit(MPIPoolCore& core, ProcessCall call);
}  // namespace detail

class MPIPoolExecutor {
 public:
  // Claims (or spawns) the workers and sends each the pool's configuration. Throws
  // std::invalid_argument for bad options or too few free ranks, std::runtime_error if
  // MPI cannot provide what the pool needs (spawning failed, a thread level below
  // MPI_THREAD_MULTIPLE, --enable-recovery).
  explicit MPIPoolExecutor(MPIPoolOptions options = {});
  template <std::integral I>
  explicit MPIPoolExecutor(I max_workers)
      : MPIPoolExecutor(MPIPoolOptions{.max_workers = detail::checked_max_workers(max_workers)}) {}
  ~MPIPoolExecutor();

  MPIPoolExecutor(const MPIPoolExecutor&) = delete;
  MPIPoolExecutor& operator=(const MPIPoolExecutor&) = delete;

  // As ProcessPoolExecutor::submit: std::runtime_error after shutdown, BrokenExecutor
  // once the pool is broken; an argument that cannot be serialized fails the future.
  template <class Fn, class... Args>
  auto submit(Fn&& fn, Args&&... args) {
    return detail::submit_process_call(*core_, CallOptions{}, std::forward<Fn>(fn),
                                       std::forward<Args>(args)...);
  }

  // As ProcessPoolExecutor::map: `chunksize` elements travel in one message.
  template <class Fn, class... Iterables>
  requires(!std::is_same_v<std::decay_t<Fn>, MapOptions>) auto map(Fn&& fn,
                                                                   Iterables&&... iterables) {
    return map(MapOptions{}, std::forward<Fn>(fn), std::forward<Iterables>(iterables)...);
  }
  template <class Fn, class... Iterables>
  auto map(const MapOptions& options, Fn&& fn, Iterables&&... iterables) {
    return detail::map_process_calls(core_, options, std::forward<Fn>(fn),
                                     std::forward<Iterables>(iterables)...);
  }

  // Stops accepting work. With `wait`, returns once every submitted call has finished
  // (or was cancelled) and the workers are released (spawned ones have exited). With
  // `cancel_futures`, cancels the calls not yet sent to a worker. Idempotent.
  void shutdown(bool wait = true, bool cancel_futures = false);

  std::size_t max_workers() const noexcept;

 private:
  std::shared_ptr<detail::MPIPoolCore> core_;
};

}  // namespace concurrent::futures
