// The Waiter's wake conditions, its one blocking wait, and the hook a WaitHelper takes.
#include "waiter.hpp"

#include <utility>

namespace concurrent::futures::detail {

void Waiter::notify(std::size_t index, bool failed, bool own_pool) {
  MutexLock lock(mutex_);
  finished_.push_back(index);
  --pending_;
  failure_seen_ = failure_seen_ || failed;
  // The last own-pool future done: a helper blocked here looks again (and may go on
  // waiting plainly).
  const bool helping_over = own_pool && --own_pool_pending_ == 0;
  // Notify under the lock: once the waiting thread can take the lock it may destroy
  // this Waiter, so the condition variable must not be touched after unlocking.
  if (ready() || helping_over) cv_.notify_one();
}

void Waiter::add_own_pool_future(bool deeper) {
  MutexLock lock(mutex_);
  ++own_pool_pending_;
  shallower_own_pool_ = shallower_own_pool_ || !deeper;
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

namespace {
thread_local WaitHelper* current_wait_helper = nullptr;
}  // namespace

WaitHelper* exchange_wait_helper(WaitHelper* helper) noexcept {
  return std::exchange(current_wait_helper, helper);
}

bool helps_with_pool(std::uint32_t pool_tag) noexcept {
  return current_wait_helper != nullptr &&
         (pool_tag == kUnknownCompleter || pool_tag == current_wait_helper->pool_tag);
}

bool is_deeper_call(std::uint32_t pool_tag, std::uint16_t call_depth) noexcept {
  return current_wait_helper != nullptr && pool_tag == current_wait_helper->pool_tag &&
         call_depth > current_wait_helper->running_call_depth();
}

bool Waiter::wait_until(Clock::time_point deadline) {
  if (current_wait_helper != nullptr) return current_wait_helper->wait_until(*this, deadline);
  return wait_plainly_until(deadline);
}

bool Waiter::wait_plainly_until(Clock::time_point deadline) {
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

Waiter::Woken Waiter::wait_until_or_poked(Clock::time_point deadline) {
  MutexLock lock(mutex_);
  for (;;) {
    if (ready()) return Woken::ready;
    if (std::exchange(poked_, false) || own_pool_pending_ == 0) return Woken::poked;
    if (deadline == Clock::time_point::max()) {
      lock.wait(cv_);
    } else if (!lock.wait_until(cv_, deadline)) {
      return ready() ? Woken::ready : Woken::timed_out;
    }
  }
}

void Waiter::poke() {
  MutexLock lock(mutex_);
  poked_ = true;
  cv_.notify_one();  // under the lock, as in notify()
}

Waiter::Status Waiter::status_now() {
  MutexLock lock(mutex_);
  if (ready()) return Status::ready;
  if (own_pool_pending_ == 0) return Status::others_pending;
  return shallower_own_pool_ ? Status::own_pool_pending : Status::deeper_calls_pending;
}

std::vector<std::size_t> Waiter::take_finished() {
  MutexLock lock(mutex_);
  return std::exchange(finished_, {});
}

}  // namespace concurrent::futures::detail
