// Starting a process pool: checking the options, the configuration every worker
// receives first, the fork server, and starting one worker by each start method.
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "process/core.hpp"
#include "process/fork_safety.hpp"
#include "process/image.hpp"
#include "process/worker.hpp"

namespace concurrent::futures::detail {

namespace {

std::size_t checked_workers(const ProcessPoolOptions& o) {
  const std::size_t max_workers = max_workers_or(o.max_workers, usable_cpus());
  if (o.max_tasks_per_child) {
    if (*o.max_tasks_per_child == 0) {
      throw std::invalid_argument("max_tasks_per_child must be greater than 0");
    }
    if (o.start_method == StartMethod::fork)
      throw fork_cannot_replace_workers("max_tasks_per_child");
  }
  if (o.on_worker_death == OnWorkerDeath::replace && o.start_method == StartMethod::fork) {
    throw fork_cannot_replace_workers("OnWorkerDeath::replace");
  }
  return max_workers;
}

}  // namespace

ProcessPoolCore::ProcessPoolCore(ProcessPoolOptions options)
    : max_workers_(checked_workers(options)),
      start_method_(options.start_method),
      max_tasks_(options.max_tasks_per_child),
      start_timeout_(options.worker_start_timeout),
      on_worker_death_(options.on_worker_death),
      initializer_(std::move(options.initializer)),
      timeline_(std::move(options.timeline)) {
  wire::ConfigMessage config;
  config.build_id = executable_build_id();
  config.max_tasks = max_tasks_.value_or(0);
  config.has_init = static_cast<bool>(initializer_);
  if (config.has_init) {
    config.init_key = initializer_.entry_key();
    config.init_fn = initializer_.fn_bytes();
    config.init_args = initializer_.args();
  }
  wire::encode_config(config_frame_, config);
  wakeup_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wakeup_) throw_start_error("eventfd", max_workers_);
  lent_epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!lent_epoll_) throw_start_error("epoll_create1", max_workers_);
  reader_wakeup_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!reader_wakeup_) throw_start_error("eventfd", max_workers_);
}

ProcessPoolCore::~ProcessPoolCore() = default;

void ProcessPoolCore::start() {
  try {
    // Other threads of the program may be inside the library right now (fork_safety.hpp).
    if (start_method_ == StartMethod::fork) prepare_to_fork();
    if (start_method_ == StartMethod::forkserver) {
      fork_server_ = std::make_unique<ForkServer>();
      fork_server_->start();
    }
    for (std::size_t i = 0; i < max_workers_; ++i) start_worker();
  } catch (const std::system_error& e) {
    kill_and_reap_all();
    if (fork_server_) fork_server_->stop();
    // "socketpair: Too many open files" says nothing a user can act on.
    if (e.code() == std::errc::too_many_files_open ||
        e.code() == std::errc::too_many_files_open_in_system) {
      errno = e.code().value();
      throw_start_error(e.what(), max_workers_);
    }
    throw;
  } catch (...) {
    kill_and_reap_all();
    if (fork_server_) fork_server_->stop();
    throw;
  }
  // The management thread starts only now: with StartMethod::fork, every fork above
  // happened while the pool had no thread of its own.
  manager_.start([self = shared_from_this()] { self->manager_main(); });
}

void ProcessPoolCore::start_worker() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) throw_errno("socketpair");
  auto w = std::make_unique<WorkerProcess>();
  w->channel.reset(fds[0]);
  UniqueFd child(fds[1]);
  switch (start_method_) {
    case StartMethod::fork: {
      const pid_t pid = ::fork();
      if (pid < 0) throw_errno("fork");
      if (pid == 0) {
        // The child keeps only its own end of the pool's channels.
        for (const auto& other : workers_) {
          ::close(other->channel.get());
          ::close(other->pidfd.get());
        }
        ::close(w->channel.get());
        ::close(wakeup_.get());
        ::close(lent_epoll_.get());
        ::close(reader_wakeup_.get());
        ::_exit(worker_main(child.get()));
      }
      w->pid = pid;
      break;
    }
    case StartMethod::spawn:
      w->pid = spawn_self("worker:3", child.get());
      break;
    case StartMethod::forkserver:
      w->pid = fork_server_->fork_worker(child.get());
      break;
  }
  child.reset();
  w->pidfd.reset(pidfd_open(w->pid));
  if (!w->pidfd) {
    const int error = errno;
    ::kill(w->pid, SIGKILL);
    if (start_method_ == StartMethod::forkserver) {
      (void)fork_server_->wait_worker(w->pid);
    } else {
      int status;
      ::waitpid(w->pid, &status, 0);
    }
    errno = error;
    throw_errno("pidfd_open");
  }
  ::fcntl(w->channel.get(), F_SETFL, ::fcntl(w->channel.get(), F_GETFL) | O_NONBLOCK);
  w->out = config_frame_;
  w->start_deadline = std::chrono::steady_clock::now() + start_timeout_;
  {
    MutexLock lock(mutex_);
    live_.emplace_back(w->pid, w->pidfd.get());
    // A replacement started while kill_workers() ran, too late for it to see: it goes
    // the way of the others.
    if (forced_) (void)pidfd_send_signal(w->pidfd.get(), SIGKILL);
  }
  workers_.push_back(std::move(w));
}

}  // namespace concurrent::futures::detail
