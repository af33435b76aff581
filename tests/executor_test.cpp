// The behavioural suite every executor must pass: one typed test over each executor
// (and, for the process pool, each start method), as CPython's create_executor_tests()
// and folly's ThreadPoolExecutorTest do.
//
// Everything submitted here is a free function (or a static member of a Case) with
// serializable arguments and results, so that a process pool can run it too. To add an
// executor, write a Case and add it to `Cases` below:
//
//   struct MyCase {
//     using Executor = cf::MyExecutor;
//     static constexpr const char* name = "MyExecutor";
//     static Executor make(std::size_t max_workers);   // may return a prvalue
//     class Gate;   // see ThreadPoolCase::Gate: blocks calls until the test opens it
//   };
//
// A Gate is what lets the tests hold workers busy without sleeping: `token()` is a
// serializable value passed to the static `Gate::blocked_call(token, x)`, which waits
// until `open()` (or kLongTimeout) and returns x. `wait_arrived(n)` waits until n calls
// reached the gate, `arrived()` counts them. The destructor opens the gate.
//
// Behaviour specific to one executor lives in its own file (thread_pool_test.cpp,
// process_pool_test.cpp).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#if !defined(__clang__)  // clang 14 cannot compile libstdc++ 12's <ranges>
#include <ranges>
#endif

#include "concurrent/futures.hpp"
#if defined(CONCURRENT_FUTURES_TEST_MPI)
#include "concurrent/futures/mpi_pool.hpp"
#endif
#include "process_gate.hpp"
#include "test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
using namespace std::chrono_literals;
using cft::kLongTimeout;

namespace {

// ------------------------------------------------------------------------------------
// Functions the executors run: free, with serializable arguments and results.

int add(int a, int b) { return a + b; }
int square(int x) { return x * x; }
std::string concat(std::string a, std::string b) { return a + b; }
void do_nothing(int) {}
int throw_invalid_argument(int x) {
  throw std::invalid_argument("bad argument " + std::to_string(x));
}
int throw_out_of_range(int) { throw std::out_of_range("out of range"); }
int divide(int a, int b) {
  if (b == 0) throw std::domain_error("division by zero");
  return a / b;
}
std::vector<int> repeat(int value, int count) { return std::vector<int>(count, value); }
int negate_bit(bool b) { return b ? 0 : 1; }

// A counting range whose iterator yields by value (as std::views::iota does, which
// clang 14 cannot compile from libstdc++ 12): Python's `pool.map(f, range(n))`.
// Without an end it counts forever.
class Counting {
 public:
  struct Unreachable {};
  class iterator {
   public:
    using value_type = int;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(int n) : n_(n) {}
    int operator*() const { return n_; }
    iterator& operator++() {
      ++n_;
      return *this;
    }
    iterator operator++(int) { return iterator(n_++); }
    bool operator==(const iterator&) const = default;
    bool operator==(Unreachable) const { return false; }

   private:
    int n_ = 0;
  };
  Counting(int begin, int end) : begin_(begin), end_(end) {}
  iterator begin() const { return iterator(begin_); }
  iterator end() const { return iterator(end_); }

 private:
  int begin_;
  int end_;
};
struct CountingForever {
  Counting::iterator begin() const { return Counting::iterator(0); }
  Counting::Unreachable end() const { return {}; }
};

// ------------------------------------------------------------------------------------
// Cases.

struct ThreadPoolCase {
  using Executor = cf::ThreadPoolExecutor;
  [[maybe_unused]] static constexpr const char* name =
      "ThreadPoolExecutor";  // unused in mpi_executor_test
  static Executor make(std::size_t max_workers) { return Executor(max_workers); }

  // Gates live in a registry keyed by an int token; a blocked call holds its gate by
  // shared_ptr so that a gate going away under it is harmless.
  class Gate {
   public:
    Gate() : gate_(std::make_shared<cft::Gate>()) {
      std::lock_guard lock(mutex());
      token_ = next_token()++;
      registry()[token_] = gate_;
    }
    ~Gate() {
      gate_->open();
      std::lock_guard lock(mutex());
      registry().erase(token_);
    }
    Gate(const Gate&) = delete;
    Gate& operator=(const Gate&) = delete;

