// The parent's side of a process-pool call: the callable and arguments encoded for the
// wire (ProcessCall), and the futures its results finish (CallSink). The worker's side,
// entry points, is detail/process_entry.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "concurrent/futures/detail/map_range.hpp"
#include "concurrent/futures/detail/process_serialization.hpp"
#include "concurrent/futures/future.hpp"

namespace concurrent::futures::detail {

// Throws std::logic_error if `key` cannot be run by a worker (ambiguous).
void check_process_entry(const char* key);

// A name for the function at `fn` that a worker running the same
// executable can resolve. Throws std::invalid_argument if the executable's symbol
// tables do not name it (e.g. a stripped binary).
std::string function_symbol_key(const void* fn);

template <class F>
void save_callable(const F& fn, std::string& out) {
  if constexpr (is_function_pointer_v<F>) {
    out = function_symbol_key(reinterpret_cast<const void*>(fn));
  } else if constexpr (is_stateless_callable_v<F>) {
    (void)fn;  // the type says it all
  } else {
    ValueWriter(&out).write(fn);
  }
}

// The futures of one call message's items, by index. The pool finishes the items it
// sent in index order; failing an item that is already finished changes nothing. A
// sink of several items (a map() chunk) finishes them together, with the last.
class CallSink {
 public:
  virtual ~CallSink() = default;
  // Moves the items' futures to RUNNING, and appends to `started` (which has room for
  // every item) the index of each that was not cancelled: the items to send.
  virtual void start(std::vector<std::uint32_t>& started) noexcept = 0;
  virtual void cancel(std::size_t i) noexcept = 0;
  // Decodes the results of items first, first + 1, ..., one per element of `values`, and
  // finishes each future with its own (or with its decoding error). One call for a run
  // of a chunk's values, not one each: the virtual calls cost more than the elements.
  virtual void deliver(std::size_t first, std::span<const std::string_view> values) noexcept = 0;
  virtual void fail(std::size_t i, std::exception_ptr error) noexcept = 0;
  // The future of a call of one item (a submit), which a thread waiting for it may
  // finish itself (src/process/own_result.cpp); null for any other call.
  virtual const FutureCoreBase* single_item_future() const noexcept { return nullptr; }
};

// Marks the future of a call that the pool's own thread finishes: a thread-pool worker
// waiting for it waits plainly (detail/future_core.hpp, kOutOfProcessCompleter).
template <class R>
void mark_out_of_process(const Promise<R>& promise) {
  CoreAccess::core(promise.get_future())->set_pool_tag(kOutOfProcessCompleter);
}

// Decodes one result of type R (void: no bytes) from `bytes`.
template <class R>
R decode_process_result(std::optional<ValueReader>& reader, std::string_view bytes) {
  if constexpr (std::is_void_v<R>) {
    if (!bytes.empty()) throw cereal::Exception("a void call returned a value");
  } else if constexpr (is_raw_binary_v<R>) {  // what the reader would do, without it
    if (bytes.size() != sizeof(R)) {
      throw cereal::Exception("a result of " + std::to_string(bytes.size()) + " bytes for a " +
                              std::to_string(sizeof(R)) +
                              "-byte value; sender and receiver disagree on its type");
    }
    R value;
    std::memcpy(&value, bytes.data(), sizeof value);
    return value;
  } else {
    if (!reader) reader.emplace();
    R value{};
    reader->reset(bytes);
    reader->read(value);
    reader->expect_end();
    return value;
  }
}

template <class R>
class PromiseSink final : public CallSink {
 public:
  explicit PromiseSink(std::size_t n) : promises_(n) {
    for (const Promise<R>& p : promises_) mark_out_of_process(p);
  }

  Future<R> future(std::size_t i) const { return promises_[i].get_future(); }

  void start(std::vector<std::uint32_t>& started) noexcept override {
    for (std::size_t i = 0; i < promises_.size(); ++i) {
      try {
        if (promises_[i].set_running_or_notify_cancel()) {
          started.push_back(static_cast<std::uint32_t>(i));
        }
      } catch (...) {  // already finished: nothing to send
      }
    }
  }
  void cancel(std::size_t i) noexcept override { promises_[i].get_future().cancel(); }
  void deliver(std::size_t first, std::span<const std::string_view> values) noexcept override {
    for (std::size_t k = 0; k < values.size(); ++k) {
      const std::size_t i = first + k;
      try {
        if constexpr (std::is_void_v<R>) {
          decode_process_result<R>(reader_, values[k]);
          promises_[i].set_result();
        } else {
          promises_[i].set_result(decode_process_result<R>(reader_, values[k]));
        }
      } catch (...) {
        fail(i, std::current_exception());
      }
    }
  }
  void fail(std::size_t i, std::exception_ptr error) noexcept override {
    CoreAccess::core(promises_[i].get_future())->try_set_exception(std::move(error));
  }
  const FutureCoreBase* single_item_future() const noexcept override {
    return promises_.size() == 1 ? CoreAccess::core(promises_[0].get_future()).get() : nullptr;
  }

