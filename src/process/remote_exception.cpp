#include "process/remote_exception.hpp"

#include <fmt/format.h>

#include <any>
#include <cereal/details/helpers.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <ios>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <variant>

#include "concurrent/futures/detail/exception_codec.hpp"
#include "concurrent/futures/errors.hpp"
#include "demangle.hpp"
#include "process/fork_safety.hpp"
#include "process/wire.hpp"

namespace concurrent::futures::detail {

namespace {

// ---- The types that come back as themselves ------------------------------------------

template <class... E>
struct TypeList {};

// Most derived first: a thrown type is sent as the first entry it derives from, which is
// its nearest rebuildable base. The kind on the wire is the index here (both ends are
// the same executable). std::exception comes last and is only ever sent for itself.
using Rebuildable = TypeList<
    // the library's own
    BrokenProcessPool, BrokenThreadPool, BrokenExecutor, CancelledError, TimeoutError,
    InvalidStateError, BrokenPromise, RemoteError, Error,
    // std::runtime_error and its family
    std::filesystem::filesystem_error, std::ios_base::failure, std::system_error, std::range_error,
    std::overflow_error, std::underflow_error, cereal::Exception, std::runtime_error,
    // std::logic_error and its family
    std::future_error, std::invalid_argument, std::domain_error, std::length_error,
    std::out_of_range, std::logic_error,
    // the rest of the standard library's
    std::bad_array_new_length, std::bad_alloc, std::bad_any_cast, std::bad_cast, std::bad_typeid,
    std::bad_function_call, std::bad_optional_access, std::bad_variant_access, std::bad_weak_ptr,
    std::bad_exception, std::exception>;

template <class E, class... All>
constexpr std::uint8_t index_of(TypeList<All...>) {
  std::uint8_t i = 0;
  const bool found = ((std::is_same_v<E, All> ? true : (++i, false)) || ...);
  return found ? i : 0xff;
}
template <class E>
constexpr std::uint8_t kind_of = index_of<E>(Rebuildable{});

constexpr std::uint8_t kBadAllocKind = kind_of<std::bad_alloc>;
constexpr std::uint8_t kExceptionKind = kind_of<std::exception>;
constexpr std::uint8_t kNotStdKind = 0xfe;  // a type not derived from std::exception

// What crosses for one exception (the wire grammar is in wire.hpp).
struct Parts {
  std::uint8_t kind = kNotStdKind;
  bool exact = false;                // the thrown type is the Rebuildable entry itself
  std::string type_name;             // demangled, for RemoteError and original_type_name()
  std::string mangled_name;          // for the registry of register_exception<E>() types
  std::string message;               // what()
  std::optional<std::string> state;  // a registered type's cereal state
  // std::system_error and its family
  int code_value = 0;
  std::uint8_t category = 0;  // a Category, or kOtherCategory with category_name
  std::string category_name;
  std::string what_arg;  // what() without the ": <code message>" system_error adds
  std::string path1, path2;
};

// ---- Error categories -------------------------------------------------------------------

enum Category : std::uint8_t {
  kGenericCategory = 1,
  kSystemCategory,
  kIostreamCategory,
  kFutureCategory,
  kOtherCategory
};

std::uint8_t category_id(const std::error_category& c) {
  if (c == std::generic_category()) return kGenericCategory;
  if (c == std::system_category()) return kSystemCategory;
  if (c == std::iostream_category()) return kIostreamCategory;
  if (c == std::future_category()) return kFutureCategory;
  return kOtherCategory;
}

// A category the parent does not know: it keeps the worker's category's name, one
// instance per name for the life of the process (codes compare by category identity).
class RemoteCategory final : public std::error_category {
 public:
  explicit RemoteCategory(std::string name) : name_(std::move(name)) {}
  const char* name() const noexcept override { return name_.c_str(); }
  std::string message(int value) const override {
    return fmt::format("error {} of category \"{}\" (raised in a worker process)", value, name_);
  }