    int token() const { return token_; }
    void open() { gate_->open(); }
    bool wait_arrived(std::size_t n) { return gate_->wait_arrived(n); }
    std::size_t arrived() const { return gate_->arrived(); }

    static int blocked_call(int token, int x) {
      std::shared_ptr<cft::Gate> gate;
      {
        std::lock_guard lock(mutex());
        gate = registry().at(token);
      }
      if (!gate->wait()) throw cf::TimeoutError("the test never opened its gate");
      return x;
    }

   private:
    static std::mutex& mutex() {
      static std::mutex m;
      return m;
    }
    static std::map<int, std::shared_ptr<cft::Gate>>& registry() {
      static std::map<int, std::shared_ptr<cft::Gate>> r;
      return r;
    }
    static int& next_token() {
      static int n = 0;
      return n;
    }

    std::shared_ptr<cft::Gate> gate_;
    int token_ = 0;
  };
};

// The process pool, for each start method. Its Gate (tests/process_gate.hpp) works
// across processes: a directory of files, whose path is the token. No test needs a
// specialisation: calls the pool has not yet written to a worker stay cancellable,
// since a busy worker is given no further call until its calls are known to be short
// (kShortCall in src/process/core.hpp), just as queued thread-pool calls are.
template <cf::StartMethod Method>
struct ProcessPoolCase {
  using Executor = cf::ProcessPoolExecutor;
  static constexpr const char* name = Method == cf::StartMethod::fork    ? "ProcessPool_fork"
                                      : Method == cf::StartMethod::spawn ? "ProcessPool_spawn"
                                                                         : "ProcessPool_forkserver";
  static Executor make(std::size_t max_workers) {
    return Executor(cf::ProcessPoolOptions{.max_workers = max_workers, .start_method = Method});
  }
  using Gate = cft::ProcessGate;
};

template <class Case>
class ExecutorTest : public testing::Test {
 protected:
  using Executor = typename Case::Executor;
  using Gate = typename Case::Gate;
};

struct CaseNames {
  template <class Case>
  static std::string GetName(int) {
    return Case::name;
  }
};

#if defined(CONCURRENT_FUTURES_TEST_MPI)
// The same suite over MPIPoolExecutor, built as mpi_executor_test and run under
// `mpirun -n 3` (tests/mpi_tests.cmake): two worker ranks, which a pool asking for more
// gets instead (kWorkerCounts, where the count is checked, asks for no more).
struct MPIPoolCase {
  using Executor = cf::MPIPoolExecutor;
  static constexpr const char* name = "MPIPool";
  static Executor make(std::size_t max_workers) {
    return Executor(std::min<std::size_t>(max_workers, 2));
  }
  using Gate = cft::ProcessGate;
};
using Cases = testing::Types<MPIPoolCase>;
constexpr std::size_t kWorkerCounts[] = {1, 2};
#else
using Cases = testing::Types<ThreadPoolCase, ProcessPoolCase<cf::StartMethod::fork>,
                             ProcessPoolCase<cf::StartMethod::spawn>,
                             ProcessPoolCase<cf::StartMethod::forkserver>>;
constexpr std::size_t kWorkerCounts[] = {1, 2, 4, 8, 16};
#endif
TYPED_TEST_SUITE(ExecutorTest, Cases, CaseNames);

// ------------------------------------------------------------------------------------
// submit.

TYPED_TEST(ExecutorTest, SubmitReturnsTheResult) {
  auto pool = TypeParam::make(2);
  cf::Future<int> f = pool.submit(add, 2, 3);
  EXPECT_EQ(f.result(kLongTimeout), 5);
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.running());
  EXPECT_EQ(pool.submit(concat, std::string("con"), "cat").result(kLongTimeout), "concat");
  EXPECT_EQ(pool.submit(repeat, 7, 3).result(kLongTimeout), (std::vector<int>{7, 7, 7}));
}

TYPED_TEST(ExecutorTest, SubmitVoidFunction) {
  auto pool = TypeParam::make(1);
  cf::Future<void> f = pool.submit(do_nothing, 1);
  f.result(kLongTimeout);
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.exception(), nullptr);
}

