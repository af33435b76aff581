// Exceptions across the process boundary. A worker encodes the exception a call threw
// (what crosses is in wire.hpp, "result"); the parent rebuilds it:
//
// - a type registered with register_exception<E>() comes back as E;
// - a standard exception type, or one of the library's own, comes back as itself;
// - a type derived from one of those comes back as a type derived from its nearest such
//   base (a `BadConfig : std::invalid_argument` is caught as std::invalid_argument),
//   with the original what(), and original_type_name() naming "BadConfig";
// - std::system_error and its family keep code() (and filesystem_error its paths);
// - anything else (types derived from std::exception alone, and non-std::exception
//   types) comes back as RemoteError with the original type's name.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

namespace concurrent::futures::detail {

// Mixed into an exception rebuilt as a standard base of the type a worker threw, so that
// original_type_name() can name that type.
class RemoteOrigin {
 public:
  explicit RemoteOrigin(std::string type_name);
  RemoteOrigin(const RemoteOrigin&) = default;
  RemoteOrigin& operator=(const RemoteOrigin&) = default;
  virtual ~RemoteOrigin();
  const std::string& type_name() const noexcept { return type_name_; }

 private:
  std::string type_name_;
};

// What a result message carries for a call that threw (wire.hpp, "result").
struct EncodedException {
  std::uint8_t kind = 0;  // the nearest type the parent rebuilds
  std::string type_name;  // demangled name of the thrown type
  std::string message;    // what()
  std::string details;    // the rest: codes, paths, a registered type's state
};

// Worker side. Never throws (out of memory while encoding, it encodes std::bad_alloc).
EncodedException encode_exception(const std::exception_ptr& error) noexcept;

// Parent side: the rebuilt exception. Never throws: details it cannot read make a
// RemoteError saying so; an unknown kind makes a RemoteError.
std::exception_ptr rebuild_exception(std::uint8_t kind, std::string_view type_name,
                                     std::string_view message, std::string_view details) noexcept;

}  // namespace concurrent::futures::detail
