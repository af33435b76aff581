// Readable type names for messages: the demangled form of a std::type_info name.
#pragma once

#include <exception>
#include <string>

namespace concurrent::futures::detail {

// The demangled form of a mangled type name (or the name itself if it is not one;
// "(unknown type)" for null).
std::string demangle(const char* mangled);

// The demangled name of the exception's dynamic type ("(unknown type)" for null, or a
// thrown value whose type the runtime cannot name).
std::string exception_type_name(const std::exception_ptr& error);

}  // namespace concurrent::futures::detail
