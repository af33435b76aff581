// Exceptions across the process boundary (issue 7 item 3): user types come back as their
// nearest standard base with what() and their name kept, std::system_error and its
// family keep code(), and registered types come back as themselves; for every start
// method.
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <ios>
#include <stdexcept>
#include <string>
#include <system_error>
#include <typeinfo>
#include <vector>

#include "concurrent/futures/errors.hpp"
#include "concurrent/futures/process_pool.hpp"
#include "test_util.hpp"

namespace cf = concurrent::futures;
using concurrent::futures::test::kLongTimeout;

namespace exception_test {

struct BadConfig : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
struct DiskFull : std::system_error {
  DiskFull()
      : std::system_error(std::make_error_code(std::errc::no_space_on_device), "disk full") {}
};
struct JustAnException : std::exception {
  const char* what() const noexcept override { return "only std::exception"; }
};

// A category no standard one matches: it comes back by name.
class PlanetCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "planet"; }
  std::string message(int value) const override { return "planet error " + std::to_string(value); }
};
const PlanetCategory& planet_category() {
  static const PlanetCategory c;
  return c;
}

// Registered: comes back as itself, from its message.
struct QuotaExceeded : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Registered, with state that crosses.
struct ParseError : std::invalid_argument {
  explicit ParseError(const std::string& what = "parse error", int line_in = 0)
      : std::invalid_argument(what), line(line_in) {}
  int line;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(line);
  }
};
[[maybe_unused]] const bool quota_registered = cf::register_exception<QuotaExceeded>();
[[maybe_unused]] const bool parse_registered = cf::register_exception<ParseError>();

int throw_bad_config(int) { throw BadConfig("key 'port' is not a number"); }
int throw_disk_full(int) { throw DiskFull(); }
int throw_just_exception(int) { throw JustAnException(); }
int throw_system_error(int value) {
  throw std::system_error(value, std::generic_category(), "opening the cache");
}
int throw_system_category(int value) {
  throw std::system_error(value, std::system_category(), "reading the socket");
}
int throw_planet(int value) { throw std::system_error(value, planet_category(), "orbit"); }
int throw_filesystem_error(int) {
  throw std::filesystem::filesystem_error("copying", "/from/here", "/to/there",
                                          std::make_error_code(std::errc::permission_denied));
}
int throw_ios_failure(int) { throw std::ios_base::failure("reading the header"); }
int throw_future_error(int) { throw std::future_error(std::future_errc::broken_promise); }
int throw_quota(int) { throw QuotaExceeded("quota of 10 GB exceeded"); }
int throw_parse_error(int line) { throw ParseError("unexpected '}'", line); }

}  // namespace exception_test

namespace {

using namespace exception_test;  // NOLINT(google-build-using-namespace): the test's own types

class ProcessExceptionsTest : public testing::TestWithParam<cf::StartMethod> {
 protected:
  cf::ProcessPoolExecutor pool_{
      cf::ProcessPoolOptions{.max_workers = 1, .start_method = GetParam()}};

  // The exception the worker's call threw, as the parent sees it. Its future is kept
  // until the test ends: the exception object is shared with the future, and its
  // reference count lives in (uninstrumented) libstdc++, so under ThreadSanitizer the
  // future must be what orders the test's reads before the pool's thread frees it.
  template <class Fn>
  std::exception_ptr thrown_by(Fn fn, int arg = 0) {
    futures_.push_back(pool_.submit(fn, arg));
    std::exception_ptr e = futures_.back().exception(kLongTimeout);
    EXPECT_TRUE(e) << "the call did not throw";
    return e;
  }

 private:
  std::vector<cf::Future<int>> futures_;
};

INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessExceptionsTest,
                         testing::Values(cf::StartMethod::fork, cf::StartMethod::spawn,
                                         cf::StartMethod::forkserver),
                         [](const auto& info) { return cf::to_string(info.param); });

TEST_P(ProcessExceptionsTest, DerivedTypeIsCaughtAsItsStandardBase) {
  std::exception_ptr e = thrown_by(throw_bad_config);
  try {
    std::rethrow_exception(e);
  } catch (const std::invalid_argument& caught) {
    EXPECT_STREQ(caught.what(), "key 'port' is not a number");
    EXPECT_EQ(cf::original_type_name(caught), "exception_test::BadConfig");
  } catch (...) {
    ADD_FAILURE() << "BadConfig was not caught as std::invalid_argument";
  }
}

TEST_P(ProcessExceptionsTest, DerivedSystemErrorKeepsItsCode) {
  try {
    std::rethrow_exception(thrown_by(throw_disk_full));
  } catch (const std::system_error& caught) {
    EXPECT_EQ(caught.code(), std::make_error_code(std::errc::no_space_on_device));
    EXPECT_EQ(std::string(caught.what()), DiskFull().what());
    EXPECT_EQ(cf::original_type_name(caught), "exception_test::DiskFull");
  } catch (...) {
    ADD_FAILURE() << "DiskFull was not caught as std::system_error";
  }
}

