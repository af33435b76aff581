// Entry points, the worker's side of a process-pool call: how a worker process finds
// the code for a call without ever being told an address to jump to. (The parent's
// side, the call on its way and the futures it answers, is detail/process_call.hpp.)
//
// Each distinct (callable type, argument types) pair that a program submits to a
// ProcessPoolExecutor instantiates ProcessEntry<F, Args...>. Its static member
// `registered` adds {key, &run} to the process-wide registry when the program starts;
// the key is the mangled name of the instantiation, which is the same in every process
// running the same executable (the worker checks that it runs the same executable
// before it reads a call). A call message names its entry by key; a worker that has no
// entry of that name fails the call with an error and runs nothing.
//
// Registration happens in static initializers, in any order. A spawned worker or fork
// server enters its loop from a static initializer of the library too, so that no
// main() guard is needed; before it reads any message it runs the executable's
// remaining initializers itself (src/process/worker.cpp explains how), so every entry
// is registered and every global of the user's program is built, whatever the link
// order.
//
// A plain function pointer says nothing about *which* function it is, so the function
// itself travels by name too: the parent looks the address up in its executable's
// symbol table and sends the symbol's name; the worker looks the name up in its own
// (identical) table and only calls an address that the table names as the start of a
// function. Captureless lambdas and empty function objects travel as their type
// (default-constructed in the worker); serializable function objects as their bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "concurrent/futures/detail/process_serialization.hpp"

namespace concurrent::futures::detail {

// The worker side of one call message: runs each item and records its outcome.
class ItemRunner {
 public:
  // Decodes item `index`'s arguments, calls, and writes the encoded result to `out`;
  // throws whatever the call (or decoding, or encoding) threw.
  using Body = void (*)(void* context, std::size_t index, std::string& out);
  virtual void run_item(std::size_t index, Body body, void* context) = 0;

 protected:
  ~ItemRunner() = default;
};

// Runs the items of one call message in a worker. `fn_bytes` identifies or encodes the
// callable; `args[i]` holds item i's encoded arguments.
using EntryFn = void (*)(std::string_view fn_bytes, const std::vector<std::string_view>& args,
                         ItemRunner& runner);

// Adds an entry to this process's registry (called from static initializers; never
// throws). Returns true.
bool register_process_entry(const char* key, EntryFn run) noexcept;

// The entry registered under `key`, or null. Two different entries with one key (types
// in anonymous namespaces of different files can share a mangled name) make the key
// ambiguous: null too, and `ambiguous` says so.
EntryFn find_process_entry(std::string_view key, bool* ambiguous = nullptr) noexcept;

// Worker side: the address of the function named `key` by function_symbol_key().
// Throws std::invalid_argument if no symbol of that name starts a function here.
const void* resolve_function_symbol(std::string_view key);

template <class F>
F load_callable(std::string_view bytes) {
  if constexpr (is_function_pointer_v<F>) {
    return reinterpret_cast<F>(const_cast<void*>(resolve_function_symbol(bytes)));
  } else if constexpr (is_stateless_callable_v<F>) {
    return F{};
  } else {
    F fn{};
    ValueReader reader;
    reader.reset(bytes);
    reader.read(fn);
    reader.expect_end();
    return fn;
  }
}

template <class F, class... Args>
using ProcessCallResult = std::decay_t<std::invoke_result_t<F&, Args...>>;

// `DiscardResult`: an initializer's entry, whose value (if any) is dropped in the worker.
template <bool DiscardResult, class F, class... Args>
struct ProcessEntry {
  using Result = ProcessCallResult<F, Args...>;

  static const char* key() noexcept { return typeid(ProcessEntry).name(); }

  static void run(std::string_view fn_bytes, const std::vector<std::string_view>& args,
                  ItemRunner& runner) {
    Context context{args};
    try {
      context.fn.emplace(load_callable<F>(fn_bytes));
    } catch (...) {
      context.fn_error = std::current_exception();
    }
    for (std::size_t i = 0; i < args.size(); ++i) runner.run_item(i, &body, &context);
  }

  static inline const bool registered = register_process_entry(key(), &run);

 private:
  struct Context {
    explicit Context(const std::vector<std::string_view>& a) : args(a) {}
    const std::vector<std::string_view>& args;
    std::optional<F> fn;
    std::exception_ptr fn_error;
    ValueReader reader;
    std::string* out = nullptr;
    std::optional<ValueWriter> writer;
  };

  static void body(void* raw, std::size_t index, std::string& out) {
    Context& c = *static_cast<Context*>(raw);
    if (c.fn_error) std::rethrow_exception(c.fn_error);
    std::tuple<Args...> values;
    c.reader.reset(c.args[index]);
    std::apply([&](auto&... v) { c.reader.read(v...); }, values);
    c.reader.expect_end();
    if constexpr (DiscardResult || std::is_void_v<Result>) {
      std::apply(*c.fn, std::move(values));
    } else {
      Result result = std::apply(*c.fn, std::move(values));
      if (!c.writer) {
        c.writer.emplace(&out);
      } else {
        c.writer->retarget(&out);
      }
      c.writer->write(result);
    }
  }
};

}  // namespace concurrent::futures::detail
