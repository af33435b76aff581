// How values cross to a worker process and back: cereal's binary archives over a
// std::string, plus the traits ProcessPoolExecutor uses to reject, at compile time,
// what cannot cross.
//
// Every standard type cereal supports is usable at once (this header includes cereal's
// support for strings, containers, tuples, optional, variant, chrono, ...). A user type
// crosses once it has a cereal `serialize` member (or `save`/`load`), and is default
// constructible (the worker builds it, then loads it).
//
// Thread safety: all functions are reentrant; they touch only their arguments.
#pragma once

#include <cereal/archives/binary.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/bitset.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/complex.hpp>
#include <cereal/types/deque.hpp>
#include <cereal/types/forward_list.hpp>
#include <cereal/types/list.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/memory.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/queue.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/stack.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/valarray.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>
#include <cstddef>
#include <cstring>
#include <istream>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace concurrent::futures::detail {

// Arithmetic values: cereal's binary archives write them as their raw bytes, so
// ValueWriter and ValueReader copy those bytes themselves, byte for byte what cereal
// would, without its stream (for a map() of small numbers, the stream's virtual calls
// cost more than everything else about an element).
template <class T>
inline constexpr bool is_raw_binary_v = std::is_arithmetic_v<T>;

// A write-only streambuf that appends to a std::string (no intermediate buffer, so
// cereal's writes land in the string at once and its size marks item boundaries).
class StringAppendBuf final : public std::streambuf {
 public:
  explicit StringAppendBuf(std::string* out) : out_(out) {}
  void retarget(std::string* out) { out_ = out; }
  std::string& target() { return *out_; }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_->append(s, static_cast<std::size_t>(n));
    return n;
  }
  int_type overflow(int_type ch) override {
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      out_->push_back(traits_type::to_char_type(ch));
    }
    return traits_type::not_eof(ch);
  }

 private:
  std::string* out_;
};

// A read-only streambuf over bytes it does not own.
class ViewBuf final : public std::streambuf {
 public:
  ViewBuf() = default;
  explicit ViewBuf(std::string_view in) { reset(in); }
  void reset(std::string_view in) {
    // std::streambuf wants char*, but a get area is never written through.
    char* p = const_cast<char*>(in.data());
    setg(p, p, p + in.size());
  }
  std::size_t remaining() const { return static_cast<std::size_t>(egptr() - gptr()); }
  // The next `n` bytes, consumed; null (consuming nothing) if fewer are left.
  const char* take(std::size_t n) {
    if (remaining() < n) return nullptr;
    const char* p = gptr();
    gbump(static_cast<int>(n));
    return p;
  }
};

// An output archive writing into a string; reusable across items.
class ValueWriter {
 public:
  explicit ValueWriter(std::string* out) : buf_(out), stream_(&buf_), archive_(stream_) {}
  void retarget(std::string* out) { buf_.retarget(out); }
  template <class... T>
  void write(const T&... values) {
    (write_one(values), ...);
  }

 private:
  template <class T>
  void write_one(const T& value) {
    if constexpr (is_raw_binary_v<T>) {
      buf_.target().append(reinterpret_cast<const char*>(&value), sizeof value);
    } else {
      archive_(value);
    }
  }

  StringAppendBuf buf_;
  std::ostream stream_;
  cereal::BinaryOutputArchive archive_;
};

// An input archive reading from a view; reset() points it at the next item.
class ValueReader {
 public:
  ValueReader() : stream_(&buf_), archive_(stream_) {}
  void reset(std::string_view in) {
    buf_.reset(in);
    // Only cereal's reads go through the stream; a raw value's read leaves it good (and
    // an out-of-line clear() per element of a map() chunk costs more than the element).
    if (stream_.rdstate() != std::ios::goodbit) stream_.clear();
  }
  template <class... T>
  void read(T&... values) {
    (read_one(values), ...);
  }
  // Throws cereal::Exception unless every byte was consumed: a value that decodes from
  // fewer bytes than were sent is not the value that was sent.
  void expect_end() const {
    if (buf_.remaining() != 0) {
      throw cereal::Exception("the serialized value has " + std::to_string(buf_.remaining()) +
                              " bytes left over after decoding; sender and receiver disagree "
                              "on its type");
    }
  }

 private:
  template <class T>
  void read_one(T& value) {
    if constexpr (is_raw_binary_v<T>) {
      const char* p = buf_.take(sizeof value);
      if (p == nullptr) {
        throw cereal::Exception("Failed to read " + std::to_string(sizeof value) +
                                " bytes from input stream! Read " +
                                std::to_string(buf_.remaining()));
      }
      std::memcpy(&value, p, sizeof value);
    } else {
      archive_(value);
    }
  }

  ViewBuf buf_;
  std::istream stream_;
  cereal::BinaryInputArchive archive_;
};

template <class T>
inline constexpr bool is_cereal_serializable_v =
    cereal::traits::is_output_serializable<T, cereal::BinaryOutputArchive>::value&&
        cereal::traits::is_input_serializable<T, cereal::BinaryInputArchive>::value;

// A value that can be an argument or a result of a call in a worker process.
template <class T>
inline constexpr bool is_process_value_v =
    std::is_object_v<T> && !std::is_pointer_v<T> && !std::is_const_v<T> &&
    is_cereal_serializable_v<T> && std::is_default_constructible_v<T> &&
    std::is_move_constructible_v<T>;

template <class F>
inline constexpr bool is_function_pointer_v =
    std::is_pointer_v<F>&& std::is_function_v<std::remove_pointer_t<F>>;

// Captureless lambdas and empty function objects: the worker default-constructs one.
template <class F>
inline constexpr bool is_stateless_callable_v =
    std::is_class_v<F>&& std::is_empty_v<F>&& std::is_default_constructible_v<F>;

// What ProcessPoolExecutor can run: a free or static member function, a captureless
// lambda, an empty function object, or a function object cereal can serialize.
template <class F>
inline constexpr bool is_process_callable_v = is_function_pointer_v<F> ||
                                              is_stateless_callable_v<F> ||
                                              (std::is_class_v<F> && is_process_value_v<F>);

// String literals and char pointers travel as std::string (a pointer means nothing in
// another process); everything else as its decayed type.
template <class A>
using ProcessArg = std::conditional_t<std::is_same_v<std::decay_t<A>, const char*> ||
                                          std::is_same_v<std::decay_t<A>, char*>,
                                      std::string, std::decay_t<A>>;

}  // namespace concurrent::futures::detail
