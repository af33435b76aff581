// wait() and as_completed(): block on several futures at once, in the manner of
// Python's concurrent.futures.wait and as_completed.
//
//   auto [done, not_done] = cf::wait(futures, 2s, cf::FIRST_COMPLETED);
//   for (const auto& f : cf::as_completed(futures, 10s)) use(f.result());
//
// `futures` is any range of Future<T> or AnyFuture (a vector, an array, ...), or a
// braced list of AnyFuture to mix value types. Duplicate handles count once; input
// order is kept within `done` and `not_done`. A cancelled future counts as done the
// moment cancel() returns true (unlike CPython, gh-92001).
//
// Cost: linear in the number of futures. Each blocked call links one small record into
// every unfinished future, so a finishing future wakes exactly the calls waiting on it;
// nothing locks several futures at once.
//
// Done-callbacks may not have run yet: the thread that completes a future wakes its
// waiters first and runs its done-callbacks after, so wait() can return, and
// as_completed() can yield a future, while that future's callbacks are still running or
// about to. A callback must therefore not capture the waiting function's locals by
// reference; capture by value (or a shared_ptr), or have the callback complete a Promise
// and wait on that Promise's future instead.
//
// Thread safety: any number of threads may wait on the same futures.
#pragma once

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "concurrent/futures/future.hpp"

namespace concurrent::futures {

enum class ReturnWhen { first_completed, first_exception, all_completed };
inline constexpr ReturnWhen FIRST_COMPLETED = ReturnWhen::first_completed;
// Returns when any future finishes with an exception (cancellation is not one), or
// when all are done.
inline constexpr ReturnWhen FIRST_EXCEPTION = ReturnWhen::first_exception;
inline constexpr ReturnWhen ALL_COMPLETED = ReturnWhen::all_completed;

template <class F>
struct DoneAndNotDone {
  std::vector<F> done;
  std::vector<F> not_done;
};

namespace detail {

template <class R>
using RangeValue = std::remove_cvref_t<decltype(*std::begin(std::declval<R&>()))>;

template <class F>
concept FutureLike = std::is_base_of_v<FutureHandle, F>;

// The futures of `fs` with duplicates dropped, in input order; every one must be valid.
template <class R>
std::vector<RangeValue<R>> unique_futures(const R& fs);
// The states of all futures of `fs`, in input order; every one must be valid.
template <class R>
std::vector<FutureCoreBase*> checked_cores(const R& fs);

// when_all and when_any over the states of their inputs (src/wait.cpp).
std::shared_ptr<Core<void>> when_all_cores(const std::vector<FutureCoreBase*>& cores);
std::shared_ptr<Core<std::size_t>> when_any_cores(const std::vector<FutureCoreBase*>& cores);

// Blocks until `return_when` holds for `cores` or `deadline` passes. Never throws
// TimeoutError.
void wait_for_cores(const std::vector<FutureCoreBase*>& cores, Clock::time_point deadline,
                    ReturnWhen return_when);

// The engine behind as_completed (src/wait.cpp): hands out the positions of finished
// futures, the already-done ones first (in input order), then in completion order.
class CompletionQueue;
struct CompletionQueueDeleter {
  void operator()(CompletionQueue* queue) const noexcept;
};
using CompletionQueuePtr = std::unique_ptr<CompletionQueue, CompletionQueueDeleter>;

// Starts watching `cores` (which must outlive the queue, or be handed out first).
CompletionQueuePtr make_completion_queue(std::vector<FutureCoreBase*> cores,
                                         Clock::time_point deadline);
// The position of the next finished future, or nullopt once every one was handed out.
// Throws TimeoutError ("N (of M) futures unfinished") once the deadline has passed.
std::optional<std::size_t> next_completed(CompletionQueue& queue);

template <class F>
std::vector<FutureCoreBase*> cores_of(const std::vector<F>& futures) {
  std::vector<FutureCoreBase*> cores;
  cores.reserve(futures.size());
  for (const F& f : futures) cores.push_back(CoreAccess::core(f).get());
  return cores;
}

template <class F>
DoneAndNotDone<F> wait_until(std::vector<F> futures, Clock::time_point deadline,
                             ReturnWhen return_when) {
  wait_for_cores(cores_of(futures), deadline, return_when);
  DoneAndNotDone<F> result;
  for (F& f : futures) (f.done() ? result.done : result.not_done).push_back(std::move(f));
  return result;
}

}  // namespace detail

// An input range over futures, yielding each once as it finishes. Move-only; iterate it
// once. Destroying it stops the waiting. begin() and end() have one type, so
// `std::vector<F> v(r.begin(), r.end())` collects it (Python's `list(as_completed(fs))`).
template <class F>
class AsCompleted {
 public:
  class iterator;