 private:
  std::string name_;
};

struct RemoteCategories {
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<RemoteCategory>, std::less<>> by_name;
};

RemoteCategories& remote_categories() {
  static auto* const r = [] {
    auto* created = new RemoteCategories();  // never destroyed: codes may refer to them
    hold_across_fork(created->mutex);
    return created;
  }();
  return *r;
}

const std::error_category& category_from(std::uint8_t id, const std::string& name) {
  switch (id) {
    case kGenericCategory:
      return std::generic_category();
    case kSystemCategory:
      return std::system_category();
    case kIostreamCategory:
      return std::iostream_category();
    case kFutureCategory:
      return std::future_category();
    default: {
      RemoteCategories& r = remote_categories();
      std::lock_guard lock(r.mutex);
      auto it = r.by_name.find(name);
      if (it == r.by_name.end()) {
        it = r.by_name.emplace(name, std::make_unique<RemoteCategory>(name)).first;
      }
      return *it->second;
    }
  }
}

// ---- Registered types (register_exception<E>()) ------------------------------------------

struct Codecs {
  std::mutex mutex;
  std::unordered_map<std::string, ExceptionCodec> by_name;
};

Codecs& codecs() {
  static auto* const r = [] {
    auto* created = new Codecs();  // never destroyed: registrations last the process
    hold_across_fork(created->mutex);
    return created;
  }();
  return *r;
}

// Built during static initialization, before any thread can fork (fork_safety.hpp).
[[maybe_unused]] const bool g_registries_built = (codecs(), remote_categories(), true);

std::optional<ExceptionCodec> find_codec(const std::string& mangled_name) {
  Codecs& c = codecs();
  std::lock_guard lock(c.mutex);
  auto it = c.by_name.find(mangled_name);
  if (it == c.by_name.end()) return std::nullopt;
  return it->second;
}

// ---- Rebuilding ---------------------------------------------------------------------

// A thrown type derived from E comes back as Rebuilt<E>: caught as E, with the original
// what() and the original type's name.
template <class E>
class Rebuilt final : public E, public RemoteOrigin {
 public:
  Rebuilt(E base, std::string type_name, std::string message)
      : E(std::move(base)), RemoteOrigin(std::move(type_name)), message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

template <class E>
E build(const Parts& p) {
  if constexpr (std::is_same_v<E, std::filesystem::filesystem_error>) {
    return E(p.what_arg, p.path1, p.path2,
             std::error_code(p.code_value, category_from(p.category, p.category_name)));
  } else if constexpr (std::is_same_v<E, std::ios_base::failure>) {
    return E(p.what_arg, std::error_code(p.code_value, category_from(p.category, p.category_name)));
  } else if constexpr (std::is_same_v<E, std::system_error>) {
    return E(std::error_code(p.code_value, category_from(p.category, p.category_name)), p.what_arg);
  } else if constexpr (std::is_same_v<E, std::future_error>) {
    return E(static_cast<std::future_errc>(p.code_value));
  } else if constexpr (std::is_same_v<E, RemoteError>) {
    return E(p.type_name, p.message);
  } else if constexpr (std::is_constructible_v<E, const std::string&>) {
    return E(p.message);
  } else {
    return E();
  }
}

template <class E>
std::exception_ptr rebuild_as(const Parts& p) {
  E base = build<E>(p);
  if (p.exact && p.message == base.what()) return std::make_exception_ptr(std::move(base));
  return std::make_exception_ptr(Rebuilt<E>(std::move(base), p.type_name, p.message));
}

template <class... E>
std::exception_ptr rebuild_kind(const Parts& p, TypeList<E...>) {
  std::exception_ptr out;
  std::uint8_t i = 0;
  (void)((i++ == p.kind ? (out = rebuild_as<E>(p), true) : false) || ...);
  return out;
}

std::exception_ptr rebuild(const Parts& p) {
  if (auto codec = find_codec(p.mangled_name); codec && codec->rebuild) {
    try {
      const std::string_view state = p.state ? std::string_view(*p.state) : std::string_view();
      if (std::exception_ptr e = codec->rebuild(p.message, p.state ? &state : nullptr)) return e;
    } catch (...) {  // its state did not load: fall back to its nearest standard base
    }
  }
  // A type derived from std::exception alone has no nearer standard base to be caught
  // by; RemoteError (a std::exception too) at least keeps what() and the type's name.
  if (p.kind == kNotStdKind || (p.kind == kExceptionKind && !p.exact)) {
    return std::make_exception_ptr(RemoteError(p.type_name, p.message));
  }
  std::exception_ptr e = rebuild_kind(p, Rebuildable{});
  if (!e) {
    return std::make_exception_ptr(RemoteError(
        p.type_name, fmt::format("{} (the pool could not tell which type to rebuild, kind {})",
                                 p.message, p.kind)));
  }
  return e;
}

// ---- Encoding -----------------------------------------------------------------------

template <class E>
bool derives_from(const std::exception& e) {
  if constexpr (std::is_same_v<E, std::exception>) {
    return true;
  } else {
    return dynamic_cast<const E*>(&e) != nullptr;
  }
}

template <class... E>
std::uint8_t nearest_kind(const std::exception& e, bool& exact, TypeList<E...>) {
  std::uint8_t i = 0;
  const bool found =
      ((derives_from<E>(e) ? (exact = typeid(e) == typeid(E), true) : (++i, false)) || ...);
  return found ? i : kExceptionKind;
}

void describe_code(const std::system_error& e, Parts& p) {
  const std::error_code& code = e.code();
  p.code_value = code.value();
  p.category = category_id(code.category());
  if (p.category == kOtherCategory) p.category_name = code.category().name();
  // std::system_error stores "what_arg: <code message>" as its runtime_error message;
  // filesystem_error builds its what() from that. Take the what_arg back out.
  p.what_arg = e.std::runtime_error::what();
  const std::string suffix = ": " + code.message();
  if (p.what_arg.size() >= suffix.size() &&
      p.what_arg.compare(p.what_arg.size() - suffix.size(), suffix.size(), suffix) == 0) {
    p.what_arg.resize(p.what_arg.size() - suffix.size());
  }
  if (const auto* fs = dynamic_cast<const std::filesystem::filesystem_error*>(&e)) {
    p.path1 = fs->path1().native();
    p.path2 = fs->path2().native();
  }
}

Parts describe(const std::exception_ptr& error) {
  Parts p;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    const std::type_info& type = typeid(e);
    p.kind = nearest_kind(e, p.exact, Rebuildable{});
    p.mangled_name = type.name();
    p.message = e.what();
    if (const auto* remote = dynamic_cast<const RemoteError*>(&e)) {
      p.type_name = remote->type_name();  // a RemoteError from a nested pool
    } else if (const auto* origin = dynamic_cast<const RemoteOrigin*>(&e)) {
      p.type_name = origin->type_name();
    } else {
      p.type_name = demangle(type.name());
    }
    if (const auto* se = dynamic_cast<const std::system_error*>(&e)) describe_code(*se, p);
    if (const auto* fe = dynamic_cast<const std::future_error*>(&e)) {
      p.code_value = fe->code().value();
      p.category = kFutureCategory;
    }
    if (auto codec = find_codec(p.mangled_name); codec && codec->save) {
      try {
        std::string state;
        codec->save(e, state);
        p.state = std::move(state);
      } catch (...) {  // its state did not save: it crosses by its message
      }
    }
  } catch (...) {
    const std::type_info* type = abi::__cxa_current_exception_type();
    p.type_name = type ? demangle(type->name()) : "(unknown type)";
    p.message = fmt::format(
        "the call threw an exception of type {}, which does not derive from std::exception",
        p.type_name);
  }
  return p;
}

// The fields the result message does not carry itself (wire.hpp, "details").
std::string write_details(const Parts& p) {
  std::string out;
  wire::Writer w(out);
  w.u8(p.exact ? 1 : 0);
  w.str(p.mangled_name);
  w.u8(p.state ? 1 : 0);
  if (p.state) w.str(*p.state);
  w.u32(static_cast<std::uint32_t>(p.code_value));
  w.u8(p.category);
  w.str(p.category_name);
  w.str(p.what_arg);
  w.str(p.path1);
  w.str(p.path2);
  return out;
}

void read_details(std::string_view details, Parts& p) {
  wire::Reader r(details);
  p.exact = r.u8() != 0;
  p.mangled_name = r.str();
  if (r.u8() != 0) p.state = std::string(r.str());
  p.code_value = static_cast<int>(r.u32());
  p.category = r.u8();
  p.category_name = r.str();
  p.what_arg = r.str();
  p.path1 = r.str();
  p.path2 = r.str();
  r.expect_end();
}

}  // namespace

RemoteOrigin::RemoteOrigin(std::string type_name) : type_name_(std::move(type_name)) {}
RemoteOrigin::~RemoteOrigin() = default;

void register_exception_codec(const char* mangled_name, ExceptionCodec codec) noexcept {
  try {
    Codecs& c = codecs();
    std::lock_guard lock(c.mutex);
    c.by_name[mangled_name] = codec;
  } catch (...) {
  }
}

EncodedException encode_exception(const std::exception_ptr& error) noexcept {
  EncodedException out;
  try {
    Parts p = describe(error);
    out.details = write_details(p);
    out.kind = p.kind;
    out.type_name = std::move(p.type_name);
    out.message = std::move(p.message);
  } catch (...) {  // out of memory while encoding: whatever the call threw is lost
    out = EncodedException{};
    out.kind = kBadAllocKind;
  }
  return out;
}

std::exception_ptr rebuild_exception(std::uint8_t kind, std::string_view type_name,
                                     std::string_view message, std::string_view details) noexcept {
  try {
    Parts p;
    p.kind = kind;
    p.type_name = type_name;
    p.message = message;
    try {
      if (!details.empty()) read_details(details, p);
    } catch (const wire::WireError& e) {
      return std::make_exception_ptr(RemoteError(
          p.type_name, fmt::format("{} (the rest of the description of this exception could "
                                   "not be read: {})",
                                   p.message, e.what())));
    }
    return rebuild(p);
  } catch (...) {
    return std::current_exception();
  }
}

}  // namespace concurrent::futures::detail

namespace concurrent::futures {

std::string original_type_name(const std::exception& e) {
  if (const auto* remote = dynamic_cast<const RemoteError*>(&e)) return remote->type_name();
  if (const auto* origin = dynamic_cast<const detail::RemoteOrigin*>(&e)) {
    return origin->type_name();
  }
  return detail::demangle(typeid(e).name());
}

}  // namespace concurrent::futures
