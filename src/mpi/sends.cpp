// Messages on their way out (sends.hpp).
#include "mpi/sends.hpp"

#include <utility>

#include "mpi/wait.hpp"

namespace concurrent::futures::detail::mpi {

namespace {

// A completed send's buffer is kept for a later message only up to this capacity: a
// larger one (a call with large arguments) is freed rather than held as long as the pool
// or the worker lives. Larger: more such messages reuse their storage; smaller: more
// ordinary ones (a map() chunk of small values takes kilobytes) allocate again.
constexpr std::size_t kKeptBufferBytes = std::size_t{1} << 20;

}  // namespace

void Sends::start(int rank, int tag, MPI_Comm comm) {
  std::string& bytes = *next_;
  requests_.push_back(MPI_REQUEST_NULL);
  MPI_Isend(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, rank, tag, comm,
            &requests_.back());
  buffers_.push_back(std::move(next_));
  if (spare_.empty()) {
    next_ = std::make_unique<std::string>();
  } else {
    next_ = std::move(spare_.back());
    spare_.pop_back();
  }
}

bool Sends::progress() {
  if (requests_.empty()) return false;
  completed_.resize(requests_.size());
  int count = 0;
  MPI_Testsome(static_cast<int>(requests_.size()), requests_.data(), &count, completed_.data(),
               MPI_STATUSES_IGNORE);
  if (count <= 0) return false;  // none completed (MPI_UNDEFINED: none were active)
  // Completed requests are MPI_REQUEST_NULL now: keep the others, in order.
  std::size_t kept = 0;
  for (std::size_t i = 0; i < requests_.size(); ++i) {
    if (requests_[i] == MPI_REQUEST_NULL) {
      if (buffers_[i]->capacity() <= kKeptBufferBytes) {
        buffers_[i]->clear();
        spare_.push_back(std::move(buffers_[i]));
      }
      continue;
    }
    requests_[kept] = requests_[i];
    buffers_[kept] = std::move(buffers_[i]);
    ++kept;
  }
  requests_.resize(kept);
  buffers_.resize(kept);
  return true;
}

void Sends::complete(std::size_t left) {
  Backoff backoff;
  while (size() > left) {
    if (progress()) {
      backoff.reset();
      continue;
    }
    backoff.pause();
  }
}

}  // namespace concurrent::futures::detail::mpi
