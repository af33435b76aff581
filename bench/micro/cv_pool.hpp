// The cvpool baseline: the plain pool everybody writes first. One mutex, one condition
// variable, one deque of packaged tasks; workers sleep on the condition variable when
// idle.
#pragma once

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace bench::micro {

class CvPool {
 public:
  explicit CvPool(int workers) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
  }
  ~CvPool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  CvPool(const CvPool&) = delete;
  CvPool& operator=(const CvPool&) = delete;

  std::future<int> submit(int (*fn)()) {
    std::packaged_task<int()> task(fn);
    std::future<int> future = task.get_future();
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
    return future;
  }

 private:
  void work() {
    for (;;) {
      std::packaged_task<int()> task;
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<int()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace bench::micro