  iterator begin() {
    advance();
    return iterator(this);
  }
  iterator end() const { return iterator(); }

 private:
  template <class R>
  friend auto as_completed(const R& fs);
  template <class R, class Rep, class Period>
  friend auto as_completed(const R& fs, std::chrono::duration<Rep, Period> timeout);
  friend AsCompleted<AnyFuture> as_completed(std::initializer_list<AnyFuture> fs);
  template <class Rep, class Period>
  friend AsCompleted<AnyFuture> as_completed(std::initializer_list<AnyFuture> fs,
                                             std::chrono::duration<Rep, Period> timeout);

  AsCompleted(std::vector<F> futures, detail::Clock::time_point deadline)
      : futures_(std::move(futures)),
        queue_(detail::make_completion_queue(detail::cores_of(futures_), deadline)) {}

  void advance() {
    current_ = F();
    if (std::optional<std::size_t> index = detail::next_completed(*queue_)) {
      current_ = std::move(futures_[*index]);  // hold no reference to yielded futures
    }
  }

  std::vector<F> futures_;
  detail::CompletionQueuePtr queue_;
  F current_;  // empty (not valid()) once the range is exhausted
};

// A default-constructed iterator is the end; any other compares equal to it once the
// range is exhausted.
template <class F>
class AsCompleted<F>::iterator {
 public:
  using value_type = F;
  using difference_type = std::ptrdiff_t;
  using reference = const F&;
  using pointer = const F*;
  using iterator_category = std::input_iterator_tag;
  using iterator_concept = std::input_iterator_tag;

  iterator() = default;
  const F& operator*() const { return range_->current_; }
  const F* operator->() const { return &range_->current_; }
  // Throws TimeoutError once the timeout has passed with futures unfinished.
  iterator& operator++() {
    range_->advance();
    return *this;
  }
  void operator++(int) { ++*this; }
  friend bool operator==(const iterator& a, const iterator& b) { return a.at_end() == b.at_end(); }