TYPED_TEST(ExecutorTest, ExceptionsReachResult) {
  auto pool = TypeParam::make(2);
  cf::Future<int> bad = pool.submit(throw_invalid_argument, 4);
  cf::Future<int> range = pool.submit(throw_out_of_range, 0);
  cf::Future<int> good = pool.submit(square, 4);
  try {
    (void)bad.result(kLongTimeout);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "bad argument 4");
  }
  EXPECT_THROW((void)range.result(kLongTimeout), std::out_of_range);
  EXPECT_NE(range.exception(kLongTimeout), nullptr);
  EXPECT_FALSE(range.cancelled());
  EXPECT_EQ(good.result(kLongTimeout), 16) << "one call's exception must not affect others";
}

TYPED_TEST(ExecutorTest, ManySubmitsAcrossWorkerCounts) {
  for (std::size_t workers : kWorkerCounts) {
    SCOPED_TRACE(workers);
    auto pool = TypeParam::make(workers);
    EXPECT_EQ(pool.max_workers(), workers);
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 200; ++i) fs.push_back(pool.submit(square, i));
    long long sum = 0;
    for (auto& f : fs) sum += f.result(kLongTimeout);
    EXPECT_EQ(sum, 2646700);  // sum of i^2 for i < 200
  }
}

TYPED_TEST(ExecutorTest, WaitAndAsCompletedOnSubmittedWork) {
  auto pool = TypeParam::make(4);
  std::vector<cf::Future<int>> fs;
  for (int i = 0; i < 50; ++i) fs.push_back(pool.submit(square, i));
  auto [done, not_done] = cf::wait(fs, kLongTimeout);
  EXPECT_EQ(done.size(), 50u);
  EXPECT_TRUE(not_done.empty());
  int count = 0;
  for (const auto& f : cf::as_completed(fs, kLongTimeout)) {
    EXPECT_TRUE(f.done());
    ++count;
  }
  EXPECT_EQ(count, 50);
}

// ------------------------------------------------------------------------------------
// shutdown.

TYPED_TEST(ExecutorTest, SubmitAfterShutdownThrows) {
  auto pool = TypeParam::make(2);
  pool.shutdown();
  try {
    (void)pool.submit(square, 1);
    FAIL() << "no exception";
  } catch (const cf::BrokenExecutor&) {
    FAIL() << "a shut-down executor is not broken";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "cannot schedule new futures after shutdown");
  }
  EXPECT_THROW((void)pool.map(square, std::vector<int>{1, 2}), std::runtime_error);
}

TYPED_TEST(ExecutorTest, ShutdownIsIdempotent) {
  auto pool = TypeParam::make(2);
  cf::Future<int> f = pool.submit(square, 3);
  pool.shutdown();
  pool.shutdown();
  pool.shutdown(false);
  pool.shutdown(true, true);
  EXPECT_EQ(f.result(0s), 9);
}

TYPED_TEST(ExecutorTest, ShutdownWaitFinishesQueuedWork) {
  for (std::size_t workers : {1, 3}) {
    auto pool = TypeParam::make(workers);
    std::vector<cf::Future<int>> fs;
    for (int i = 0; i < 30; ++i) fs.push_back(pool.submit(square, i));
    pool.shutdown(true);
    for (int i = 0; i < 30; ++i) {
      ASSERT_TRUE(fs[i].done()) << i;
      EXPECT_EQ(fs[i].result(0s), i * i);
    }
  }
}

TYPED_TEST(ExecutorTest, ShutdownWithoutWaitReturnsAtOnce) {
  typename TypeParam::Gate gate;
  auto pool = TypeParam::make(1);
  cf::Future<int> blocked = pool.submit(TypeParam::Gate::blocked_call, gate.token(), 1);
  cf::Future<int> queued = pool.submit(square, 5);
  ASSERT_TRUE(gate.wait_arrived(1));
  pool.shutdown(false);
  EXPECT_FALSE(blocked.done()) << "shutdown(false) must not wait";
  EXPECT_FALSE(queued.done());
  EXPECT_THROW((void)pool.submit(square, 1), std::runtime_error);
  gate.open();
  EXPECT_EQ(blocked.result(kLongTimeout), 1);
  EXPECT_EQ(queued.result(kLongTimeout), 25) << "work queued before shutdown still runs";
}

