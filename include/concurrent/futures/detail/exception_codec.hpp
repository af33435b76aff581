// How register_exception<E>() (process_pool.hpp) teaches both ends of a process pool to
// rebuild E: a codec per registered type, found by the type's mangled name.
#pragma once

#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "concurrent/futures/detail/process_serialization.hpp"

namespace concurrent::futures::detail {

struct ExceptionCodec {
  // Worker side: appends the cereal state of an exception of the registered type to
  // `out`; null when the type crosses by its message alone.
  void (*save)(const std::exception& e, std::string& out) = nullptr;
  // Parent side: the exception rebuilt from its what() and, when the worker sent it,
  // its state (null when it did not); null if it cannot be rebuilt from that.
  std::exception_ptr (*rebuild)(const std::string& message,
                                const std::string_view* state) = nullptr;
};

// Adds (or replaces) the codec of the type whose typeid name is `mangled_name`.
// Thread-safe; never throws (out of memory, the type stays unregistered).
void register_exception_codec(const char* mangled_name, ExceptionCodec codec) noexcept;

template <class E>
struct ExceptionCodecFor {
  static constexpr bool from_message = std::is_constructible_v<E, const std::string&>;
  static constexpr bool with_state =
      is_cereal_serializable_v<E> && (from_message || std::is_default_constructible_v<E>);
  static constexpr bool usable = std::is_base_of_v<std::exception, E> &&
                                 std::is_copy_constructible_v<E> && (from_message || with_state);

  static void save(const std::exception& e, std::string& out) {
    ValueWriter(&out).write(dynamic_cast<const E&>(e));
  }

  static std::exception_ptr rebuild(const std::string& message, const std::string_view* state) {
    if constexpr (!with_state) {
      return std::make_exception_ptr(E(message));
    } else {
      if (state == nullptr && !from_message) return nullptr;  // the worker did not know E
      E e = make(message);
      if (state != nullptr) {
        ValueReader reader;
        reader.reset(*state);
        reader.read(e);
        reader.expect_end();
      }
      return std::make_exception_ptr(std::move(e));
    }
  }

  static ExceptionCodec codec() {
    ExceptionCodec c;
    if constexpr (with_state) c.save = &save;
    c.rebuild = &rebuild;
    return c;
  }

 private:
  static E make(const std::string& message) {
    if constexpr (from_message) {
      return E(message);
    } else {
      return E();
    }
  }
};

}  // namespace concurrent::futures::detail
