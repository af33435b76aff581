// The worker loop, and the hook that enters it (or the fork server's) before main().
//
// Entering worker mode before main(): a spawned worker (or the fork server) is this
// same executable run again with kWorkerMarkerVariable set. A constructor function in
// this file notices the marker while the program's static initializers run. It must
// not start serving calls yet: entry points (detail/process_entry.hpp) and the user's
// globals are set up by initializers that may come *after* it in the executable's
// .init_array (their order follows the link order, which a library cannot rely on).
// So it looks itself up in the executable's .init_array and runs every initializer
// after it, in order, itself; then it serves calls and ends with _exit(), never
// returning to the loader. The effect is exactly "all static initializers ran, then the
// worker loop instead of main()". The initializers before it have already run.
// (A worker started with StartMethod::fork is a copy of the parent and needs none of
// this; a fork server's children inherit the server's fully initialized state.)
//
// This needs the library linked into the executable (a static library, the default).
// Built as a shared library, the hook is in the library's own initializers, which the
// loader runs before the executable's: the executable's initializers (which register
// the functions a worker may run) have not run yet and cannot be run from there. Such
// a worker refuses to run calls with a message saying so, and the pool reports it as
// BrokenProcessPool; StartMethod::fork still works.

#include "process/worker.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "concurrent/futures/detail/process_entry.hpp"
#include "concurrent/futures/errors.hpp"
#include "process/fork_safety.hpp"
#include "process/fork_server.hpp"
#include "process/image.hpp"
#include "process/io.hpp"
#include "process/remote_exception.hpp"
#include "process/wire.hpp"