TYPED_TEST(ExecutorTest, CancelFuturesCancelsOnlyPendingCalls) {
  for (std::size_t workers : kWorkerCounts) {
    SCOPED_TRACE(workers);
    typename TypeParam::Gate gate;
    auto pool = TypeParam::make(workers);
    std::vector<cf::Future<int>> running;
    for (std::size_t i = 0; i < workers; ++i) {
      running.push_back(pool.submit(TypeParam::Gate::blocked_call, gate.token(), 7));
    }
    ASSERT_TRUE(gate.wait_arrived(workers));
    std::vector<cf::Future<int>> queued;
    for (int i = 0; i < 10; ++i) queued.push_back(pool.submit(square, i));
    pool.shutdown(false, true);
    for (auto& f : queued) EXPECT_TRUE(f.cancelled());
    for (auto& f : running) EXPECT_TRUE(f.running());
    // A cancelled future is done at once for wait() (gh-92001, gh-109934).
    EXPECT_EQ(cf::wait(queued, 0s).done.size(), queued.size());
    gate.open();
    for (auto& f : running) EXPECT_EQ(f.result(kLongTimeout), 7);
  }
}

TYPED_TEST(ExecutorTest, CancelFuturesWithWait) {
  typename TypeParam::Gate gate;
  auto pool = TypeParam::make(1);
  cf::Future<int> running = pool.submit(TypeParam::Gate::blocked_call, gate.token(), 3);
  ASSERT_TRUE(gate.wait_arrived(1));
  std::vector<cf::Future<int>> queued;
  for (int i = 0; i < 5; ++i) queued.push_back(pool.submit(square, i));
  // Opens the gate once shutdown has cancelled the queue, so shutdown(true) can return.
  std::thread opener([&] {
    EXPECT_TRUE(cf::wait(queued, kLongTimeout).not_done.empty());
    gate.open();
  });
  pool.shutdown(true, true);
  opener.join();
  EXPECT_EQ(running.result(0s), 3) << "shutdown(true) waits for running calls";
  for (auto& f : queued) EXPECT_TRUE(f.cancelled());
}

TYPED_TEST(ExecutorTest, DestructorWaits) {
  typename TypeParam::Gate gate;
  std::vector<cf::Future<int>> fs;
  std::thread opener;
  {
    auto pool = TypeParam::make(2);
    fs.push_back(pool.submit(TypeParam::Gate::blocked_call, gate.token(), 1));
    for (int i = 0; i < 20; ++i) fs.push_back(pool.submit(square, i));
    opener = std::thread([&] {
      EXPECT_TRUE(gate.wait_arrived(1));
      gate.open();
    });
  }
  for (auto& f : fs) EXPECT_TRUE(f.done());
  EXPECT_EQ(fs[0].result(0s), 1);
  opener.join();
}

// ------------------------------------------------------------------------------------
// map.

TYPED_TEST(ExecutorTest, MapKeepsInputOrder) {
  for (std::size_t workers : kWorkerCounts) {
    SCOPED_TRACE(workers);
    auto pool = TypeParam::make(workers);
    std::vector<int> in;
    for (int i = 0; i < 100; ++i) in.push_back(i);
    std::vector<int> out;
    for (int y : pool.map(square, in)) out.push_back(y);
    ASSERT_EQ(out.size(), in.size());
    for (int i = 0; i < 100; ++i) EXPECT_EQ(out[i], i * i);
  }
}

TYPED_TEST(ExecutorTest, MapZipsAndStopsAtTheShortest) {
  auto pool = TypeParam::make(2);
  std::vector<int> out;
  for (int y : pool.map(add, std::vector<int>{1, 2, 3}, std::list<int>{10, 20})) out.push_back(y);
  EXPECT_EQ(out, (std::vector<int>{11, 22}));
  std::vector<std::string> strings;
  const std::vector<std::string> a{"a", "b", "c"};
  const std::vector<std::string> b{"x", "y", "z", "w"};
  for (const std::string& s : pool.map(concat, a, b)) strings.push_back(s);
  EXPECT_EQ(strings, (std::vector<std::string>{"ax", "by", "cz"}));
}

