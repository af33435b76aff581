// The calls submitted to a thread pool and not yet moved into its queue: a lock-free
// stack (Treiber's, push-only; it is emptied whole, so no ABA) that a submitting thread
// pushes to without taking the pool's mutex. Whoever holds the mutex drains it into the
// queue before looking at the queue, so the queue keeps submission order. Closing it
// makes every later push fail, so that a submit after shutdown takes the locked path
// and throws. src/thread_pool.cpp, "Submitting without the mutex", says when a submit may
// skip the mutex.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <utility>

#include "concurrent/futures/detail/thread_pool_work.hpp"

namespace concurrent::futures::detail {

// The size of a cache line on the machines we target (x86-64 and AArch64 both use 64;
// std::hardware_destructive_interference_size warns as ABI-unstable under GCC).
inline constexpr std::size_t kCacheLine = 64;

// On a cache line of its own: submitters write it, the pool's workers drain it, and it
// must not share a line with the mutex they also take.
class alignas(kCacheLine) SubmittedCalls {
 public:
  SubmittedCalls() = default;
  SubmittedCalls(const SubmittedCalls&) = delete;
  SubmittedCalls& operator=(const SubmittedCalls&) = delete;
  ~SubmittedCalls() {
    std::deque<std::shared_ptr<WorkItem>> left;
    drain_into(left);
  }

  // Pushes `call` (moved from on success). False, with `call` untouched, once closed.
  // Sequentially consistent: a submit that pushes and then reads the pool's
  // submit_must_lock_ flag pairs with a worker that sets the flag and then drains.
  bool push(std::shared_ptr<WorkItem>& call) {
    WorkItem* const item = call.get();
    // Owned by itself before it is published: a drain may take it the moment the
    // exchange succeeds.
    item->submitted_self_ = std::move(call);
    std::uintptr_t head = head_.load(std::memory_order_relaxed);
    do {
      if (head == kClosed) {
        call = std::move(item->submitted_self_);
        return false;
      }
      item->next_submitted_ = reinterpret_cast<WorkItem*>(head);
    } while (!head_.compare_exchange_weak(head, reinterpret_cast<std::uintptr_t>(item),
                                          std::memory_order_seq_cst, std::memory_order_relaxed));
    return true;
  }

  // Appends every pushed call to `queue`, oldest first. drain_into() and close_into()
  // are called only under the pool's mutex (or with the pool gone), so they never race
  // each other: only they write kEmpty or kClosed.
  void drain_into(std::deque<std::shared_ptr<WorkItem>>& queue) { take_into(queue, kEmpty); }
  // The same, and every later push fails.
  void close_into(std::deque<std::shared_ptr<WorkItem>>& queue) { take_into(queue, kClosed); }

 private:
  static constexpr std::uintptr_t kEmpty = 0;
  static constexpr std::uintptr_t kClosed = 1;  // never a WorkItem's address

  void take_into(std::deque<std::shared_ptr<WorkItem>>& queue, std::uintptr_t leave) {
    // Sequentially consistent, like the exchange: this read is the drainer's half of
    // the flag-then-stack handshake with push().
    std::uintptr_t head = head_.load(std::memory_order_seq_cst);
    if (head == kClosed || (head == kEmpty && leave == kEmpty)) return;  // no write
    head = head_.exchange(leave, std::memory_order_seq_cst);
    if (head == kEmpty) return;
    // The stack holds the newest first: reverse it in place, then append.
    WorkItem* oldest = nullptr;
    for (auto* item = reinterpret_cast<WorkItem*>(head); item != nullptr;) {
      WorkItem* const older = item->next_submitted_;
      item->next_submitted_ = oldest;
      oldest = item;
      item = older;
    }
    while (oldest != nullptr) {
      WorkItem* const newer = oldest->next_submitted_;
      oldest->next_submitted_ = nullptr;
      // The item owns itself while stacked; the queue takes that ownership over.
      queue.push_back(std::move(oldest->submitted_self_));
      oldest = newer;
    }
  }

  std::atomic<std::uintptr_t> head_{kEmpty};
};

}  // namespace concurrent::futures::detail
