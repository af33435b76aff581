// fmt::formatter for the types a user prints: FutureState and StartMethod (by name),
// Future<T> and AnyFuture (like Python's repr()):
//
//   fmt::print("{}\n", pool.submit(f));   // <Future at 0x5581d0 state=finished returned int>
//   fmt::print("{}\n", future.state());   // running
//
// Optional: the rest of the library does not need fmt. A program that includes this
// finds and links fmt itself (`find_package(fmt CONFIG REQUIRED)`, `fmt::fmt`).
#pragma once

#include <fmt/format.h>

#include <string_view>
#include <typeinfo>

#include "concurrent/futures/future.hpp"
#include "concurrent/futures/process_pool.hpp"

namespace concurrent::futures::detail {

// What the formatters print for a handle; an empty one prints "<Future (empty)>".
inline std::string repr_of(const FutureHandle& handle, const std::type_info* value_type) {
  const auto& core = CoreAccess::core(handle);
  return core ? core->repr(value_type) : std::string("<Future (empty)>");
}

}  // namespace concurrent::futures::detail

// Each formatter takes the format spec of a string ("{:>30}" pads).
template <>
struct fmt::formatter<concurrent::futures::FutureState> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(concurrent::futures::FutureState state, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(concurrent::futures::to_string(state), ctx);
  }
};

template <>
struct fmt::formatter<concurrent::futures::StartMethod> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(concurrent::futures::StartMethod method, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(concurrent::futures::to_string(method), ctx);
  }
};

template <class T>
struct fmt::formatter<concurrent::futures::Future<T>> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const concurrent::futures::Future<T>& future, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(
        concurrent::futures::detail::repr_of(future, &typeid(T)), ctx);
  }
};

template <>
struct fmt::formatter<concurrent::futures::AnyFuture> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const concurrent::futures::AnyFuture& future, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(
        concurrent::futures::detail::repr_of(future, nullptr), ctx);
  }
};