TYPED_TEST(ExecutorTest, MapOverEmptyInput) {
  auto pool = TypeParam::make(2);
  int count = 0;
  for (int y : pool.map(square, std::vector<int>{})) count += y + 1;
  for (int y : pool.map(add, std::vector<int>{1, 2}, std::vector<int>{})) count += y + 1;
  EXPECT_EQ(count, 0);
}

TYPED_TEST(ExecutorTest, MapRethrowsAtTheElementAndGoesOn) {
  // gh-108518: divmod over [5,5,5,5] and [2,3,0,5].
  auto pool = TypeParam::make(2);
  auto results = pool.map(divide, std::vector<int>{5, 5, 5, 5}, std::vector<int>{2, 3, 0, 5});
  auto it = results.begin();
  ASSERT_FALSE(it == results.end());
  EXPECT_EQ(*it, 2);
  ++it;
  EXPECT_EQ(*it, 1);
  ++it;
  EXPECT_THROW((void)*it, std::domain_error);
  ++it;
  ASSERT_FALSE(it == results.end());
  EXPECT_EQ(*it, 1);
  ++it;
  EXPECT_TRUE(it == results.end());
}

TYPED_TEST(ExecutorTest, MapTimeoutCancelsUnstartedCallsAndEnds) {
  typename TypeParam::Gate gate;
  auto pool = TypeParam::make(1);
  const auto t = gate.token();
  auto results = pool.map(cf::MapOptions{.timeout = 0s}, TypeParam::Gate::blocked_call,
                          std::vector{t, t, t}, std::vector<int>{0, 1, 2});
  ASSERT_TRUE(gate.wait_arrived(1));  // the first call runs (and blocks) on the one worker
  auto it = results.begin();
  EXPECT_THROW((void)*it, cf::TimeoutError);
  EXPECT_TRUE(it == results.end()) << "the range ends after a timeout";
  gate.open();
  pool.shutdown(true);
  EXPECT_EQ(gate.arrived(), 1u) << "the calls not yet started must have been cancelled";
}

TYPED_TEST(ExecutorTest, MapTimeoutMessageIsASentence) {
  typename TypeParam::Gate gate;
  auto pool = TypeParam::make(1);
  auto results = pool.map(cf::MapOptions{.timeout = 1ms}, TypeParam::Gate::blocked_call,
                          std::vector{gate.token()}, std::vector<int>{0});
  try {
    for (int x : results) (void)x;
    FAIL() << "no TimeoutError";
  } catch (const cf::TimeoutError& e) {
    EXPECT_GT(std::string(e.what()).size(), 30u);
  }
  gate.open();  // the pool's destructor waits for the blocked call
}

TYPED_TEST(ExecutorTest, MapWithinTimeout) {
  auto pool = TypeParam::make(2);
  std::vector<int> out;
  for (int y :
       pool.map(cf::MapOptions{.timeout = kLongTimeout}, square, std::vector<int>{1, 2, 3})) {
    out.push_back(y);
  }
  EXPECT_EQ(out, (std::vector<int>{1, 4, 9}));
}

TYPED_TEST(ExecutorTest, MapEarlyDestructionCancelsPendingCalls) {
  typename TypeParam::Gate gate;
  auto pool = TypeParam::make(1);
  cf::Future<int> blocker = pool.submit(TypeParam::Gate::blocked_call, gate.token(), 0);
  ASSERT_TRUE(gate.wait_arrived(1));
  {
    const auto t = gate.token();
    auto results = pool.map(TypeParam::Gate::blocked_call, std::vector{t, t, t, t},
                            std::vector<int>{1, 2, 3, 4});
  }
  gate.open();
  EXPECT_EQ(blocker.result(kLongTimeout), 0);
  pool.shutdown(true);
  EXPECT_EQ(gate.arrived(), 1u) << "the map's calls must have been cancelled";
}

