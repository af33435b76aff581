#include "process/fork_safety.hpp"

#include <pthread.h>

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "process/image.hpp"

namespace concurrent::futures::detail {

namespace {

// The library has a handful of process-wide mutexes; this bounds them.
constexpr std::size_t kMaxHeldMutexes = 8;

std::array<std::atomic<std::mutex*>, kMaxHeldMutexes> g_held{};
std::atomic<std::size_t> g_held_count{0};
// How many this thread locked in its prepare handler: a mutex added while a fork is under
// way is not unlocked by that fork's handlers. (The child's only thread is a copy of the
// forking one, so it sees the same value.)
thread_local std::size_t t_locked = 0;

// Lock in registration order, unlock in reverse: the mutexes are never nested elsewhere,
// so any fixed order is deadlock-free.
void lock_all() {
  t_locked = g_held_count.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < t_locked; ++i) g_held[i].load(std::memory_order_relaxed)->lock();
}

void unlock_all() {
  for (std::size_t i = t_locked; i-- > 0;) g_held[i].load(std::memory_order_relaxed)->unlock();
  t_locked = 0;
}

}  // namespace

void hold_across_fork(std::mutex& mutex) noexcept {
  static const bool installed = ::pthread_atfork(&lock_all, &unlock_all, &unlock_all) == 0;
  if (!installed) std::abort();  // ENOMEM at start-up: nothing can be made fork-safe
  static std::atomic<std::size_t> next{0};
  const std::size_t slot = next.fetch_add(1);
  if (slot >= kMaxHeldMutexes) std::abort();  // a library bug: raise kMaxHeldMutexes
  g_held[slot].store(&mutex, std::memory_order_relaxed);
  // Publish in slot order, so that lock_all never sees a slot that is not filled yet.
  std::size_t expected = slot;
  while (!g_held_count.compare_exchange_weak(expected, slot + 1, std::memory_order_release)) {
    expected = slot;
  }
}

void flush_standard_streams() noexcept {
  try {
    std::cout.flush();
    std::cerr.flush();
    std::clog.flush();
  } catch (...) {  // a stream set to throw on failure: nothing to do about it here
  }
  std::fflush(stdout);
  std::fflush(stderr);
}

void prepare_to_fork() noexcept {
  (void)executable_build_id();
  build_symbol_table();
  flush_standard_streams();
}

std::invalid_argument fork_cannot_replace_workers(std::string_view option, std::string_view how) {
  return std::invalid_argument(
      fmt::format("{} cannot be used with StartMethod::fork: {}replacing a worker would mean "
                  "forking a process that has threads (gh-90622); use StartMethod::forkserver "
                  "or StartMethod::spawn",
                  option, how));
}

}  // namespace concurrent::futures::detail
