// ProcessPoolExecutor, what crosses to a worker and back: every kind of callable,
// exceptions as their own types, serialization failures that fail one future, and big
// values, for each start method. (What it shares with the thread pool is in
// executor_test.cpp.)
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include "concurrent/futures/process_pool.hpp"
#include "process_pool_test_util.hpp"

namespace cf = concurrent::futures;
using namespace std::chrono_literals;

namespace {

using namespace concurrent::futures::test;  // process_pool_test_util.hpp

// What the workers run.

std::string greet(std::string name) { return "hello " + name; }
void nothing() {}

struct Math {
  static int twice(int x) { return 2 * x; }
};

// A function object with state: crosses because cereal can serialize it.
struct Scale {
  int factor = 1;
  int operator()(int x) const { return factor * x; }
  template <class Archive>
  void serialize(Archive& ar) {
    ar(factor);
  }
};

// An empty function object: crosses as its type.
struct Negate {
  int operator()(int x) const { return -x; }
};

struct Point {
  int x = 0;
  int y = 0;
  std::string label;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(x, y, label);
  }
  friend bool operator==(const Point&, const Point&) = default;
};
Point mirror(Point p) { return Point{p.y, p.x, p.label + "'"}; }

struct CustomError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
int throw_custom(int) { throw CustomError("custom failure"); }
int throw_int(int) { throw 42; }
template <class E>
int throw_std(std::string message) {
  throw E(message);
}
int throw_bad_alloc(int) { throw std::bad_alloc(); }
int throw_timeout(int) { throw cf::TimeoutError("from the worker"); }

// Saving fails in the parent: an argument that cannot be serialized.
struct Unsendable {
  template <class Archive>
  void save(Archive&) const {
    throw std::length_error("this value refuses to be serialized");
  }
  template <class Archive>
  void load(Archive&) {}
};
int take_unsendable(Unsendable) { return 1; }

// Loading fails in the parent: a result that cannot be read back.
struct Unreadable {
  int parent = 0;
  template <class Archive>
  void save(Archive& ar) const {
    ar(parent);
  }
  template <class Archive>
  void load(Archive& ar) {
    ar(parent);
    if (::getpid() == parent) throw std::overflow_error("this value refuses to be read");
  }
};
Unreadable make_unreadable(int parent) { return Unreadable{parent}; }

// Saving fails where `refuse` says: 1 in whichever process saves it (so as an argument,
// in the parent), and a value made from one with 2 gets 1 (so as a result, in the worker).
struct Fussy {
  int value = 0;
  int refuse = 0;
  template <class Archive>
  void save(Archive& ar) const {
    if (refuse == 1) throw std::length_error("this value refuses to be serialized");
    ar(value, refuse);
  }
  template <class Archive>
  void load(Archive& ar) {
    ar(value, refuse);
  }
};
Fussy bump(Fussy f) { return Fussy{f.value + 1, f.refuse == 2 ? 1 : 0}; }

class ProcessPoolCalls : public ProcessPoolTest {};
INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessPoolCalls, kStartMethods, start_method_name);

TEST_P(ProcessPoolCalls, RunsEveryKindOfCallable) {
  cf::ProcessPoolExecutor pool(options(2));
  EXPECT_EQ(pool.submit(square, 7).result(kLongTimeout), 49);
  EXPECT_EQ(pool.submit(&add, 2, 3).result(kLongTimeout), 5);
  EXPECT_EQ(pool.submit(Math::twice, 21).result(kLongTimeout), 42);
  EXPECT_EQ(pool.submit([](int a, int b) { return a * b; }, 6, 7).result(kLongTimeout), 42);
  EXPECT_EQ(pool.submit(Negate{}, 5).result(kLongTimeout), -5);
  EXPECT_EQ(pool.submit(Scale{3}, 5).result(kLongTimeout), 15);
  EXPECT_EQ(pool.submit(greet, "ada").result(kLongTimeout), "hello ada");
  pool.submit(nothing).result(kLongTimeout);
  EXPECT_EQ(pool.submit(mirror, Point{1, 2, "p"}).result(kLongTimeout), (Point{2, 1, "p'"}));
  const int worker = pool.submit(my_pid).result(kLongTimeout);
  EXPECT_NE(worker, ::getpid());
  std::vector<int> pids = pool.worker_pids();
  EXPECT_NE(std::find(pids.begin(), pids.end(), worker), pids.end());
}

