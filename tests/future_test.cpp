#include "concurrent/futures/future.hpp"

#include <gtest/gtest.h>

namespace cf = concurrent::futures;

TEST(Future, SetResultThenRead) {
  cf::Promise<int> promise;
  cf::Future<int> future = promise.get_future();
  promise.set_result(42);
  EXPECT_EQ(future.result(), 42);
}
