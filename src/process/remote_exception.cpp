#include "process/remote_exception.hpp"

#include <cxxabi.h>

#include <any>
#include <cereal/details/helpers.hpp>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <typeinfo>
#include <variant>

#include "concurrent/futures/errors.hpp"

namespace concurrent::futures::detail {

namespace {

// The types that come back as themselves. Append only: the kind is the index + 1, and
// both ends are the same executable, but keeping the order stable keeps it readable.
enum Kind : std::uint8_t {
  kRemote = 0,
  kException,
  kLogicError,
  kInvalidArgument,
  kDomainError,
  kLengthError,
  kOutOfRange,
  kRuntimeError,
  kRangeError,
  kOverflowError,
  kUnderflowError,
  kBadAlloc,
  kBadArrayNewLength,
  kBadCast,
  kBadTypeid,
  kBadFunctionCall,
  kBadOptionalAccess,
  kBadVariantAccess,
  kBadAnyCast,
  kBadWeakPtr,
  kBadException,
  kError,
  kCancelledError,
  kTimeoutError,
  kInvalidStateError,
  kBrokenPromise,
  kRemoteError,
  kBrokenExecutor,
  kBrokenThreadPool,
  kBrokenProcessPool,
  kCerealException,
  kKindCount,
};

template <class E>
bool is(const std::type_info& t) {
  return t == typeid(E);
}

std::uint8_t kind_of(const std::type_info& t) {
  if (is<std::exception>(t)) return kException;
  if (is<std::logic_error>(t)) return kLogicError;
  if (is<std::invalid_argument>(t)) return kInvalidArgument;
  if (is<std::domain_error>(t)) return kDomainError;
  if (is<std::length_error>(t)) return kLengthError;
  if (is<std::out_of_range>(t)) return kOutOfRange;
  if (is<std::runtime_error>(t)) return kRuntimeError;
  if (is<std::range_error>(t)) return kRangeError;
  if (is<std::overflow_error>(t)) return kOverflowError;
  if (is<std::underflow_error>(t)) return kUnderflowError;
  if (is<std::bad_alloc>(t)) return kBadAlloc;
  if (is<std::bad_array_new_length>(t)) return kBadArrayNewLength;
  if (is<std::bad_cast>(t)) return kBadCast;
  if (is<std::bad_typeid>(t)) return kBadTypeid;
  if (is<std::bad_function_call>(t)) return kBadFunctionCall;
  if (is<std::bad_optional_access>(t)) return kBadOptionalAccess;
  if (is<std::bad_variant_access>(t)) return kBadVariantAccess;
  if (is<std::bad_any_cast>(t)) return kBadAnyCast;
  if (is<std::bad_weak_ptr>(t)) return kBadWeakPtr;
  if (is<std::bad_exception>(t)) return kBadException;
  if (is<Error>(t)) return kError;
  if (is<CancelledError>(t)) return kCancelledError;
  if (is<TimeoutError>(t)) return kTimeoutError;
  if (is<InvalidStateError>(t)) return kInvalidStateError;
  if (is<BrokenPromise>(t)) return kBrokenPromise;
  if (is<RemoteError>(t)) return kRemoteError;
  if (is<BrokenExecutor>(t)) return kBrokenExecutor;
  if (is<BrokenThreadPool>(t)) return kBrokenThreadPool;
  if (is<BrokenProcessPool>(t)) return kBrokenProcessPool;
  if (is<cereal::Exception>(t)) return kCerealException;
  return kRemote;
}

template <class E>
std::exception_ptr make(std::string_view message) {
  return std::make_exception_ptr(E(std::string(message)));
}

std::exception_ptr rebuild(std::uint8_t kind, std::string_view type_name,
                           std::string_view message) {
  switch (kind) {
    case kException:
      return std::make_exception_ptr(std::exception());
    case kLogicError:
      return make<std::logic_error>(message);
    case kInvalidArgument:
      return make<std::invalid_argument>(message);
    case kDomainError:
      return make<std::domain_error>(message);
    case kLengthError:
      return make<std::length_error>(message);
    case kOutOfRange:
      return make<std::out_of_range>(message);
    case kRuntimeError:
      return make<std::runtime_error>(message);
    case kRangeError:
      return make<std::range_error>(message);
    case kOverflowError:
      return make<std::overflow_error>(message);
    case kUnderflowError:
      return make<std::underflow_error>(message);
    case kBadAlloc:
      return std::make_exception_ptr(std::bad_alloc());
    case kBadArrayNewLength:
      return std::make_exception_ptr(std::bad_array_new_length());
    case kBadCast:
      return std::make_exception_ptr(std::bad_cast());
    case kBadTypeid:
      return std::make_exception_ptr(std::bad_typeid());
    case kBadFunctionCall:
      return std::make_exception_ptr(std::bad_function_call());
    case kBadOptionalAccess:
      return std::make_exception_ptr(std::bad_optional_access());
    case kBadVariantAccess:
      return std::make_exception_ptr(std::bad_variant_access());
    case kBadAnyCast:
      return std::make_exception_ptr(std::bad_any_cast());
    case kBadWeakPtr:
      return std::make_exception_ptr(std::bad_weak_ptr());
    case kBadException:
      return std::make_exception_ptr(std::bad_exception());
    case kError:
      return make<Error>(message);
    case kCancelledError:
      return make<CancelledError>(message);
    case kTimeoutError:
      return make<TimeoutError>(message);
    case kInvalidStateError:
      return make<InvalidStateError>(message);
    case kBrokenPromise:
      return make<BrokenPromise>(message);
    case kBrokenExecutor:
      return make<BrokenExecutor>(message);
    case kBrokenThreadPool:
      return make<BrokenThreadPool>(message);
    case kBrokenProcessPool:
      return make<BrokenProcessPool>(message);
    case kCerealException:
      return make<cereal::Exception>(message);
    case kRemoteError:  // a RemoteError from a nested pool: keep its original type name
    default:
      return std::make_exception_ptr(RemoteError(std::string(type_name), std::string(message)));
  }
}

}  // namespace

std::string demangle(const char* mangled) {
  if (mangled == nullptr) return "(unknown type)";
  if (*mangled == '*') ++mangled;  // g++ marks types with internal linkage
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

EncodedException encode_exception(const std::exception_ptr& error) noexcept {
  EncodedException out;
  try {
    try {
      std::rethrow_exception(error);
    } catch (const RemoteError& e) {
      out.kind = kRemoteError;
      out.type_name = e.type_name();
      out.message = e.what();
    } catch (const std::exception& e) {
      const std::type_info& t = typeid(e);
      out.kind = kind_of(t);
      out.type_name = demangle(t.name());
      out.message = e.what();
    } catch (...) {
      const std::type_info* t = abi::__cxa_current_exception_type();
      out.kind = kRemote;
      out.type_name = t ? demangle(t->name()) : "(unknown type)";
      out.message = "the call threw an exception of type " + out.type_name +
                    ", which does not derive from std::exception";
    }
  } catch (...) {  // out of memory while encoding
    out.kind = kBadAlloc;
  }
  return out;
}

std::exception_ptr rebuild_exception(std::uint8_t kind, std::string_view type_name,
                                     std::string_view message) noexcept {
  try {
    return rebuild(kind < kKindCount ? kind : std::uint8_t{kRemote}, type_name, message);
  } catch (...) {
    return std::current_exception();
  }
}

}  // namespace concurrent::futures::detail