TEST_P(ProcessPoolCalls, ExceptionsComeBackAsTheSameType) {
  cf::ProcessPoolExecutor pool(options(2));
  auto check = [&](auto fn, auto tag, const char* type) {
    using E = typename decltype(tag)::type;
    cf::Future<int> f = pool.submit(fn, std::string("message of ") + type);
    std::exception_ptr e = f.exception(kLongTimeout);
    if (!e) {
      ADD_FAILURE() << type << ": no exception";
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const E& caught) {
      EXPECT_EQ(typeid(caught), typeid(E)) << type;
      EXPECT_EQ(std::string(caught.what()), std::string("message of ") + type);
    } catch (...) {
      ADD_FAILURE() << type << " came back as another type";
    }
  };
  check(throw_std<std::logic_error>, std::type_identity<std::logic_error>{}, "logic_error");
  check(throw_std<std::invalid_argument>, std::type_identity<std::invalid_argument>{},
        "invalid_argument");
  check(throw_std<std::domain_error>, std::type_identity<std::domain_error>{}, "domain_error");
  check(throw_std<std::length_error>, std::type_identity<std::length_error>{}, "length_error");
  check(throw_std<std::out_of_range>, std::type_identity<std::out_of_range>{}, "out_of_range");
  check(throw_std<std::runtime_error>, std::type_identity<std::runtime_error>{}, "runtime_error");
  check(throw_std<std::range_error>, std::type_identity<std::range_error>{}, "range_error");
  check(throw_std<std::overflow_error>, std::type_identity<std::overflow_error>{},
        "overflow_error");
  check(throw_std<std::underflow_error>, std::type_identity<std::underflow_error>{},
        "underflow_error");
  check(throw_std<cf::InvalidStateError>, std::type_identity<cf::InvalidStateError>{},
        "InvalidStateError");
  check(throw_std<cf::BrokenThreadPool>, std::type_identity<cf::BrokenThreadPool>{},
        "BrokenThreadPool");

  // Each future outlives the handler that reads its exception: the exception object is
  // shared with the future, and its reference count lives in (uninstrumented) libstdc++,
  // so under ThreadSanitizer the future must be what orders the reads before the free.
  cf::Future<int> bad_alloc = pool.submit(throw_bad_alloc, 0);
  EXPECT_THROW((void)bad_alloc.result(kLongTimeout), std::bad_alloc);
  cf::Future<int> timeout = pool.submit(throw_timeout, 0);
  try {
    (void)timeout.result(kLongTimeout);
    ADD_FAILURE() << "no exception";
  } catch (const cf::TimeoutError& e) {
    EXPECT_STREQ(e.what(), "from the worker");
  }
  cf::Future<int> custom = pool.submit(throw_custom, 0);
  try {
    (void)custom.result(kLongTimeout);
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {  // its nearest standard base
    EXPECT_EQ(cf::original_type_name(e), "(anonymous namespace)::CustomError");
    EXPECT_STREQ(e.what(), "custom failure");
  }
  cf::Future<int> thrown_int = pool.submit(throw_int, 0);
  try {
    (void)thrown_int.result(kLongTimeout);
    ADD_FAILURE() << "no exception";
  } catch (const cf::RemoteError& e) {
    EXPECT_EQ(e.type_name(), "int");
  }
  EXPECT_EQ(pool.submit(square, 3).result(kLongTimeout), 9) << "the pool is still usable";
}

TEST_P(ProcessPoolCalls, SerializationFailuresFailOnlyTheirFuture) {
  cf::ProcessPoolExecutor pool(options(2));
  cf::Future<int> bad_argument = pool.submit(take_unsendable, Unsendable{});
  EXPECT_THROW((void)bad_argument.result(kLongTimeout), std::length_error);
  cf::Future<Unreadable> bad_result = pool.submit(make_unreadable, static_cast<int>(::getpid()));
  EXPECT_THROW((void)bad_result.result(kLongTimeout), std::overflow_error);
  EXPECT_EQ(pool.submit(square, 5).result(kLongTimeout), 25);
}

// In a map() chunk, an element whose argument (in the parent) or result (in the worker)
// fails to serialize fails alone, in its place; its neighbours in the chunk keep theirs.
TEST_P(ProcessPoolCalls, SerializationFailuresInAChunkFailOnlyTheirElement) {
  cf::ProcessPoolExecutor pool(options(2));
  const std::vector<Fussy> in{{0, 0}, {1, 1}, {2, 0}, {3, 2}, {4, 0}, {5, 2}, {6, 0}};
  std::vector<std::string> seen;
  auto results = pool.map(cf::MapOptions{.timeout = kLongTimeout, .chunksize = 3}, bump, in);
  for (auto it = results.begin(); it != results.end(); ++it) {
    try {
      seen.push_back(std::to_string(it->value));
    } catch (const std::length_error& e) {
      EXPECT_STREQ(e.what(), "this value refuses to be serialized");
      seen.emplace_back("error");
    }
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"1", "error", "3", "error", "5", "error", "7"}));
  EXPECT_EQ(pool.submit(square, 5).result(kLongTimeout), 25) << "the pool is still usable";
}

TEST_P(ProcessPoolCalls, BigArgumentsAndResultsCross) {
  cf::ProcessPoolExecutor pool(options(2));
  std::vector<cf::Future<std::size_t>> fs;
  for (int i = 0; i < 4; ++i) fs.push_back(pool.submit(byte_count, std::vector<char>(3 << 20)));
  for (auto& f : fs) EXPECT_EQ(f.result(kLongTimeout), std::size_t{3} << 20);
  auto big =
      pool.submit([](int n) { return std::string(static_cast<std::size_t>(n), 'x'); }, 5 << 20);
  EXPECT_EQ(big.result(kLongTimeout).size(), std::size_t{5} << 20);
}

}  // namespace
