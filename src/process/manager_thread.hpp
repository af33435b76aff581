// A pool's management thread (the process pool's and the MPI pool's), and how the pool's
// last handle ends it. Private to the library.
//
// Lifetime: the executor and the management thread each hold a shared_ptr to the pool's
// core, which owns this. The executor's destructor joins the thread (release()), except
// when it runs on that very thread (a done-callback that drops the last handle to the
// executor): a thread cannot join itself, so release() detaches it, and the thread's own
// reference keeps the core alive until its loop has returned. The core is then destroyed
// on that thread, whose std::thread must be detached first (destroying a joinable one
// terminates): the destructor does that.
//
// Threads: start() once, before any other member is called; then any thread, and the
// management thread itself.
#pragma once

#include <atomic>
#include <mutex>
#include <thread>
#include <utility>

namespace concurrent::futures::detail {

class ManagerThread {
 public:
  ManagerThread() = default;
  ManagerThread(const ManagerThread&) = delete;
  ManagerThread& operator=(const ManagerThread&) = delete;
  ~ManagerThread() {
    if (thread_.joinable()) thread_.detach();
  }

  // Runs `body` on a new thread. `body` holds what keeps this object alive until it returns
  // (its core's shared_ptr).
  template <class Body>
  void start(Body body) {
    thread_ = std::thread([this, body = std::move(body)]() mutable {
      id_.store(std::this_thread::get_id());
      body();
    });
  }
  // Whether the caller is the management thread.
  bool is_current() const { return std::this_thread::get_id() == id_.load(); }
  // Waits until the thread has returned; on the thread itself, returns at once.
  void join() {
    if (is_current()) return;
    std::lock_guard lock(join_mutex_);
    if (thread_.joinable()) thread_.join();
  }
  // As join(), but on the thread itself detaches it (see Lifetime).
  void release() {
    std::lock_guard lock(join_mutex_);
    if (!thread_.joinable()) return;
    if (is_current()) {
      thread_.detach();
    } else {
      thread_.join();
    }
  }

 private:
  std::thread thread_;
  std::mutex join_mutex_;  // thread_ is joined or detached under it
  std::atomic<std::thread::id> id_{};
};

}  // namespace concurrent::futures::detail
