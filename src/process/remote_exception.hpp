// Exceptions across the process boundary. A worker encodes the exception a call threw
// as (kind, type name, message); the parent rebuilds the same type for the standard
// exception types and the library's own, and a RemoteError for anything else.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

namespace concurrent::futures::detail {

struct EncodedException {
  std::uint8_t kind = 0;  // which type to rebuild; 0: RemoteError
  std::string type_name;  // demangled name of the dynamic type
  std::string message;    // what()
};

// Worker side. Never throws.
EncodedException encode_exception(const std::exception_ptr& error) noexcept;

// Parent side: an exception_ptr to the rebuilt exception. Never throws (an unknown
// kind becomes a RemoteError).
std::exception_ptr rebuild_exception(std::uint8_t kind, std::string_view type_name,
                                     std::string_view message) noexcept;

// The demangled form of a mangled type name (or the name itself if it is not one).
std::string demangle(const char* mangled);

}  // namespace concurrent::futures::detail
