// Type names through the Itanium C++ ABI's demangler (g++ and clang++ on Linux).
#include "demangle.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <typeinfo>

namespace concurrent::futures::detail {

std::string demangle(const char* mangled) {
  if (mangled == nullptr) return "(unknown type)";
  if (*mangled == '*') ++mangled;  // g++ marks types with internal linkage
  int status = 0;
  const std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

std::string exception_type_name(const std::exception_ptr& error) {
  if (!error) return demangle(nullptr);
  try {
    std::rethrow_exception(error);
  } catch (...) {
    const std::type_info* type = abi::__cxa_current_exception_type();
    return demangle(type != nullptr ? type->name() : nullptr);
  }
}

}  // namespace concurrent::futures::detail
