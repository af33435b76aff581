// Tests for the error types and the error handler (errors.hpp): the hierarchy
// mirrors Python, every default message is a sentence, handlers are contained.
#include "concurrent/futures/future.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "concurrent/futures/errors.hpp"
#include "message_check.hpp"
#include "test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;
using namespace std::chrono_literals;
using cft::expect_sentence;

namespace {

// ------------------------------------------------------------------------------------
// Error types.

TEST(Errors, HierarchyMatchesPython) {
  static_assert(std::is_base_of_v<std::runtime_error, cf::Error>);
  static_assert(std::is_base_of_v<cf::Error, cf::CancelledError>);
  static_assert(std::is_base_of_v<cf::Error, cf::TimeoutError>);
  static_assert(std::is_base_of_v<cf::Error, cf::InvalidStateError>);
  static_assert(std::is_base_of_v<cf::Error, cf::BrokenPromise>);
  static_assert(std::is_base_of_v<cf::Error, cf::RemoteError>);
  static_assert(std::is_base_of_v<cf::Error, cf::WorkerDied>);
  static_assert(!std::is_base_of_v<cf::BrokenExecutor, cf::WorkerDied>);
  static_assert(std::is_base_of_v<std::runtime_error, cf::BrokenExecutor>);
  static_assert(!std::is_base_of_v<cf::Error, cf::BrokenExecutor>);
  static_assert(std::is_base_of_v<cf::BrokenExecutor, cf::BrokenThreadPool>);
  static_assert(std::is_base_of_v<cf::BrokenExecutor, cf::BrokenProcessPool>);
  SUCCEED();
}

TEST(Errors, DefaultMessagesAreSentences) {
  expect_sentence(cf::CancelledError().what());
  expect_sentence(cf::TimeoutError().what());
  expect_sentence(cf::BrokenPromise().what());
}

TEST(Errors, RemoteErrorKeepsTypeNameAndMessage) {
  cf::RemoteError e("my::Error", "it broke");
  EXPECT_EQ(e.type_name(), "my::Error");
  EXPECT_STREQ(e.what(), "it broke");
}

TEST(Errors, WorkerDiedSaysWhoDiedAndHow) {
  const cf::WorkerDied e("worker process 42 was killed by signal 11 (SIGSEGV)", 42, 11, -1);
  EXPECT_EQ(e.pid(), 42);
  EXPECT_EQ(e.signal(), 11);
  EXPECT_EQ(e.exit_code(), -1);
  EXPECT_STREQ(e.what(), "worker process 42 was killed by signal 11 (SIGSEGV)");
}

TEST(Errors, DescribeAnyExceptionPtr) {
  EXPECT_EQ(cf::describe(std::make_exception_ptr(std::runtime_error("boom"))), "boom");
  EXPECT_FALSE(cf::describe(std::make_exception_ptr(42)).empty());
  EXPECT_FALSE(cf::describe(nullptr).empty());
}

TEST(Errors, DefaultHandlerWritesOneLineToStderr) {
  cf::ErrorHandler previous = cf::set_error_handler({});
  testing::internal::CaptureStderr();
  cf::report_error(std::make_exception_ptr(std::runtime_error("boom")), "a done-callback");
  const std::string out = testing::internal::GetCapturedStderr();
  cf::set_error_handler(std::move(previous));
  EXPECT_NE(out.find("boom"), std::string::npos) << out;
  EXPECT_NE(out.find("a done-callback"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
}

TEST(Errors, SetErrorHandlerReturnsPrevious) {
  int first = 0;
  int second = 0;
  cf::ErrorHandler original =
      cf::set_error_handler([&](std::exception_ptr, std::string_view) { ++first; });
  cf::ErrorHandler mine =
      cf::set_error_handler([&](std::exception_ptr, std::string_view) { ++second; });
  cf::report_error(std::make_exception_ptr(1), "x");
  ASSERT_TRUE(mine);
  mine(nullptr, "y");
  cf::set_error_handler(std::move(original));
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 1);
}

TEST(Errors, ThrowingHandlerIsContained) {
  cf::ErrorHandler previous = cf::set_error_handler(
      [](std::exception_ptr, std::string_view) { throw std::runtime_error("handler"); });
  testing::internal::CaptureStderr();
  EXPECT_NO_THROW(cf::report_error(std::make_exception_ptr(1), "x"));
  const std::string out = testing::internal::GetCapturedStderr();
  cf::set_error_handler(std::move(previous));
  EXPECT_FALSE(out.empty());
}

}  // namespace
