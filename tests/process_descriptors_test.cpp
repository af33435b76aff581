// Running out of file descriptors while a pool starts (issue 7 item 8): the error says
// how many descriptors the pool needs and what to change, keeps its errno code, and
// leaves no worker and no descriptor behind.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <string>
#include <system_error>

#include "concurrent/futures/process_pool.hpp"
#include "process_pool_test_util.hpp"

namespace cf = concurrent::futures;

namespace {

using concurrent::futures::test::open_fds;

// Lowers the soft RLIMIT_NOFILE for its lifetime.
class DescriptorLimit {
 public:
  explicit DescriptorLimit(rlim_t soft) {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit lowered = saved_;
    lowered.rlim_cur = soft;
    ::setrlimit(RLIMIT_NOFILE, &lowered);
  }
  ~DescriptorLimit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
  DescriptorLimit(const DescriptorLimit&) = delete;
  DescriptorLimit& operator=(const DescriptorLimit&) = delete;

 private:
  rlimit saved_{};
};

class ProcessDescriptorsTest : public testing::TestWithParam<cf::StartMethod> {};

INSTANTIATE_TEST_SUITE_P(StartMethods, ProcessDescriptorsTest,
                         testing::Values(cf::StartMethod::fork, cf::StartMethod::spawn,
                                         cf::StartMethod::forkserver),
                         [](const auto& info) { return cf::to_string(info.param); });

TEST_P(ProcessDescriptorsTest, RunningOutSaysHowManyThePoolNeedsAndWhatToChange) {
#if defined(CONCURRENT_FUTURES_TEST_ASAN)
  GTEST_SKIP() << "UBSan's vptr check opens a pipe to probe memory; with every descriptor "
                  "taken it fails and reports a false 'invalid vptr'";
#endif
  const std::size_t before = open_fds();
  std::string message;
  std::error_code code;
  {
    // Room for the pool's own descriptors and about two workers of the sixteen.
    DescriptorLimit limit(before + 8);
    try {
      cf::ProcessPoolExecutor pool(
          cf::ProcessPoolOptions{.max_workers = 16, .start_method = GetParam()});
      ADD_FAILURE() << "16 workers started with " << before + 8 << " descriptors";
    } catch (const std::system_error& e) {
      message = e.what();
      code = e.code();
    }
  }
  EXPECT_EQ(code, std::errc::too_many_files_open) << message;
  EXPECT_NE(message.find("a pool of 16 workers needs 37"), std::string::npos) << message;
  EXPECT_NE(message.find("lower max_workers"), std::string::npos) << message;
  EXPECT_NE(message.find("ulimit -n"), std::string::npos) << message;
  EXPECT_NE(message.find("this process may have only " + std::to_string(before + 8) + " open"),
            std::string::npos)
      << message;
  EXPECT_EQ(open_fds(), before) << "the failed start left descriptors open";
  EXPECT_TRUE(
      cf::ProcessPoolExecutor(cf::ProcessPoolOptions{.max_workers = 1, .start_method = GetParam()})
          .worker_pids()
          .size() == 1)
      << "a pool starts again once descriptors are free";
}

}  // namespace
