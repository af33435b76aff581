// What a worker prints is not lost (issue 7 item 6): with stdout a pipe (`./app | cat`),
// output a worker buffered reaches the pipe when the worker exits, and output the parent
// had buffered before forking its workers is printed once, not again by each worker.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "concurrent/futures/process_pool.hpp"
#include "test_util.hpp"

namespace cf = concurrent::futures;
using concurrent::futures::test::kLongTimeout;

namespace {

// No newline and no flush: the text stays in the worker's buffers whatever their mode.
int print_token(int i) {
  std::printf("[printf %d]", i);
  std::cout << "[cout " << i << "]";
  return i;
}

std::size_t count_of(const std::string& text, const std::string& token) {
  std::size_t n = 0;
  for (std::size_t at = text.find(token); at != std::string::npos; at = text.find(token, at + 1)) {
    ++n;
  }
  return n;
}

// Points fd 1 at a pipe for its lifetime and collects what arrives, until every writer
// (this process and the workers) has closed it, or the time limit passes.
class CapturedStdout {
 public:
  CapturedStdout() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    std::fflush(stdout);
    saved_ = ::dup(1);
    ::dup2(fds[1], 1);  // fd 1 itself is inherited by the workers
    ::close(fds[1]);
    reader_ = std::thread([this, fd = fds[0]] {
      const auto deadline = std::chrono::steady_clock::now() + kLongTimeout;
      char buffer[4096];
      while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n <= 0) break;  // every writer closed its end
        text_.append(buffer, static_cast<std::size_t>(n));
      }
      ::close(fd);
    });
  }
  // Restores fd 1 and returns everything written to the pipe.
  std::string finish() {
    std::cout.flush();
    std::fflush(stdout);
    ::dup2(saved_, 1);
    ::close(saved_);
    reader_.join();
    return text_;
  }

 private:
  int saved_ = -1;
  std::thread reader_;
  std::string text_;
};

class ProcessOutputTest : public testing::TestWithParam<cf::StartMethod> {};

INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessOutputTest,
                         testing::Values(cf::StartMethod::fork, cf::StartMethod::spawn,
                                         cf::StartMethod::forkserver),
                         [](const auto& info) { return cf::to_string(info.param); });

TEST_P(ProcessOutputTest, WhatWorkersPrintReachesAPipeOnce) {
  constexpr int kCalls = 8;
  CapturedStdout captured;
  std::printf("[parent before the pool]");  // still buffered when the workers start
  std::vector<int> results;
  {
    cf::ProcessPoolExecutor pool(
        cf::ProcessPoolOptions{.max_workers = 2, .start_method = GetParam()});
    std::vector<cf::Future<int>> futures;
    for (int i = 0; i < kCalls; ++i) futures.push_back(pool.submit(print_token, i));
    for (auto& f : futures) results.push_back(f.result(kLongTimeout));
  }  // the workers exit here
  const std::string text = captured.finish();

  ASSERT_EQ(results.size(), static_cast<std::size_t>(kCalls));
  EXPECT_EQ(count_of(text, "[parent before the pool]"), 1U) << text;
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_EQ(count_of(text, "[printf " + std::to_string(i) + "]"), 1U) << text;
    EXPECT_EQ(count_of(text, "[cout " + std::to_string(i) + "]"), 1U) << text;
  }
}

}  // namespace