 private:
  std::vector<Promise<R>> promises_;
  // Used by whichever thread finishes the call's items (the pool's management thread, or
  // the one waiting for a submit's result), one at a time.
  std::optional<ValueReader> reader_;
};

// The futures of a map() chunk: one Future<ChunkResults<R>> for all its items, not one
// per item (the allocations, locks and wake-ups of a future per element cost more than
// the elements themselves). It finishes once the last item's outcome is in; the reader
// finds each element's value or exception in its place. The chunk is started and
// cancelled as a whole.
template <class R>
class ChunkSink final : public CallSink {
 public:
  explicit ChunkSink(std::size_t n) : size_(n) {
    results_.reserve(n);
    mark_out_of_process(promise_);
  }

  Future<ChunkResults<R>> future() const { return promise_.get_future(); }

  // The chunk starts, or was cancelled, as a whole.
  void start(std::vector<std::uint32_t>& started) noexcept override {
    try {
      if (!promise_.set_running_or_notify_cancel()) return;
    } catch (...) {  // already finished: nothing to send
      return;
    }
    for (std::size_t i = 0; i < size_; ++i) started.push_back(static_cast<std::uint32_t>(i));
  }
  void cancel(std::size_t) noexcept override { promise_.get_future().cancel(); }
  void deliver(std::size_t first, std::span<const std::string_view> values) noexcept override {
    if (first != results_.size() || values.size() > size_ - first) {
      (void)CoreAccess::core(promise_.get_future())
          ->try_set_exception(
              std::make_exception_ptr(std::logic_error("a chunk's results arrived out of order")));
      return;
    }
    for (const std::string_view bytes : values) {
      try {
        results_.add_value(decode_process_result<R>(reader_, bytes));
      } catch (...) {
        results_.add_error(std::current_exception());
      }
    }
    finish_if_complete();
  }
  // Out of order (the pool failing a chunk it had already begun to finish), the error
  // fails the chunk as a whole: every element rethrows it.
  void fail(std::size_t i, std::exception_ptr error) noexcept override {
    if (i == results_.size() && i < size_) {
      results_.add_error(std::move(error));
      finish_if_complete();
    } else {
      (void)CoreAccess::core(promise_.get_future())->try_set_exception(std::move(error));
    }
  }

 private:
  void finish_if_complete() noexcept {
    if (results_.size() != size_) return;
    try {
      promise_.set_result(std::move(results_));
    } catch (...) {  // already failed as a whole, or moving an R threw
      (void)CoreAccess::core(promise_.get_future())->try_set_exception(std::current_exception());
    }
  }

  std::size_t size_;
  Promise<ChunkResults<R>> promise_;
  ChunkResults<R> results_;            // reserved up front: adding never allocates
  std::optional<ValueReader> reader_;  // used by the pool's management thread only
};

// One message's worth of work on its way to a worker: the entry, the callable, and the
// encoded arguments of each item, back to back.
struct ProcessCall {
  const char* entry_key = nullptr;
  std::string fn_bytes;
  std::string args;
  std::vector<std::size_t> ends;  // item i's arguments are args[ends[i-1], ends[i])
  std::unique_ptr<CallSink> sink;
  std::vector<std::uint64_t> timeline_ids;          // filled by the pool when it records a Timeline
  std::optional<std::chrono::nanoseconds> timeout;  // CallOptions::timeout (submit only)

  std::size_t size() const { return ends.size(); }
  std::string_view item_args(std::size_t i) const {
    const std::size_t begin = i == 0 ? 0 : ends[i - 1];
    return std::string_view(args).substr(begin, ends[i] - begin);
  }
};

// Throws std::length_error, saying what to do, unless `call` fits one message to a
// worker, and one message can answer its items (a message takes less than 2 GiB). Any
// thread; before the call is submitted, so that the pool never holds what it cannot send.
void check_call_size(const ProcessCall& call);

}  // namespace concurrent::futures::detail