 private:
  friend class AsCompleted;
  bool at_end() const { return range_ == nullptr || !range_->current_.valid(); }
  explicit iterator(AsCompleted* range) : range_(range) {}
  AsCompleted* range_ = nullptr;
};

// Waits until `return_when` holds for `fs` and returns them split into done and not
// done. Never throws on timeout.
template <class R>
auto wait(const R& fs, ReturnWhen return_when = ALL_COMPLETED) {
  return detail::wait_until(detail::unique_futures(fs), detail::Clock::time_point::max(),
                            return_when);
}
// Same, giving up after `timeout` (zero or less: report what is done now).
template <class R, class Rep, class Period>
auto wait(const R& fs, std::chrono::duration<Rep, Period> timeout,
          ReturnWhen return_when = ALL_COMPLETED) {
  return detail::wait_until(detail::unique_futures(fs), detail::deadline_after(timeout),
                            return_when);
}
inline DoneAndNotDone<AnyFuture> wait(std::initializer_list<AnyFuture> fs,
                                      ReturnWhen return_when = ALL_COMPLETED) {
  return wait<std::initializer_list<AnyFuture>>(fs, return_when);
}
template <class Rep, class Period>
DoneAndNotDone<AnyFuture> wait(std::initializer_list<AnyFuture> fs,
                               std::chrono::duration<Rep, Period> timeout,
                               ReturnWhen return_when = ALL_COMPLETED) {
  return wait<std::initializer_list<AnyFuture>>(fs, timeout, return_when);
}

// An input range yielding each future of `fs` once, as it finishes; the ones already
// done come first.
template <class R>
auto as_completed(const R& fs) {
  using F = detail::RangeValue<R>;
  return AsCompleted<F>(detail::unique_futures(fs), detail::Clock::time_point::max());
}
// Same, but iterating throws TimeoutError once `timeout` (counted from this call) has
// passed with futures unfinished.
template <class R, class Rep, class Period>
auto as_completed(const R& fs, std::chrono::duration<Rep, Period> timeout) {
  using F = detail::RangeValue<R>;
  return AsCompleted<F>(detail::unique_futures(fs), detail::deadline_after(timeout));
}
inline AsCompleted<AnyFuture> as_completed(std::initializer_list<AnyFuture> fs) {
  return as_completed<std::initializer_list<AnyFuture>>(fs);
}
template <class Rep, class Period>
AsCompleted<AnyFuture> as_completed(std::initializer_list<AnyFuture> fs,
                                    std::chrono::duration<Rep, Period> timeout) {
  return as_completed<std::initializer_list<AnyFuture>>(fs, timeout);
}

// A future done once every future of `fs` is done (at once if `fs` is empty). It never
// fails by itself: the inputs carry their own errors. `fs` as for wait(); duplicates
// are fine. Cancelling it does nothing to the inputs. Costs one done-callback per input.
template <class R>
Future<void> when_all(const R& fs) {
  return detail::make_future<void>(detail::when_all_cores(detail::checked_cores(fs)));
}
inline Future<void> when_all(std::initializer_list<AnyFuture> fs) {
  return when_all<std::initializer_list<AnyFuture>>(fs);
}

// A future of the index (in `fs`) of the first input done; inputs already done win, in
// input order. Throws std::invalid_argument if `fs` is empty. Cancelling it does nothing
// to the inputs. Costs one done-callback per input, each kept until its input is done.
template <class R>
Future<std::size_t> when_any(const R& fs) {
  return detail::make_future<std::size_t>(detail::when_any_cores(detail::checked_cores(fs)));
}
inline Future<std::size_t> when_any(std::initializer_list<AnyFuture> fs) {
  return when_any<std::initializer_list<AnyFuture>>(fs);
}

// ---------------------------------------------------------------------------------
// Implementation.

namespace detail {

[[noreturn]] void throw_empty_in_wait();
// Positions of the first occurrence of each distinct core, in order.
std::vector<std::size_t> first_occurrences(const std::vector<FutureCoreBase*>& cores);

template <class R>
constexpr void check_future_range() {
  static_assert(FutureLike<RangeValue<R>>,
                "wait(), as_completed(), when_all() and when_any() take a range of Future<T> or "
                "AnyFuture");
}

template <class R>
std::vector<FutureCoreBase*> checked_cores(const R& fs) {
  check_future_range<R>();
  std::vector<FutureCoreBase*> cores;
  for (const auto& f : fs) {
    if (!f.valid()) throw_empty_in_wait();
    cores.push_back(CoreAccess::core(f).get());
  }
  return cores;
}

template <class R>
std::vector<RangeValue<R>> unique_futures(const R& fs) {
  using F = RangeValue<R>;
  check_future_range<R>();
  std::vector<F> all(std::begin(fs), std::end(fs));
  const std::vector<std::size_t> keep = first_occurrences(checked_cores(all));
  if (keep.size() == all.size()) return all;
  std::vector<F> unique;
  unique.reserve(keep.size());
  for (std::size_t i : keep) unique.push_back(std::move(all[i]));
  return unique;
}

}  // namespace detail
}  // namespace concurrent::futures
