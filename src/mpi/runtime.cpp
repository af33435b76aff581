// MPI's lifetime in a program that uses MPIPoolExecutor, the hook that turns ranks
// 1..N-1 into workers before main(), and the bookkeeping of which ranks serve which
// pool.
//
// The hook: a constructor function, run while the executable's static initializers
// run, that acts only when a launcher (mpirun, or MPI_Comm_spawn) started this process
// (its environment says so). It initializes MPI on every rank; rank 0 then goes on to
// main(). Any other rank must not: it finishes static initialization first (every
// initializer after the hook in the executable's .init_array, run by the hook itself,
// exactly as a spawned process-pool worker does; see src/process/worker.cpp), so that
// every entry point and global of the program exists, then serves calls and exits
// without returning to the loader. A copy of this executable started by a
// ProcessPoolExecutor inherits the launcher's environment too; it is recognised and
// left alone (it is a process-pool worker, not a rank).

#include "mpi/runtime.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "concurrent/futures/detail/max_workers.hpp"
#include "process/image.hpp"
#include "process/worker.hpp"

namespace concurrent::futures::detail::mpi {

namespace {

// Set by every launcher we know of (Open MPI's mpirun and spawn, PMIx, Hydra's PMI).
bool started_by_launcher() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"}) {
    if (std::getenv(name) != nullptr) return true;  // NOLINT(concurrency-mt-unsafe)
  }
  return false;
}

bool recovery_enabled() {
  const char* value =
      std::getenv("OMPI_MCA_orte_enable_recovery");  // NOLINT(concurrency-mt-unsafe)
  return value != nullptr && (std::strcmp(value, "1") == 0 || std::strcmp(value, "true") == 0);
}