TYPED_TEST(ExecutorTest, MapEarlyStopAfterSomeResults) {
  typename TypeParam::Gate gate;
  auto pool = TypeParam::make(1);
  const auto t = gate.token();
  std::vector tokens(10, t);
  std::vector<int> values{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  gate.open();
  {
    auto results = pool.map(TypeParam::Gate::blocked_call, tokens, values);
    auto it = results.begin();
    EXPECT_EQ(*it, 0);
  }
  pool.shutdown(true);
  EXPECT_GE(gate.arrived(), 1u);
  EXPECT_LE(gate.arrived(), 10u);
}

TYPED_TEST(ExecutorTest, MapRejectsBadOptions) {
  auto pool = TypeParam::make(1);
  const std::vector<int> in{1, 2, 3};
  EXPECT_THROW((void)pool.map(cf::MapOptions{.chunksize = 0}, square, in), std::invalid_argument);
  EXPECT_THROW((void)pool.map(cf::MapOptions{.chunksize = -1}, square, in), std::invalid_argument);
  EXPECT_THROW((void)pool.map(cf::MapOptions{.buffersize = 0}, square, in), std::invalid_argument);
  EXPECT_THROW((void)pool.map(cf::MapOptions{.buffersize = -3}, square, in), std::invalid_argument);
}

TYPED_TEST(ExecutorTest, MapWithChunksizeAndBuffersize) {
  auto pool = TypeParam::make(3);
  std::vector<int> in;
  for (int i = 0; i < 50; ++i) in.push_back(i);
  for (std::int64_t chunksize : {1, 3, 7, 100}) {
    for (std::optional<std::int64_t> buffersize :
         {std::optional<std::int64_t>{}, std::optional<std::int64_t>{1},
          std::optional<std::int64_t>{4}}) {
      SCOPED_TRACE(chunksize);
      std::vector<int> out;
      for (int y :
           pool.map(cf::MapOptions{.chunksize = chunksize, .buffersize = buffersize}, square, in)) {
        out.push_back(y);
      }
      ASSERT_EQ(out.size(), in.size());
      for (int i = 0; i < 50; ++i) EXPECT_EQ(out[i], i * i);
    }
  }
}

TYPED_TEST(ExecutorTest, MapOverRvaluesIsSafeToIterateLater) {
  auto pool = TypeParam::make(2);
  // With a buffersize the inputs are read while iterating, long after the temporaries
  // of this full-expression would have died: the range must own them.
  auto results = pool.map(cf::MapOptions{.buffersize = 2}, add, std::vector<int>{1, 2, 3, 4, 5},
                          std::vector<int>{10, 20, 30, 40, 50});
  std::vector<int> out;
  for (int y : results) out.push_back(y);
  EXPECT_EQ(out, (std::vector<int>{11, 22, 33, 44, 55}));
}

TYPED_TEST(ExecutorTest, MapOverLvalues) {
  auto pool = TypeParam::make(2);
  std::vector<int> a{1, 2, 3};
  const std::list<int> b{4, 5, 6};
  std::vector<int> out;
  for (int y : pool.map(cf::MapOptions{.buffersize = 1}, add, a, b)) out.push_back(y);
  EXPECT_EQ(out, (std::vector<int>{5, 7, 9}));
  EXPECT_EQ(a, (std::vector<int>{1, 2, 3})) << "inputs are not consumed";
}

// ------------------------------------------------------------------------------------
// map over every kind of input, and chunks (issue 7 item 1, issue 9 item 2).

TYPED_TEST(ExecutorTest, MapOverARangeThatYieldsByValue) {
  auto pool = TypeParam::make(2);
  for (std::int64_t chunksize : {1, 4}) {
    std::vector<int> out;
    for (int y : pool.map(cf::MapOptions{.chunksize = chunksize}, square, Counting(0, 10))) {
      out.push_back(y);
    }
    EXPECT_EQ(out, (std::vector<int>{0, 1, 4, 9, 16, 25, 36, 49, 64, 81}));
    const Counting lvalue(3, 6);
    out.clear();
    for (int y : pool.map(add, lvalue, std::vector<int>{10, 20, 30, 40})) out.push_back(y);
    EXPECT_EQ(out, (std::vector<int>{13, 24, 35}));
  }
}

TYPED_TEST(ExecutorTest, MapOverAProxyRange) {
  auto pool = TypeParam::make(2);
  const std::vector<bool> bits{true, false, false, true};
  for (std::int64_t chunksize : {1, 3}) {
    std::vector<int> out;
    for (int y : pool.map(cf::MapOptions{.chunksize = chunksize}, negate_bit, bits)) {
      out.push_back(y);
    }
    EXPECT_EQ(out, (std::vector<int>{0, 1, 1, 0}));
  }
}

TYPED_TEST(ExecutorTest, MapOverAnEndlessRangeWithBuffersize) {
  auto pool = TypeParam::make(2);
  for (std::int64_t chunksize : {1, 5}) {
    std::vector<int> out;
    for (int y : pool.map(cf::MapOptions{.chunksize = chunksize, .buffersize = 2}, square,
                          CountingForever{})) {
      out.push_back(y);
      if (out.size() == 12) break;
    }
    ASSERT_EQ(out.size(), 12u);
    for (int i = 0; i < 12; ++i) EXPECT_EQ(out[i], i * i);
  }
}

#if !defined(__clang__)  // clang 14 cannot compile libstdc++ 12's <ranges>
TYPED_TEST(ExecutorTest, MapOverStdViewsIota) {
  auto pool = TypeParam::make(2);
  std::vector<int> out;
  for (int y : pool.map(square, std::views::iota(0, 5))) out.push_back(y);
  EXPECT_EQ(out, (std::vector<int>{0, 1, 4, 9, 16}));
}
#endif

TYPED_TEST(ExecutorTest, MapRangeBuildsAContainer) {
  // Python's list(pool.map(...)).
  auto pool = TypeParam::make(2);
  for (std::int64_t chunksize : {1, 2}) {
    auto r = pool.map(cf::MapOptions{.chunksize = chunksize}, square, std::vector<int>{1, 2, 3});
    std::vector<int> v(r.begin(), r.end());
    EXPECT_EQ(v, (std::vector<int>{1, 4, 9}));
  }
}

TYPED_TEST(ExecutorTest, MapChunkAcrossAFailingElement) {
  // Each element of a chunk rethrows its own exception at its own place.
  auto pool = TypeParam::make(2);
  auto results =
      pool.map(cf::MapOptions{.chunksize = 3}, divide, std::vector<int>{6, 6, 6, 6, 6, 6, 6},
               std::vector<int>{1, 0, 2, 3, 0, 0, 6});
  std::vector<std::string> seen;
  for (auto it = results.begin(); it != results.end(); ++it) {
    try {
      seen.push_back(std::to_string(*it));
    } catch (const std::domain_error&) {
      seen.emplace_back("error");
    }
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"6", "error", "3", "2", "error", "error", "1"}));
}