namespace concurrent::futures::detail {

namespace {

// Set by the hook when it runs from a shared library (see the top of this file).
bool g_before_executable_initializers = false;
// Set by the hook once it knows this process is a worker or the fork server.
bool g_process_worker = false;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class Channel final : public ResultOutput {
 public:
  explicit Channel(int fd) : fd_(fd) {}

  // The next frame, spinning first while calls come back-to-back (kSpinForCall).
  bool read_call(wire::MessageType& type, std::string& payload) {
    const auto start = std::chrono::steady_clock::now();
    bool readable = in_begin_ < in_end_;  // part of a frame is here already
    if (!readable && last_gap_ < kSpinWhileGapsBelow) {
      pollfd p{fd_, POLLIN, 0};
      // Readable, closed, or an error read() reports.
      readable = poll_spinning(&p, 1, start + kSpinForCall) != 0;
    }
    if (!readable) wait_readable();
    const bool more = read(type, payload);
    last_gap_ = std::chrono::steady_clock::now() - start;
    return more;
  }

  // Blocks until the socket is readable. A read() would also block, but a reader asleep
  // on a Unix socket wakes for every change on it, the parent reading this worker's
  // last result among them (it frees room to write): a wake-up for nothing, between the
  // result and the parent's next step on a busy CPU. poll() sleeps until data comes.
  void wait_readable() {
    pollfd p{fd_, POLLIN, 0};
    while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
  }

  // The next frame, or false at end of file. Throws wire::WireError or system_error.
  // Reads whatever the socket holds, up to kReadAhead bytes, so that a small frame (and
  // any queued behind it) costs one read(), not one for its header and one for its
  // payload.
  bool read(wire::MessageType& type, std::string& payload) {
    if (!fill(wire::kFrameHeaderBytes)) return false;
    const wire::FrameHeader h = wire::parse_frame_header(in_.get() + in_begin_);
    in_begin_ += wire::kFrameHeaderBytes;
    payload.resize(static_cast<std::size_t>(h.length));
    const std::size_t here = std::min(payload.size(), in_end_ - in_begin_);
    std::memcpy(payload.data(), in_.get() + in_begin_, here);
    in_begin_ += here;
    if (here < payload.size() && !read_exact(fd_, payload.data() + here, payload.size() - here)) {
      throw wire::WireError("the channel closed in the middle of a message");
    }
    type = h.type;
    return true;
  }

  std::string& out() override { return out_; }
  void flush() override {
    if (out_.empty()) return;
    write_all(fd_, out_.data(), out_.size());
    out_.clear();
  }

  void send_text(wire::MessageType type, std::string_view text) {
    wire::encode_text(out_, type, text);
    flush();
  }

 private:
  // Reads until at least `n` (at most kReadAhead) bytes are buffered. False at end of
  // file with nothing buffered; throws system_error at end of file inside a frame.
  bool fill(std::size_t n) {
    if (in_end_ - in_begin_ >= n) return true;
    std::memmove(in_.get(), in_.get() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
    const std::size_t got =
        read_at_least(fd_, in_.get() + in_end_, n - in_end_, kReadAhead - in_end_);
    if (got == 0) {
      if (in_end_ == 0) return false;
      errno = EPIPE;
      throw_errno("read: the channel closed in the middle of a message");
    }
    in_end_ += got;
    return true;
  }

  // Bytes read ahead of the frame being parsed. Larger: fewer read()s for calls queued
  // back to back; smaller: less memory per worker.
  static constexpr std::size_t kReadAhead = std::size_t{64} * 1024;
  int fd_;
  std::unique_ptr<char[]> in_ = std::make_unique<char[]>(kReadAhead);
  std::size_t in_begin_ = 0;  // in_[in_begin_, in_end_) is read and not yet parsed
  std::size_t in_end_ = 0;
  std::string out_;
  std::chrono::steady_clock::duration last_gap_{};
};

// Runs the items of one call message, encoding each outcome straight into the channel's
// buffer as one result frame.
class Runner final : public ItemRunner {
 public:
  // The call's start and end times travel with or without a timeline: the pool
  // dispatches by call length (kShortCall in core.hpp). Two clock readings per call,
  // not per item: for a chunk of tiny items they would cost more than the items.
  Runner(ResultOutput& channel, std::uint64_t seq, std::size_t items, std::uint64_t limit)
      : out_(channel.out()), result_(out_, seq, now_ns(), items, limit) {}

  void run_item(std::size_t index, Body body, void* context) override {
    result_.begin_value();
    try {
      body(context, index, out_);
      result_.end_value();
    } catch (...) {
      result_.drop_value();
      const EncodedException e = encode_exception(std::current_exception());
      result_.add_exception(e.kind, e.type_name, e.message, e.details);
    }
  }

  void finish() { result_.finish(now_ns()); }

 private:
  std::string& out_;
  wire::ResultWriter result_;
};

}  // namespace

void run_call(ResultOutput& channel, const wire::CallMessage& call, std::uint64_t limit) {
  const std::vector<std::string_view>& args = call.items;
  Runner runner(channel, call.seq, args.size(), limit);
  bool ambiguous = false;
  const EntryFn entry = find_process_entry(call.entry_key, &ambiguous);
  if (entry != nullptr) {
    entry(call.fn, args, runner);
    runner.finish();
    return;
  }
  const std::string reason =
      fmt::format("the worker process has {} named \"{}\"; the call was not run",
                  ambiguous ? "two different entry points" : "no entry point", call.entry_key);
  struct Fail {
    static void body(void* reason, std::size_t, std::string&) {
      throw std::invalid_argument(*static_cast<const std::string*>(reason));
    }
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    runner.run_item(i, &Fail::body, const_cast<std::string*>(&reason));
  }
  runner.finish();
}

bool run_initializer(const wire::ConfigMessage& config, std::string& error) {
  EntryFn entry = find_process_entry(config.init_key);
  if (entry == nullptr) {
    error =
        fmt::format("the worker process has no initializer entry named \"{}\"", config.init_key);
    return false;
  }
  struct Capture final : ItemRunner {
    void run_item(std::size_t index, Body body, void* context) override {
      std::string ignored;
      try {
        body(context, index, ignored);
      } catch (...) {
        error = std::current_exception();
      }
    }
    std::exception_ptr error;
  } capture;
  std::vector<std::string_view> args{config.init_args};
  entry(config.init_fn, args, capture);
  if (!capture.error) return true;
  const EncodedException e = encode_exception(capture.error);
  error = fmt::format("the initializer threw {}: {}", e.type_name, e.message);
  return false;
}

namespace {

int serve_calls(int fd) noexcept {
  Channel channel(fd);
  std::string payload;
  wire::MessageType type{};
  try {
    if (!channel.read(type, payload)) return 0;
    if (type != wire::MessageType::config) {
      throw wire::WireError("the first message was not the configuration");
    }
    const wire::ConfigMessage config = wire::decode_config(payload);
    const std::string& own_id = executable_build_id();
    if (config.build_id != own_id) {
      channel.send_text(
          wire::MessageType::refused,
          fmt::format("worker process {} runs a different executable than the pool (build id "
                      "{}, the pool's is {}); it refused to run calls. Rebuild and restart the "
                      "program",
                      ::getpid(), own_id.empty() ? std::string("unknown") : own_id,
                      config.build_id));
      return kExitRefused;
    }
    if (g_before_executable_initializers) {
      channel.send_text(
          wire::MessageType::refused,
          fmt::format("worker process {} cannot run calls: concurrent_futures is built as a "
                      "shared library, so a worker started with StartMethod::spawn or "
                      "StartMethod::forkserver starts before the executable's static "
                      "initializers, which register the functions it may run. Link "
                      "concurrent_futures as a static library (the default, "
                      "BUILD_SHARED_LIBS=OFF) or use StartMethod::fork",
                      ::getpid()));
      return kExitRefused;
    }
    // Ready before the initializer: the pool bounds the time to here
    // (worker_start_timeout), never the user's initializer.
    wire::encode_ready(channel.out());
    channel.flush();
    if (config.has_init) {
      std::string error;
      if (!run_initializer(config, error)) {
        channel.send_text(wire::MessageType::init_failed, error);
        return kExitInitFailed;
      }
      // From here on, a death of this worker is a death in a call (the pool blames the
      // first call it holds without a result): calls run one at a time, each one's
      // results flushed before the next call is read.
      wire::encode_initialized(channel.out());
      channel.flush();
    }
    std::uint64_t calls = 0;
    while (channel.read_call(type, payload)) {
      if (type == wire::MessageType::stop) break;
      if (type != wire::MessageType::call) {
        throw wire::WireError(fmt::format("unexpected message type {}", static_cast<int>(type)));
      }
      const wire::CallMessage call = wire::decode_call(payload);
      run_call(channel, call);
      channel.flush();
      if (config.max_tasks != 0 && ++calls >= config.max_tasks) break;
    }
    return 0;
  } catch (const wire::WireError& e) {
    fmt::print(stderr, "concurrent::futures worker {}: unreadable message from the pool: {}\n",
               ::getpid(), e.what());
    return kExitBadMessage;
  } catch (const std::exception& e) {
    return kExitParentGone;
  } catch (...) {
    return kExitParentGone;
  }
}

}  // namespace

int worker_main(int fd) noexcept {
  const int code = serve_calls(fd);
  // The worker ends with _exit(), which flushes nothing: what its calls printed to a
  // pipe or a file (fully buffered there) would be lost.
  flush_standard_streams();
  return code;
}

bool started_as_process_worker() noexcept {
  return g_process_worker ||
         std::getenv(kWorkerMarkerVariable) != nullptr;  // NOLINT(concurrency-mt-unsafe)
}

namespace {

__attribute__((constructor)) void process_worker_hook(int argc, char** argv, char** envp) {
  // Runs during static initialization, before any thread of the program exists.
  const char* marker = std::getenv(kWorkerMarkerVariable);  // NOLINT(concurrency-mt-unsafe)
  if (marker == nullptr) return;
  const std::string_view value(marker);
  bool server = false;
  std::string_view number;
  if (value.substr(0, 7) == "worker:") {
    number = value.substr(7);
  } else if (value.substr(0, 11) == "forkserver:") {
    server = true;
    number = value.substr(11);
  } else {
    return;
  }
  int fd = 0;
  for (char c : number) {
    if (c < '0' || c > '9' || fd > 100000) return;
    fd = fd * 10 + (c - '0');
  }
  if (number.empty() || ::fcntl(fd, F_GETFD) < 0) return;
  g_process_worker = true;
  ::unsetenv(kWorkerMarkerVariable);  // NOLINT(concurrency-mt-unsafe): single-threaded here
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  // Be the program the user wrote, minus main(): finish static initialization first.
  if (in_main_program(reinterpret_cast<const void*>(&process_worker_hook))) {
    (void)run_initializers_after(&process_worker_hook, argc, argv, envp);
  } else {
    g_before_executable_initializers = true;
  }
  ::_exit(server ? forkserver_main(fd) : worker_main(fd));
}

}  // namespace

}  // namespace concurrent::futures::detail
