// The range Executor::map returns, shared by both executors.
//
// A Source submits the calls: `bool submit_next(std::deque<Future<R>>& out)` appends
// the futures of its next batch (one call for the thread pool, one chunk for the
// process pool) and returns false once the inputs are exhausted. MapRange submits
// every batch up front, or with `buffersize` only that many ahead of the reader, and
// hands the results out in input order.
//
// Lifetime: the range owns the Source (and through it the inputs that were passed as
// rvalues; inputs passed as lvalues must outlive the range). Destroying the range
// cancels the calls that have not started.
#pragma once

#include <cstdint>
#include <deque>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

#include "concurrent/futures/future.hpp"
#include "concurrent/futures/map_options.hpp"

namespace concurrent::futures::detail {

// Throws std::invalid_argument for options no map() accepts.
void validate_map_options(const MapOptions& options);

// The TimeoutError map() throws when a result is not ready in time.
[[noreturn]] void throw_map_timeout();

template <class R, class Source>
class MapRange {
  static_assert(!std::is_void_v<R>,
                "map(fn, ...): fn returns void, so there are no results to iterate; use "
                "submit() for each call, or return a value");

 public:
  class iterator;
  struct sentinel {};

  MapRange(Source source, const MapOptions& options)
      : state_(std::make_unique<State>(std::move(source), options)) {
    State& s = *state_;
    try {
      if (s.buffersize) {
        for (std::int64_t i = 0; i < *s.buffersize && s.submit_batch(); ++i) {
        }
      } else {
        while (s.submit_batch()) {
        }
      }
    } catch (...) {
      s.cancel_all();  // a submit failed (e.g. the pool shut down): take back the others
      throw;
    }
  }
  MapRange(MapRange&&) noexcept = default;
  MapRange& operator=(MapRange&&) noexcept = default;
  ~MapRange() {
    if (state_) state_->cancel_all();
  }

  iterator begin() {
    state_->advance();
    return iterator(state_.get());
  }
  sentinel end() const { return {}; }

 private:
  struct State {
    State(Source source_in, const MapOptions& options)
        : source(std::move(source_in)), buffersize(options.buffersize) {
      validate_map_options(options);
      if (options.timeout) deadline = deadline_after(*options.timeout);
    }

    bool submit_batch() {
      if (exhausted) return false;
      exhausted = !source.submit_next(pending);
      return !exhausted;
    }

    void advance() {
      current = Future<R>();
      if (ended) return;
      if (buffersize) (void)submit_batch();  // one more in flight before waiting
      if (pending.empty()) return;
      current = std::move(pending.front());
      pending.pop_front();
    }

    void cancel_all() {
      if (current.valid()) current.cancel();
      for (const Future<R>& f : pending) f.cancel();
      pending.clear();
      exhausted = true;
    }

    const R& value() {
      if (deadline && !CoreAccess::core(current)->wait_until(*deadline)) {
        cancel_all();
        ended = true;
        current = Future<R>();
        throw_map_timeout();
      }
      return current.result();
    }

    Source source;
    std::optional<std::int64_t> buffersize;
    std::optional<Clock::time_point> deadline;
    std::deque<Future<R>> pending;
    Future<R> current;  // empty (not valid()) at the end
    bool exhausted = false;
    bool ended = false;
  };

  std::unique_ptr<State> state_;
};

// An input iterator: `*it` blocks for the result and rethrows the call's exception (the
// iteration may go on past it); if the map's timeout passes first it throws
// TimeoutError, cancels the calls not yet started and ends the range.
template <class R, class Source>
class MapRange<R, Source>::iterator {
 public:
  using value_type = R;
  using difference_type = std::ptrdiff_t;
  using iterator_concept = std::input_iterator_tag;

  iterator() = default;
  const R& operator*() const { return state_->value(); }
  iterator& operator++() {
    state_->advance();
    return *this;
  }
  void operator++(int) { ++*this; }
  friend bool operator==(const iterator& it, sentinel) { return it.at_end(); }

 private:
  friend class MapRange;
  bool at_end() const { return !state_->current.valid(); }
  explicit iterator(State* state) : state_(state) {}
  State* state_ = nullptr;
};

// Holds a map() input: by reference when it was passed as an lvalue, by value (moved
// in) when it was an rvalue.
template <class T>
class StoredRange {
 public:
  explicit StoredRange(T&& range) : range_(std::forward<T>(range)) {}
  auto begin() { return std::begin(range_); }
  auto end() { return std::end(range_); }

 private:
  T range_;  // T is `U&` for lvalues, `U` for rvalues
};

// Walks several inputs in step, as Python's zip(): it ends with the shortest.
template <class... Iterables>
class Zip {
 public:
  explicit Zip(Iterables&&... iterables)
      : ranges_(std::make_unique<std::tuple<StoredRange<Iterables>...>>(
            StoredRange<Iterables>(std::forward<Iterables>(iterables))...)),
        positions_(std::apply([](auto&... r) { return std::make_tuple(r.begin()...); }, *ranges_)),
        ends_(std::apply([](auto&... r) { return std::make_tuple(r.end()...); }, *ranges_)) {}

  // Calls `f(element...)` with the next elements and returns true, or returns false
  // once any input is exhausted.
  template <class F>
  bool next(F&& f) {
    if constexpr (sizeof...(Iterables) == 0) return false;  // map(fn) with no inputs
    if (at_end(std::index_sequence_for<Iterables...>{})) return false;
    std::apply([&](auto&... it) { std::forward<F>(f)(element(it)...); }, positions_);
    std::apply([](auto&... it) { (++it, ...); }, positions_);
    return true;
  }

 private:
  // The element at `it`; a proxy returned by value (std::vector<bool>'s) is turned into
  // the value it stands for, so that a call never refers back into the input.
  template <class It>
  static decltype(auto) element(It& it) {
    if constexpr (std::is_reference_v<decltype(*it)>) {
      return *it;
    } else {
      return std::iter_value_t<It>(*it);
    }
  }

  template <std::size_t... I>
  bool at_end(std::index_sequence<I...>) const {
    return ((std::get<I>(positions_) == std::get<I>(ends_)) || ...);
  }

  // On the heap so that iterators into by-value inputs survive moves of the Zip.
  std::unique_ptr<std::tuple<StoredRange<Iterables>...>> ranges_;
  std::tuple<decltype(std::declval<StoredRange<Iterables>&>().begin())...> positions_;
  std::tuple<decltype(std::declval<StoredRange<Iterables>&>().end())...> ends_;
};

}  // namespace concurrent::futures::detail
