// Tests for the fmt formatters (format.hpp): FutureState and StartMethod print their
// names, Future<T> and AnyFuture print like Python's repr().
#include "concurrent/futures/format.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <regex>
#include <stdexcept>
#include <string>

#include "test_util.hpp"

namespace cf = concurrent::futures;
namespace cft = concurrent::futures::test;

namespace {

// `text` is a Python-style repr with this state and outcome; returns the address.
std::string expect_repr(const std::string& text, const std::string& rest) {
  std::smatch match;
  EXPECT_TRUE(std::regex_match(text, match, std::regex("<Future at (0x[0-9a-f]+) " + rest + ">")))
      << text << " does not match state " << rest;
  return match.size() > 1 ? match[1].str() : std::string();
}

TEST(Format, FutureStateAndStartMethodPrintTheirNames) {
  EXPECT_EQ(fmt::format("{}", cf::FutureState::pending), "pending");
  EXPECT_EQ(fmt::format("{}", cf::FutureState::finished), "finished");
  EXPECT_EQ(fmt::format("[{:>9}]", cf::FutureState::running), "[  running]");
  EXPECT_EQ(fmt::format("{}", cf::StartMethod::fork), "fork");
  EXPECT_EQ(fmt::format("{}", cf::StartMethod::forkserver), "forkserver");
}

TEST(Format, FutureInEveryStatePrintsLikePythonRepr) {
  cft::CannedFutures<> c;
  expect_repr(fmt::format("{}", c.pending), "state=pending");
  expect_repr(fmt::format("{}", c.running), "state=running");
  expect_repr(fmt::format("{}", c.cancelled), "state=cancelled");
  expect_repr(fmt::format("{}", c.succeeded), "state=finished returned int");
  expect_repr(fmt::format("{}", c.failed),
              "state=finished raised concurrent::futures::test::TestError");
  c.pending_promise.set_result(1);
  c.running_promise.set_result(2);
}

TEST(Format, AddressIdentifiesTheSharedState) {
  cf::Promise<std::string> p;
  const cf::Future<std::string> f = p.get_future();
  const std::string a = expect_repr(fmt::format("{}", f), "state=pending");
  EXPECT_EQ(expect_repr(fmt::format("{}", p.get_future()), "state=pending"), a);
  EXPECT_EQ(expect_repr(fmt::format("{}", cf::AnyFuture(f)), "state=pending"), a);
  p.set_result("x");
  EXPECT_EQ(expect_repr(fmt::format("{}", cf::AnyFuture(f)), "state=finished"), a)
      << "an AnyFuture does not know the value's type";
  cf::Promise<int> other;
  EXPECT_NE(expect_repr(fmt::format("{}", other.get_future()), "state=pending"), a);
  other.set_result(0);
}

TEST(Format, VoidFailedAndEmptyFutures) {
  cf::Promise<void> v;
  v.set_result();
  expect_repr(fmt::format("{}", v.get_future()), "state=finished returned void");
  cf::Promise<double> failed;
  failed.set_exception(std::make_exception_ptr(std::invalid_argument("bad")));
  expect_repr(fmt::format("{}", failed.get_future()),
              "state=finished raised std::invalid_argument");
  EXPECT_EQ(fmt::format("{}", cf::Future<int>()), "<Future (empty)>");
  EXPECT_EQ(fmt::format("{}", cf::AnyFuture()), "<Future (empty)>");
}

}  // namespace
