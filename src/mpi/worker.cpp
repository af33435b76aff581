// A worker rank: serves the pools of rank 0, one after another, with the process pool's
// wire format, one MPI message per batch of frames.
//
// A rank starts idle. A pool's config frame (on the pool's tag) attaches it to that
// pool: it checks the build id, runs the initializer, and answers ready (or refused,
// or init_failed). Call frames are run as in a process-pool worker (process/worker.hpp's
// run_call), their results sent back on the pool's tag. A stop frame detaches it again
// (a spawned worker then exits). A message on kExitTag, at any time, means rank 0's
// program is ending.

#include <unistd.h>

#include <climits>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "mpi/frames.hpp"
#include "mpi/runtime.hpp"
#include "mpi/sends.hpp"
#include "mpi/wait.hpp"
#include "process/image.hpp"
#include "process/wire.hpp"
#include "process/worker.hpp"

namespace concurrent::futures::detail::mpi {

namespace {

// Rank 0's rank in every communicator a worker serves on.
constexpr int kPoolRank = 0;

// Results leave with MPI_Isend (sends.hpp), so that the worker goes on with its next
// item while rank 0 is still busy with earlier results: a large message is sent by
// rendezvous, and a blocking send would wait for rank 0 to post the receive. At most
// kMaxSendsInFlight messages are outstanding.
class RankOutput final : public ResultOutput {
 public:
  static constexpr std::size_t kMaxSendsInFlight = 8;

  RankOutput(MPI_Comm comm, int tag) : comm_(comm), tag_(tag) {}
  RankOutput(const RankOutput&) = delete;
  RankOutput& operator=(const RankOutput&) = delete;
  ~RankOutput() { complete(0); }

  std::string& out() override { return sends_.next(); }
  void flush() override {
    if (sends_.next().empty()) return;
    complete(kMaxSendsInFlight - 1);
    sends_.start(kPoolRank, tag_, comm_);
  }
  void retarget(int tag) { tag_ = tag; }

  // Completes sends until at most `left` are outstanding (0: all of them), and forgets
  // those that finished meanwhile.
  void complete(std::size_t left) {
    sends_.complete(left);
    (void)sends_.progress();
  }

 private:
  MPI_Comm comm_;
  int tag_;
  Sends sends_;
};

void send_text(MPI_Comm comm, int tag, wire::MessageType type, std::string_view text) {
  std::string out;
  wire::encode_text(out, type, text);
  MPI_Send(out.data(), static_cast<int>(out.size()), MPI_BYTE, kPoolRank, tag, comm);
}

// Receives the next message from rank 0 into `in`; returns its tag.
int receive(MPI_Comm comm, std::string& in, Backoff& backoff, RankOutput& output) {
  MPI_Message message;
  MPI_Status status;
  for (;;) {
    output.complete(RankOutput::kMaxSendsInFlight);  // lets finished sends go
    int found = 0;
    MPI_Improbe(kPoolRank, MPI_ANY_TAG, comm, &found, &message, &status);
    if (found != 0) break;
    backoff.pause();
  }
  backoff.reset();
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  in.resize(static_cast<std::size_t>(count));
  MPI_Mrecv(in.data(), count, MPI_BYTE, &message, MPI_STATUS_IGNORE);
  return status.MPI_TAG;
}

// The answer to a pool's configuration: ready, or why not.
void configure(MPI_Comm comm, int tag, std::string_view payload, const std::string& refusal,
               bool& refused) {
  const wire::ConfigMessage config = wire::decode_config(payload);
  const std::string& own_id = executable_build_id();
  refused = true;
  if (config.build_id != own_id) {
    send_text(
        comm, tag, wire::MessageType::refused,
        fmt::format("MPI worker rank (pid {}) runs a different executable than rank 0 "
                    "(build id {}, rank 0's is {}); it refused to run calls. Run the same "
                    "build on every machine of the job",
                    ::getpid(), own_id.empty() ? std::string("unknown") : own_id, config.build_id));
    return;
  }
  if (!refusal.empty()) {
    send_text(comm, tag, wire::MessageType::refused, refusal);
    return;
  }
  if (config.has_init) {
    std::string error;
    if (!run_initializer(config, error)) {
      send_text(comm, tag, wire::MessageType::init_failed, error);
      return;
    }
  }
  refused = false;
  std::string out;
  wire::encode_ready(out);
  MPI_Send(out.data(), static_cast<int>(out.size()), MPI_BYTE, kPoolRank, tag, comm);
}

}  // namespace

void serve(MPI_Comm comm, bool spawned, const std::string& refusal) noexcept {
  use_fine_timer_slack();
  std::string in;
  Backoff backoff;
  RankOutput output(comm, kExitTag);
  int pool_tag = -1;     // the pool this rank serves, -1 while idle
  bool refused = false;  // this pool's calls are not run (it was refused)
  try {
    for (;;) {
      const int tag = receive(comm, in, backoff, output);
      if (tag == kExitTag) return;
      if (pool_tag != -1 && tag != pool_tag) {
        throw wire::WireError(
            fmt::format("a message on tag {} while serving the pool on tag {}", tag, pool_tag));
      }
      output.retarget(tag);
      std::string_view rest(in);
      while (!rest.empty()) {
        std::string_view payload;
        const wire::MessageType type = take_frame(rest, payload);
        switch (type) {
          case wire::MessageType::config:
            if (pool_tag != -1) throw wire::WireError("a second configuration");
            pool_tag = tag;
            configure(comm, tag, payload, refusal, refused);
            break;
          case wire::MessageType::call:
            if (pool_tag == -1) throw wire::WireError("a call before the configuration");
            if (!refused) {
              run_call(output, wire::decode_call(payload));
              output.flush();
            }
            break;
          case wire::MessageType::stop:
            output.complete(0);
            pool_tag = -1;
            if (spawned) return;
            break;
          default:
            throw wire::WireError(
                fmt::format("unexpected message type {}", static_cast<int>(type)));
        }
      }
    }
  } catch (const std::exception& e) {
    // The exchange with rank 0 can no longer be trusted: end the job, loudly, rather
    // than leave rank 0 waiting for an answer that will not come.
    std::fprintf(stderr, "concurrent::futures MPI worker (pid %d): %s\n",
                 static_cast<int>(::getpid()), e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
}

}  // namespace concurrent::futures::detail::mpi
