#include "concurrent/futures/future.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <string>

#include "demangle.hpp"
#include "process/own_result.hpp"
#include "waiter.hpp"

namespace concurrent::futures {

const char* to_string(FutureState state) noexcept {
  switch (state) {
    case FutureState::pending:
      return "pending";
    case FutureState::running:
      return "running";
    case FutureState::cancelled:
      return "cancelled";
    case FutureState::finished:
      return "finished";
  }
  return "unknown";
}

namespace detail {

bool FutureCoreBase::cancel() {
  std::vector<UniqueFunction> callbacks;
  {
    MutexLock lock(mutex_);
    const FutureState s = state_.load(std::memory_order_relaxed);
    if (s == FutureState::cancelled) return true;
    if (s != FutureState::pending) return false;
    callbacks = finish_locked(FutureState::cancelled, false);
  }
  run_callbacks(callbacks);
  return true;
}

bool FutureCoreBase::set_running_or_notify_cancel() {
  MutexLock lock(mutex_);
  switch (state_.load(std::memory_order_relaxed)) {
    case FutureState::pending:
      state_.store(FutureState::running, std::memory_order_release);
      return true;
    case FutureState::cancelled:
      return false;
    case FutureState::running:
      throw InvalidStateError(
          "set_running_or_notify_cancel() was called on a future that is already running; "
          "an executor must call it exactly once, before running the work");
    case FutureState::finished:
      break;
  }
  throw InvalidStateError(
      "set_running_or_notify_cancel() was called on a future that is already finished; "
      "an executor must call it exactly once, before completing the future");
}

void FutureCoreBase::set_exception(std::exception_ptr error) {
  if (!error) {
    throw std::invalid_argument(
        "set_exception() was given a null exception_ptr; pass the exception to store, e.g. "
        "std::current_exception() inside a catch block");
  }
  if (!try_set_exception(std::move(error))) throw_already_done("set_exception()");
}

bool FutureCoreBase::try_set_exception(std::exception_ptr error) noexcept {
  return try_complete([&] { exception_ = std::move(error); }, true);
}

void FutureCoreBase::throw_already_done(const char* operation) const {
  if (state() == FutureState::cancelled) {
    // Typically a done-callback or an executor completing a downstream Promise whose
    // future a reader cancelled meanwhile.
    throw InvalidStateError(fmt::format(
        "{} was called on a future that is already cancelled; call "
        "set_running_or_notify_cancel() on the Promise before doing the work, and skip the "
        "work and the {} when it returns false",
        operation, operation));
  }
  throw InvalidStateError(
      fmt::format("{} was called on a future that is already finished; a future can be "
                  "completed only once, so check done() first or complete each Promise "
                  "exactly once",
                  operation));
}

std::string FutureCoreBase::repr(const std::type_info* value_type) const {
  const FutureState s = state();
  std::string outcome;
  if (s == FutureState::finished) {
    if (exception_) {
      outcome = fmt::format(" raised {}", exception_type_name(exception_));
    } else if (value_type != nullptr) {
      outcome = fmt::format(" returned {}", demangle(value_type->name()));
    }
  }
  return fmt::format("<Future at {} state={}{}>", fmt::ptr(this), to_string(s), outcome);
}

bool FutureCoreBase::wait_until(Clock::time_point deadline) const {
  if (done()) return true;
  if (deadline <= Clock::now()) return false;
  // A submit to an idle process pool: this thread may read the result itself.
  if (pool_tag_ == kOutOfProcessCompleter && read_own_result(*this, deadline)) return true;
  Waiter waiter(Waiter::WakeOn::any, 1);
  WaitLink link{.waiter = &waiter};
  if (!this->link(link)) return true;
  const bool finished = waiter.wait_until(deadline);
  unlink(link);
  return finished || done();
}

std::exception_ptr FutureCoreBase::exception_until(Clock::time_point deadline) const {
  if (!wait_until(deadline)) throw TimeoutError();
  if (state() == FutureState::cancelled) throw CancelledError();
  return exception_;
}

bool FutureCoreBase::link(WaitLink& link) const {
  MutexLock lock(mutex_);
  if (is_done_locked()) return false;
  link.prev = nullptr;
  link.next = waiters_;
  if (waiters_ != nullptr) waiters_->prev = &link;
  waiters_ = &link;
  link.linked = true;
  link.own_pool = helps_with_pool(pool_tag_);
  if (link.own_pool) {  // lock order: core, then waiter
    link.waiter->add_own_pool_future(is_deeper_call(pool_tag_, call_depth_));
  }
  return true;
}

void FutureCoreBase::unlink(WaitLink& link) const {
  MutexLock lock(mutex_);
  if (!link.linked) return;
  if (link.prev != nullptr) {
    link.prev->next = link.next;
  } else {
    waiters_ = link.next;
  }
  if (link.next != nullptr) link.next->prev = link.prev;
  link.linked = false;
}

void FutureCoreBase::add_callback(UniqueFunction callback) {
  if (add_callback_unless_done(callback)) return;
  std::vector<UniqueFunction> now;
  now.push_back(std::move(callback));
  run_callbacks(now);
}

bool FutureCoreBase::add_callback_unless_done(UniqueFunction& callback) {
  MutexLock lock(mutex_);
  if (is_done_locked()) return false;
  callbacks_.push_back(std::move(callback));
  return true;
}

bool carry_failure(FutureCoreBase& target, const FutureCoreBase& source) noexcept {
  if (source.state() == FutureState::cancelled) {
    target.cancel();
    return true;
  }
  if (!source.failed()) return false;
  target.try_set_exception(source.exception_until(Clock::time_point::min()));
  return true;
}

void cancel_with(FutureCoreBase& target, std::weak_ptr<FutureCoreBase> upstream) {
  // `target` runs this callback from its own completion, so it is alive then.
  target.add_callback([&target, upstream = std::move(upstream)] {
    if (target.state() != FutureState::cancelled) return;
    if (std::shared_ptr<FutureCoreBase> source = upstream.lock()) source->cancel();
  });
}

bool FutureCoreBase::has_callbacks() const {
  MutexLock lock(mutex_);
  return !callbacks_.empty();
}

std::vector<UniqueFunction> FutureCoreBase::finish_locked(FutureState final_state, bool failed) {
  state_.store(final_state, std::memory_order_release);
  for (WaitLink* link = waiters_; link != nullptr;) {
    WaitLink* next = link->next;
    link->linked = false;
    link->waiter->notify(link->index, failed, link->own_pool);
    link = next;
  }
  waiters_ = nullptr;
  return std::exchange(callbacks_, {});
}

void FutureCoreBase::run_callbacks(std::vector<UniqueFunction>& callbacks) noexcept {
  for (auto& callback : callbacks) {
    try {
      callback();
    } catch (...) {
      report_error(std::current_exception(), "a done-callback");
    }
  }
  callbacks.clear();
}

void FutureHandle::throw_empty() {
  throw InvalidStateError(
      "this future handle is empty (default-constructed or moved from); get futures from "
      "Promise::get_future() or an executor's submit()");
}

void throw_empty_promise() {
  throw InvalidStateError("this Promise is empty (moved from); use the Promise it was moved into");
}

}  // namespace detail
}  // namespace concurrent::futures
