// The parent's side of a process-pool call: the callable and arguments encoded for the
// wire (ProcessCall), and the futures its results finish (CallSink). The worker's side,
// entry points, is detail/process_entry.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

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

// The futures of one call message's items, by index.
class CallSink {
 public:
  virtual ~CallSink() = default;
  // Moves item `i`'s future to RUNNING; false if it was cancelled.
  virtual bool start(std::size_t i) noexcept = 0;
  virtual void cancel(std::size_t i) noexcept = 0;
  // Decodes the result and finishes the future with it (or with the decoding error).
  virtual void deliver(std::size_t i, std::string_view bytes) noexcept = 0;
  virtual void fail(std::size_t i, std::exception_ptr error) noexcept = 0;
};

template <class R>
class PromiseSink final : public CallSink {
 public:
  explicit PromiseSink(std::size_t n) : promises_(n) {}

  Future<R> future(std::size_t i) const { return promises_[i].get_future(); }

  bool start(std::size_t i) noexcept override {
    try {
      return promises_[i].set_running_or_notify_cancel();
    } catch (...) {
      return false;
    }
  }
  void cancel(std::size_t i) noexcept override { promises_[i].get_future().cancel(); }
  void deliver(std::size_t i, std::string_view bytes) noexcept override {
    try {
      if constexpr (std::is_void_v<R>) {
        if (!bytes.empty()) throw cereal::Exception("a void call returned a value");
        promises_[i].set_result();
      } else {
        if (!reader_) reader_.emplace();
        R value{};
        reader_->reset(bytes);
        reader_->read(value);
        reader_->expect_end();
        promises_[i].set_result(std::move(value));
      }
    } catch (...) {
      fail(i, std::current_exception());
    }
  }
  void fail(std::size_t i, std::exception_ptr error) noexcept override {
    CoreAccess::core(promises_[i].get_future())->try_set_exception(std::move(error));
  }

 private:
  std::vector<Promise<R>> promises_;
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
  std::vector<std::uint64_t> timeline_ids;  // filled by the pool when it records a Timeline

  std::size_t size() const { return ends.size(); }
  std::string_view item_args(std::size_t i) const {
    const std::size_t begin = i == 0 ? 0 : ends[i - 1];
    return std::string_view(args).substr(begin, ends[i] - begin);
  }
};

}  // namespace concurrent::futures::detail
