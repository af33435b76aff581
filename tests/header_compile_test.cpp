// Each public header compiles on its own: CMake writes one translation unit per header
// (tests/CMakeLists.txt) that includes it twice, first thing, and registers itself
// here. The build is the real test; this checks that every generated unit was linked.
#include <gtest/gtest.h>

#include <atomic>

namespace concurrent::futures::test {
std::atomic<int>& headers_compiled() {
  static std::atomic<int> count{0};
  return count;
}
}  // namespace concurrent::futures::test

namespace {

TEST(HeaderCompile, EveryPublicHeaderCompilesAlone) {
  EXPECT_EQ(concurrent::futures::test::headers_compiled().load(),
            CONCURRENT_FUTURES_TEST_PUBLIC_HEADERS);
  EXPECT_GE(CONCURRENT_FUTURES_TEST_PUBLIC_HEADERS, 8);
}

}  // namespace
