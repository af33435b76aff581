// The Waiter's wake conditions and its one blocking wait.
#include "waiter.hpp"

#include <utility>

namespace concurrent::futures::detail {

void Waiter::notify(std::size_t index, bool failed) {
  MutexLock lock(mutex_);
  finished_.push_back(index);
  --pending_;
  failure_seen_ = failure_seen_ || failed;
  // Notify under the lock: once the waiting thread can take the lock it may destroy
  // this Waiter, so the condition variable must not be touched after unlocking.
  if (ready()) cv_.notify_one();
}

bool Waiter::ready() const {
  switch (wake_on_) {
    case WakeOn::any:
      return !finished_.empty() || pending_ == 0;
    case WakeOn::all:
      return pending_ == 0;
    case WakeOn::failure_or_all:
      return failure_seen_ || pending_ == 0;
  }
  return true;
}

bool Waiter::wait_until(Clock::time_point deadline) {
  MutexLock lock(mutex_);
  while (!ready()) {
    if (deadline == Clock::time_point::max()) {
      lock.wait(cv_);
    } else if (!lock.wait_until(cv_, deadline)) {
      return ready();
    }
  }
  return true;
}

std::vector<std::size_t> Waiter::take_finished() {
  MutexLock lock(mutex_);
  return std::exchange(finished_, {});
}

}  // namespace concurrent::futures::detail
