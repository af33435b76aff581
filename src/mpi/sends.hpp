// Messages on their way out with MPI_Isend, each kept until its send completes: the pool's
// calls to its workers (pool.cpp) and a worker's results to the pool (worker.cpp). Private
// to concurrent_futures_mpi; one thread only (the one that makes the process's MPI calls).
//
// Completion is tested with one MPI_Testsome over every outstanding send, not one
// MPI_Test each: each test that finds a send unfinished drives Open MPI's progress engine
// once more, and a pool keeps several calls in flight. The buffers of completed sends are
// kept for later messages, so that a steady stream of messages allocates nothing.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace concurrent::futures::detail::mpi {

class Sends {
 public:
  Sends() = default;
  Sends(const Sends&) = delete;
  Sends& operator=(const Sends&) = delete;

  // The next message: encode it here, then start() sends it. Empty after start() (its
  // storage is that of an earlier message); until then it keeps what was written.
  std::string& next() { return *next_; }
  // Starts sending next() to `rank` of `comm` on `tag`, keeping it until that completes.
  void start(int rank, int tag, MPI_Comm comm);
  // Forgets the sends that have completed; true if any had.
  bool progress();
  // Completes sends until at most `left` are outstanding (0: all of them), spinning and
  // then napping between tests (wait.hpp's Backoff).
  void complete(std::size_t left);

  std::size_t size() const { return requests_.size(); }
  bool empty() const { return requests_.empty(); }

 private:
  std::vector<MPI_Request> requests_;
  // buffers_[i] is what requests_[i] sends. Behind a pointer: MPI holds the address of
  // the bytes, which a std::string keeps inline when it is short, and these move.
  std::vector<std::unique_ptr<std::string>> buffers_;
  std::unique_ptr<std::string> next_ = std::make_unique<std::string>();
  std::vector<std::unique_ptr<std::string>> spare_;  // of completed sends, emptied
  std::vector<int> completed_;                       // MPI_Testsome's answer
};

}  // namespace concurrent::futures::detail::mpi