TEST_P(ProcessExceptionsTest, SystemErrorsComeBackAsThemselvesWithTheirCode) {
  const std::system_error generic(ENOENT, std::generic_category(), "opening the cache");
  try {
    std::rethrow_exception(thrown_by(throw_system_error, ENOENT));
  } catch (const std::system_error& caught) {
    EXPECT_EQ(typeid(caught), typeid(std::system_error));
    EXPECT_EQ(caught.code(), std::error_code(ENOENT, std::generic_category()));
    EXPECT_STREQ(caught.what(), generic.what());
    EXPECT_EQ(cf::original_type_name(caught), "std::system_error");
  }

  try {
    std::rethrow_exception(thrown_by(throw_system_category, ECONNRESET));
  } catch (const std::system_error& caught) {
    EXPECT_EQ(caught.code(), std::error_code(ECONNRESET, std::system_category()));
  }

  const std::filesystem::filesystem_error fs("copying", "/from/here", "/to/there",
                                             std::make_error_code(std::errc::permission_denied));
  try {
    std::rethrow_exception(thrown_by(throw_filesystem_error));
  } catch (const std::filesystem::filesystem_error& caught) {
    EXPECT_EQ(typeid(caught), typeid(std::filesystem::filesystem_error));
    EXPECT_EQ(caught.code(), std::make_error_code(std::errc::permission_denied));
    EXPECT_EQ(caught.path1(), "/from/here");
    EXPECT_EQ(caught.path2(), "/to/there");
    EXPECT_STREQ(caught.what(), fs.what());
  } catch (...) {
    ADD_FAILURE() << "filesystem_error came back as another type";
  }

  const std::ios_base::failure io("reading the header");
  try {
    std::rethrow_exception(thrown_by(throw_ios_failure));
  } catch (const std::ios_base::failure& caught) {
    EXPECT_EQ(typeid(caught), typeid(std::ios_base::failure));
    EXPECT_EQ(caught.code(), std::make_error_code(std::io_errc::stream));
    EXPECT_STREQ(caught.what(), io.what());
  } catch (...) {
    ADD_FAILURE() << "ios_base::failure came back as another type";
  }

  try {
    std::rethrow_exception(thrown_by(throw_future_error));
  } catch (const std::future_error& caught) {
    EXPECT_EQ(caught.code(), std::make_error_code(std::future_errc::broken_promise));
  } catch (...) {
    ADD_FAILURE() << "future_error came back as another type";
  }
}

TEST_P(ProcessExceptionsTest, ACodeOfAnotherCategoryKeepsItsValueAndCategoryName) {
  try {
    std::rethrow_exception(thrown_by(throw_planet, 7));
  } catch (const std::system_error& caught) {
    EXPECT_EQ(caught.code().value(), 7);
    EXPECT_STREQ(caught.code().category().name(), "planet");
    EXPECT_STREQ(caught.what(), std::system_error(7, planet_category(), "orbit").what());
  }
  // Every code of that category shares one category object, as codes compare by it.
  std::error_code first;
  std::error_code second;
  try {
    std::rethrow_exception(thrown_by(throw_planet, 7));
  } catch (const std::system_error& caught) {
    first = caught.code();
  }
  try {
    std::rethrow_exception(thrown_by(throw_planet, 7));
  } catch (const std::system_error& caught) {
    second = caught.code();
  }
  EXPECT_EQ(first, second);
}

TEST_P(ProcessExceptionsTest, RegisteredTypesComeBackAsThemselves) {
  try {
    std::rethrow_exception(thrown_by(throw_quota));
  } catch (const QuotaExceeded& caught) {
    EXPECT_EQ(typeid(caught), typeid(QuotaExceeded));
    EXPECT_STREQ(caught.what(), "quota of 10 GB exceeded");
  } catch (...) {
    ADD_FAILURE() << "QuotaExceeded did not come back as itself";
  }
  try {
    std::rethrow_exception(thrown_by(throw_parse_error, 42));
  } catch (const ParseError& caught) {
    EXPECT_EQ(caught.line, 42) << "its state crossed";
    EXPECT_STREQ(caught.what(), "unexpected '}'");
  } catch (...) {
    ADD_FAILURE() << "ParseError did not come back as itself";
  }
}

TEST_P(ProcessExceptionsTest, TypesWithNoStandardBaseComeBackAsRemoteError) {
  try {
    std::rethrow_exception(thrown_by(throw_just_exception));
  } catch (const cf::RemoteError& caught) {
    EXPECT_EQ(caught.type_name(), "exception_test::JustAnException");
    EXPECT_EQ(cf::original_type_name(caught), "exception_test::JustAnException");
    EXPECT_STREQ(caught.what(), "only std::exception");
  } catch (...) {
    ADD_FAILURE() << "JustAnException did not come back as RemoteError";
  }
}

TEST(OriginalTypeName, NamesTheDynamicTypeOfALocalException) {
  EXPECT_EQ(cf::original_type_name(BadConfig("x")), "exception_test::BadConfig");
  EXPECT_EQ(cf::original_type_name(std::out_of_range("x")), "std::out_of_range");
}

}  // namespace
