// A std::mutex annotated for Clang's -Wthread-safety analysis, and its scoped lock.
//
// Members guarded by a Mutex are marked CONCURRENT_FUTURES_GUARDED_BY(mutex_); clang
// then checks at compile time that every access holds the lock. Other compilers see
// plain std::mutex and std::unique_lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define CONCURRENT_FUTURES_TSA(x) __attribute__((x))
#else
#define CONCURRENT_FUTURES_TSA(x)
#endif

#define CONCURRENT_FUTURES_CAPABILITY(x) CONCURRENT_FUTURES_TSA(capability(x))
#define CONCURRENT_FUTURES_SCOPED_CAPABILITY CONCURRENT_FUTURES_TSA(scoped_lockable)
#define CONCURRENT_FUTURES_GUARDED_BY(x) CONCURRENT_FUTURES_TSA(guarded_by(x))
#define CONCURRENT_FUTURES_PT_GUARDED_BY(x) CONCURRENT_FUTURES_TSA(pt_guarded_by(x))
#define CONCURRENT_FUTURES_REQUIRES(...) CONCURRENT_FUTURES_TSA(requires_capability(__VA_ARGS__))
#define CONCURRENT_FUTURES_EXCLUDES(...) CONCURRENT_FUTURES_TSA(locks_excluded(__VA_ARGS__))
#define CONCURRENT_FUTURES_ACQUIRE(...) CONCURRENT_FUTURES_TSA(acquire_capability(__VA_ARGS__))
#define CONCURRENT_FUTURES_RELEASE(...) CONCURRENT_FUTURES_TSA(release_capability(__VA_ARGS__))
#define CONCURRENT_FUTURES_NO_THREAD_SAFETY_ANALYSIS \
  CONCURRENT_FUTURES_TSA(no_thread_safety_analysis)

namespace concurrent::futures::detail {

class CONCURRENT_FUTURES_CAPABILITY("mutex") Mutex {
 public:
  void lock() CONCURRENT_FUTURES_ACQUIRE() { mutex_.lock(); }
  void unlock() CONCURRENT_FUTURES_RELEASE() { mutex_.unlock(); }
  std::mutex& native() { return mutex_; }

 private:
  std::mutex mutex_;
};

// Holds a Mutex for its scope, and can wait on a condition variable with it.
class CONCURRENT_FUTURES_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) CONCURRENT_FUTURES_ACQUIRE(mutex) : lock_(mutex.native()) {}
  ~MutexLock() CONCURRENT_FUTURES_RELEASE() = default;
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void wait(std::condition_variable& cv) { cv.wait(lock_); }
  // Returns false if the deadline passed.
  bool wait_until(std::condition_variable& cv, std::chrono::steady_clock::time_point deadline) {
    return cv.wait_until(lock_, deadline) == std::cv_status::no_timeout;
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace concurrent::futures::detail