TYPED_TEST(ExecutorTest, MapChunkTimeoutCancelsUnstartedChunksAndEnds) {
  typename TypeParam::Gate gate;
  auto pool = TypeParam::make(1);
  const auto t = gate.token();
  auto results = pool.map(
      cf::MapOptions{.timeout = 0s, .chunksize = 2}, TypeParam::Gate::blocked_call,
      std::vector<std::remove_cvref_t<decltype(t)>>(6, t), std::vector<int>{0, 1, 2, 3, 4, 5});
  ASSERT_TRUE(gate.wait_arrived(1));  // the first chunk runs (and blocks) on the one worker
  auto it = results.begin();
  EXPECT_THROW((void)*it, cf::TimeoutError);
  EXPECT_TRUE(it == results.end()) << "the range ends after a timeout";
  gate.open();
  pool.shutdown(true);
  EXPECT_EQ(gate.arrived(), 2u) << "only the started chunk (two elements) may have run";
}

TYPED_TEST(ExecutorTest, MapChunkEarlyDestructionCancelsPendingChunks) {
  typename TypeParam::Gate gate;
  auto pool = TypeParam::make(1);
  cf::Future<int> blocker = pool.submit(TypeParam::Gate::blocked_call, gate.token(), 0);
  ASSERT_TRUE(gate.wait_arrived(1));
  {
    const auto t = gate.token();
    auto results = pool.map(cf::MapOptions{.chunksize = 2}, TypeParam::Gate::blocked_call,
                            std::vector<std::remove_cvref_t<decltype(t)>>(5, t),
                            std::vector<int>{1, 2, 3, 4, 5});
    auto it = results.begin();
    EXPECT_FALSE(it == results.end());
  }
  gate.open();
  EXPECT_EQ(blocker.result(kLongTimeout), 0);
  pool.shutdown(true);
  EXPECT_EQ(gate.arrived(), 1u) << "the map's chunks must have been cancelled";
}

}  // namespace
