// The range Executor::map returns, shared by both executors.
//
// A Source submits the calls: `bool submit_next(MapBatches<R>& out)` appends the
// batches of its next submission and returns false once the inputs are exhausted. A
// batch is one queue entry's worth of results: a single Future<R>, or (a chunk of
// several elements run as one call) a Future<ChunkResults<R>>. MapRange submits every
// batch up front, or with `buffersize` only that many batches ahead of the reader, and
// hands the results out per element, in input order.
//
// Lifetime: the range owns the Source (and through it the inputs that were passed as
// rvalues; inputs passed as lvalues must outlive the range). Destroying the range
// cancels the calls that have not started.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "concurrent/futures/future.hpp"
#include "concurrent/futures/map_options.hpp"

namespace concurrent::futures::detail {

// Throws std::invalid_argument for options no map() accepts.
void validate_map_options(const MapOptions& options);

// The TimeoutError map() throws when a result is not ready in time.
[[noreturn]] void throw_map_timeout();

// What one chunk of a map() produces: each element's value or exception, in input
// order, so that every element rethrows its own exception at its own place.
template <class R>
class ChunkResults {
 public:
  void reserve(std::size_t n) { outcomes_.reserve(n); }
  template <class... A>
  void add_value(A&&... value) {
    outcomes_.emplace_back(std::in_place_index<0>, std::forward<A>(value)...);
  }
  void add_error(std::exception_ptr error) {
    outcomes_.emplace_back(std::in_place_index<1>, std::move(error));
  }
  std::size_t size() const noexcept { return outcomes_.size(); }
  // Element i's value; rethrows its exception.
  const R& get(std::size_t i) const {
    const auto& outcome = outcomes_[i];
    if (outcome.index() == 1) std::rethrow_exception(std::get<1>(outcome));
    return std::get<0>(outcome);
  }

 private:
  std::vector<std::variant<R, std::exception_ptr>> outcomes_;
};

// One queue entry's worth of map() results: one element's Future<R>, or a chunk of
// `size` elements behind one Future<ChunkResults<R>>.
template <class R>
class MapBatch {
 public:
  // NOLINTNEXTLINE(google-explicit-constructor): a Source appends futures directly
  MapBatch(Future<R> single) : single_(std::move(single)) {}
  MapBatch(Future<ChunkResults<R>> chunk, std::size_t size)
      : chunk_(std::move(chunk)), size_(size) {}

  std::size_t size() const noexcept { return size_; }
  // True once the batch is done (or cancelled); false if `deadline` passed first.
  bool wait_until(Clock::time_point deadline) const {
    return chunk_.valid() ? CoreAccess::core(chunk_)->wait_until(deadline)
                          : CoreAccess::core(single_)->wait_until(deadline);
  }
  // Element i: blocks until the batch is done, rethrows the element's exception
  // (CancelledError if the batch was cancelled).
  const R& get(std::size_t i) const {
    if (!chunk_.valid()) return single_.result();
    // Once per chunk, not per element: result() locks, the elements need not.
    if (chunk_results_ == nullptr) chunk_results_ = &chunk_.result();
    return chunk_results_->get(i);
  }
  void cancel() const {
    if (chunk_.valid()) {
      chunk_.cancel();
    } else {
      single_.cancel();
    }
  }

 private:
  Future<R> single_;
  Future<ChunkResults<R>> chunk_;
  mutable const ChunkResults<R>* chunk_results_ = nullptr;  // chunk_'s, once it succeeded
  std::size_t size_ = 1;
};

template <class R>
using MapBatches = std::deque<MapBatch<R>>;

template <class R, class Source>
class MapRange {
  static_assert(!std::is_void_v<R>,
                "map(fn, ...): fn returns void, so there are no results to iterate; use "
                "submit() for each call, or return a value");

 public:
  class iterator;

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
  // An iterator of the same type, so that `std::vector<R> v(r.begin(), r.end())` works.
  iterator end() const { return iterator(); }

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
      if (current && ++position < current->size()) return;
      current.reset();
      position = 0;
      if (ended) return;
      if (buffersize) (void)submit_batch();  // one more in flight before waiting
      if (pending.empty()) return;
      current.emplace(std::move(pending.front()));
      pending.pop_front();
    }

    void cancel_all() {
      if (current) current->cancel();
      for (const MapBatch<R>& batch : pending) batch.cancel();
      pending.clear();
      exhausted = true;
    }

    const R& value() {
      if (deadline && !current->wait_until(*deadline)) {
        cancel_all();
        ended = true;
        current.reset();
        throw_map_timeout();
      }
      return current->get(position);
    }

    bool at_end() const { return !current; }

    Source source;
    std::optional<std::int64_t> buffersize;
    std::optional<Clock::time_point> deadline;
    MapBatches<R> pending;
    std::optional<MapBatch<R>> current;  // empty at the end
    std::size_t position = 0;            // the element of `current` being read
    bool exhausted = false;
    bool ended = false;
  };

  std::unique_ptr<State> state_;
};

// An input iterator: `*it` blocks for the result and rethrows the call's exception (the
// iteration may go on past it); if the map's timeout passes first it throws
// TimeoutError, cancels the calls not yet started and ends the range. A
// default-constructed iterator is the end.
template <class R, class Source>
class MapRange<R, Source>::iterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using iterator_concept = std::input_iterator_tag;
  using value_type = R;
  using difference_type = std::ptrdiff_t;
  using reference = const R&;
  using pointer = const R*;

  iterator() = default;
  const R& operator*() const { return state_->value(); }
  const R* operator->() const { return &state_->value(); }
  iterator& operator++() {
    state_->advance();
    return *this;
  }
  void operator++(int) { ++*this; }
  friend bool operator==(const iterator& a, const iterator& b) { return a.at_end() == b.at_end(); }

 private:
  friend class MapRange;
  bool at_end() const { return state_ == nullptr || state_->at_end(); }
  explicit iterator(State* state) : state_(state) {}
  State* state_ = nullptr;
};

// The element at `it`; a proxy returned by value (std::vector<bool>'s) is turned into
// the value it stands for, so that a call never refers back into the input.
template <class It>
decltype(auto) map_element(It& it) {
  if constexpr (std::is_reference_v<decltype(*it)>) {
    return *it;
  } else {
    return std::iter_value_t<It>(*it);
  }
}

// The element type a map() input yields: a reference, or a value for an iterator that
// yields by value (a counting range) or through a proxy.
template <class Iterable>
using ElementOf =
    decltype(map_element(std::declval<decltype(std::begin(std::declval<Iterable&>()))&>()));

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

  // Calls `f(element...)` with the next elements (as lvalues) and returns true, or
  // returns false once any input is exhausted.
  template <class F>
  bool next(F&& f) {
    if constexpr (sizeof...(Iterables) == 0) return false;  // map(fn) with no inputs
    if (at_end(std::index_sequence_for<Iterables...>{})) return false;
    std::apply([&](auto&... it) { call_with_lvalues(f, map_element(it)...); }, positions_);
    std::apply([](auto&... it) { (++it, ...); }, positions_);
    return true;
  }

 private:
  // Calls `f` with every element as an lvalue: an element a by-value iterator yields
  // lives until `f` returns.
  template <class F, class... Elements>
  static void call_with_lvalues(F& f, Elements&&... elements) {
    f(elements...);
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
