// Checks for the library's error messages: what an action throws, and that a message is
// a sentence a user can act on.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <exception>
#include <string>

namespace concurrent::futures::test {

// The what() of the exception `f()` throws, or "<nothing thrown>".
template <class F>
std::string what_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "<nothing thrown>";
}

// A full sentence: a reasonably long message with at least a few words.
inline void expect_sentence(const std::string& message) {
  EXPECT_GE(message.size(), 30u) << message;
  EXPECT_GE(std::count(message.begin(), message.end(), ' '), 4) << message;
}

}  // namespace concurrent::futures::test