// MPI as this process uses it. Built by the hook (ranks of an mpirun job) or by the
// first pool (a singleton); destroyed at exit, which finalizes MPI if the library
// initialized it.
class Runtime {
 public:
  Runtime(int* argc, char*** argv) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized == 0) {
      MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &thread_level_);
      owns_mpi_ = true;
    } else {
      MPI_Query_thread(&thread_level_);
    }
    MPI_Comm_get_parent(&parent_);
    if (parent_ == MPI_COMM_NULL) {
      MPI_Comm_dup(MPI_COMM_WORLD, &world_);
      MPI_Comm_size(world_, &size_);
      MPI_Comm_rank(world_, &rank_);
      busy_.assign(static_cast<std::size_t>(size_), false);
      int* tag_ub = nullptr;
      int found = 0;
      MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &tag_ub, &found);
      if (found != 0 && tag_ub != nullptr) tag_ub_ = *tag_ub;
    }
  }
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Rank 0 at exit: pools first (their threads make MPI calls), then the worker ranks
  // are told to exit, then MPI is finalized.
  ~Runtime() {
    if (parent_ != MPI_COMM_NULL || rank_ != 0) return;  // a worker finalizes in the hook
    shutdown_live_pools();
    for (int r = 1; r < size_; ++r) MPI_Send(nullptr, 0, MPI_BYTE, r, kExitTag, world_);
    MPI_Comm_free(&world_);
    std::fflush(nullptr);
    if (owns_mpi_) MPI_Finalize();
  }

  bool is_worker() const { return parent_ != MPI_COMM_NULL || rank_ != 0; }
  MPI_Comm parent() const { return parent_; }
  MPI_Comm world() const { return world_; }

  WorkerSet claim(std::optional<std::size_t> wanted) {
    if (thread_level_ < MPI_THREAD_MULTIPLE) {
      throw std::runtime_error(fmt::format(
          "MPIPoolExecutor needs MPI initialized with MPI_THREAD_MULTIPLE (its thread makes MPI "
          "calls beside the program's), but MPI provides level {}; let the library initialize "
          "MPI, or call MPI_Init_thread with MPI_THREAD_MULTIPLE",
          thread_level_));
    }
    if (recovery_enabled()) {
      throw std::runtime_error(
          "MPIPoolExecutor cannot run under mpirun --enable-recovery: Open MPI 4.1 tells the "
          "surviving ranks nothing when a rank dies, so the calls a dead worker held would "
          "never finish; run without --enable-recovery (a dead rank then ends the whole job)");
    }
    if (size_ > 1) return claim_ranks(wanted);
    return spawn(max_workers_or(wanted, usable_cpus()));
  }

  void release(WorkerSet& set) noexcept {
    if (set.spawned) {
      MPI_Comm_disconnect(&set.comm);
      return;
    }
    std::lock_guard lock(mutex_);
    for (int r : set.ranks) busy_[static_cast<std::size_t>(r)] = false;
  }

 private:
  WorkerSet claim_ranks(std::optional<std::size_t> wanted) {
    std::lock_guard lock(mutex_);
    std::vector<int> free;
    for (int r = 1; r < size_; ++r) {
      if (!busy_[static_cast<std::size_t>(r)]) free.push_back(r);
    }
    const std::size_t n = max_workers_or(wanted, free.empty() ? 1 : free.size());
    if (n > free.size()) {
      throw std::invalid_argument(fmt::format(
          "MPIPoolExecutor: {} workers were asked for, but {} of this job's {} worker ranks {} "
          "free (the others serve pools that are still alive); start the job with more ranks "
          "(mpirun -n {}) or ask for fewer workers",
          n, free.size(), size_ - 1, free.size() == 1 ? "is" : "are",
          static_cast<std::size_t>(size_) + n - free.size()));
    }
    WorkerSet set;
    set.comm = world_;
    set.ranks.assign(free.begin(), free.begin() + static_cast<std::ptrdiff_t>(n));
    for (int r : set.ranks) busy_[static_cast<std::size_t>(r)] = true;
    set.tag = next_tag_;
    next_tag_ = next_tag_ >= tag_ub_ ? kExitTag + 1 : next_tag_ + 1;
    return set;
  }

  WorkerSet spawn(std::size_t n) {
    {
      // Open MPI 4.1 crashes now and then (a segfault in mca_pml_ob1_add_comm) when a
      // process spawns again after it spawned before (open-mpi/ompi#12307): refuse that
      // plainly rather than crash at random.
      std::lock_guard lock(mutex_);
      if (std::exchange(spawned_once_, true)) {
        throw std::runtime_error(
            "MPIPoolExecutor: this program already spawned its workers once, and Open MPI "
            "4.1 crashes at random when a process spawns again (open-mpi/ompi#12307); in "
            "spawn mode keep one pool for the whole program, or launch it with mpirun -n N "
            "so that pools share the job's ranks");
      }
    }
    char exe[PATH_MAX];
    const ssize_t length = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (length <= 0) throw std::runtime_error("MPIPoolExecutor: cannot find its own executable");
    exe[length] = '\0';
    WorkerSet set;
    set.spawned = true;
    std::vector<int> codes(n, MPI_SUCCESS);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    const int rc = MPI_Comm_spawn(exe, MPI_ARGV_NULL, static_cast<int>(n), MPI_INFO_NULL, 0,
                                  MPI_COMM_SELF, &set.comm, codes.data());
    if (rc != MPI_SUCCESS) {
      throw std::runtime_error(fmt::format(
          "MPIPoolExecutor: MPI_Comm_spawn could not start {} workers ({}); launch the program "
          "with mpirun -n {} instead, or allow oversubscription "
          "(OMPI_MCA_rmaps_base_oversubscribe=1)",
          n, error_string(rc), n + 1));
    }
    for (std::size_t i = 0; i < n; ++i) set.ranks.push_back(static_cast<int>(i));
    return set;
  }

  bool owns_mpi_ = false;
  int thread_level_ = MPI_THREAD_SINGLE;
  MPI_Comm parent_ = MPI_COMM_NULL;
  MPI_Comm world_ = MPI_COMM_NULL;
  int size_ = 1;
  int rank_ = 0;
  int tag_ub_ = 32767;  // the least MPI_TAG_UB the standard allows

  std::mutex mutex_;
  std::vector<bool> busy_;  // per rank of world_: claimed by a live pool
  int next_tag_ = kExitTag + 1;
  bool spawned_once_ = false;  // guarded by mutex_; see spawn()
};

Runtime& runtime(int* argc = nullptr, char*** argv = nullptr) {
  static Runtime r(argc, argv);
  return r;
}

__attribute__((constructor)) void mpi_worker_hook(int argc, char** argv, char** envp) {
  if (!started_by_launcher() || started_as_process_worker()) return;
  Runtime& r = runtime(&argc, &argv);
  if (!r.is_worker()) return;  // rank 0: on to main()
  std::string refusal;
  if (in_main_program(reinterpret_cast<const void*>(&mpi_worker_hook))) {
    (void)run_initializers_after(&mpi_worker_hook, argc, argv, envp);
  } else {
    refusal = fmt::format(
        "MPI worker rank (pid {}) cannot run calls: concurrent_futures_mpi is built as a shared "
        "library, so the worker starts before the executable's static initializers, which "
        "register the functions it may run. Link concurrent_futures and concurrent_futures_mpi "
        "as static libraries (the default, BUILD_SHARED_LIBS=OFF)",
        ::getpid());
  }
  const bool spawned = r.parent() != MPI_COMM_NULL;
  serve(spawned ? r.parent() : r.world(), spawned, refusal);
  if (spawned) {
    MPI_Comm parent = r.parent();
    MPI_Comm_disconnect(&parent);
  }
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  MPI_Finalize();
  ::_exit(0);
}

}  // namespace

WorkerSet claim_workers(std::optional<std::size_t> wanted) { return runtime().claim(wanted); }

void release_workers(WorkerSet& set) noexcept { runtime().release(set); }

std::string error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return fmt::format("error {}", code);
  return std::string(text, static_cast<std::size_t>(length));
}

}  // namespace concurrent::futures::detail::mpi
