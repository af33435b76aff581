// A worker given crafted messages by the test instead of a pool: it refuses a pool of
// another executable, fails calls to entries or functions it does not have, and ends
// on corrupt framing; it runs nothing it was not built to run.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <string_view>

#include "concurrent/futures/process_pool.hpp"
#include "process/image.hpp"
#include "process/wire.hpp"
#include "process/worker.hpp"
#include "process_pool_test_util.hpp"

using namespace std::chrono_literals;
namespace wire = concurrent::futures::detail::wire;

namespace {

using namespace concurrent::futures::test;  // process_pool_test_util.hpp

class CraftedMessages : public testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      ::close(fds[0]);
      ::_exit(concurrent::futures::detail::worker_main(fds[1]));
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  void send(const std::string& bytes) {
    ASSERT_EQ(::write(fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  void send_config(std::string_view build_id) {
    std::string out;
    wire::ConfigMessage config;
    config.build_id = build_id;
    wire::encode_config(out, config);
    send(out);
  }
  // The next frame from the worker (false at end of file).
  bool receive(wire::MessageType& type, std::string& payload) {
    wire::FrameDecoder decoder;
    std::string_view view;
    for (;;) {
      if (decoder.next(type, view)) {
        payload.assign(view);
        // Only one frame is read at a time, so nothing is lost by dropping the decoder.
        return true;
      }
      char c;
      const ssize_t n = ::read(fd_, &c, 1);
      if (n <= 0) return false;
      decoder.feed(&c, 1);
    }
  }
  int exit_code() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
  pid_t pid_ = -1;
  int fd_ = -1;
};

std::string call_frame(std::string_view key, std::string_view fn, std::string_view args) {
  std::string out;
  wire::encode_call(out, {.seq = 1, .entry_key = key, .fn = fn, .items = {args}});
  return out;
}

TEST_F(CraftedMessages, WrongExecutableIsRefused) {
  send_config("0123456789abcdef");
  wire::MessageType type{};
  std::string payload;
  ASSERT_TRUE(receive(type, payload));
  EXPECT_EQ(type, wire::MessageType::refused);
  const std::string text(wire::decode_text(payload));
  EXPECT_NE(text.find("runs a different executable"), std::string::npos) << text;
  EXPECT_EQ(exit_code(), concurrent::futures::detail::kExitRefused);
}

TEST_F(CraftedMessages, UnknownEntriesAndFunctionsFailTheCall) {
  send_config(concurrent::futures::detail::executable_build_id());
  wire::MessageType type{};
  std::string payload;
  ASSERT_TRUE(receive(type, payload));
  ASSERT_EQ(type, wire::MessageType::ready);

  send(call_frame("no such entry", "", ""));
  ASSERT_TRUE(receive(type, payload));
  ASSERT_EQ(type, wire::MessageType::result);
  // The one outcome of each call.
  auto outcome = [&] {
    const wire::ResultMessage r = wire::decode_result(payload);
    EXPECT_EQ(r.outcomes.size(), 1u);
    return r.outcomes.empty() ? wire::ResultOutcome{} : r.outcomes[0];
  };
  wire::ResultOutcome r = outcome();
  EXPECT_EQ(r.status, wire::ResultStatus::exception);
  EXPECT_NE(r.message.find("no entry point named"), std::string_view::npos) << r.message;

  // A real entry (int(*)(int)), but a function name the executable does not have.
  using Entry = concurrent::futures::detail::ProcessEntry<false, int (*)(int), int>;
  (void)Entry::registered;
  std::string args;
  concurrent::futures::detail::ValueWriter(&args).write(3);
  send(call_frame(Entry::key(), "not_a_function_here", args));
  ASSERT_TRUE(receive(type, payload));
  r = outcome();
  EXPECT_EQ(r.status, wire::ResultStatus::exception);
  EXPECT_NE(r.message.find("no function named"), std::string_view::npos) << r.message;

  // The right function with truncated arguments: the call fails, nothing runs.
  send(call_frame(
      Entry::key(),
      concurrent::futures::detail::function_symbol_key(reinterpret_cast<const void*>(&square)),
      args.substr(0, 2)));
  ASSERT_TRUE(receive(type, payload));
  r = outcome();
  EXPECT_EQ(r.status, wire::ResultStatus::exception);

  // And with whole arguments it runs.
  send(call_frame(
      Entry::key(),
      concurrent::futures::detail::function_symbol_key(reinterpret_cast<const void*>(&square)),
      args));
  ASSERT_TRUE(receive(type, payload));
  r = outcome();
  ASSERT_EQ(r.status, wire::ResultStatus::value);
  int value = 0;
  concurrent::futures::detail::ValueReader reader;
  reader.reset(r.value);
  reader.read(value);
  EXPECT_EQ(value, 9);
}

TEST_F(CraftedMessages, CorruptFramingEndsTheWorker) {
  send_config(concurrent::futures::detail::executable_build_id());
  wire::MessageType type{};
  std::string payload;
  ASSERT_TRUE(receive(type, payload));
  send(std::string("this is not a frame at all"));
  EXPECT_EQ(exit_code(), concurrent::futures::detail::kExitBadMessage);
}

}  // namespace
