// The thread pool's timer thread for CallOptions timeouts, and how a timed call arms
// its deadline around running.
#include "call_deadlines.hpp"

#include <pthread.h>

#include <exception>

#include <fmt/format.h>

#include "call_timeout.hpp"
#include "concurrent/futures/errors.hpp"

namespace concurrent::futures::detail {

CallDeadlines::~CallDeadlines() { stop(); }

void CallDeadlines::start() {
  MutexLock lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([self = shared_from_this()] { self->run(); });
}

void CallDeadlines::stop() {
  std::thread thread;
  {
    MutexLock lock(mutex_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  changed_.notify_all();
  if (!thread.joinable()) return;
  // A done-callback run by the timer may drop the last reference to the pool.
  if (thread.get_id() == std::this_thread::get_id()) {
    thread.detach();
  } else {
    thread.join();
  }
}

CallDeadlines::Map::node_type CallDeadlines::make_node() {
  Map map;
  map.emplace(Key{}, Armed{});
  return map.extract(map.begin());
}

CallDeadlines::Key CallDeadlines::arm(Map::node_type node, std::shared_ptr<WorkItem> call,
                                      Clock::duration timeout) noexcept {
  bool earliest = false;
  Key key;
  {
    MutexLock lock(mutex_);
    key = Key{deadline_after(timeout), armed_count_++};
    node.key() = key;
    node.mapped() = Armed{std::move(call), timeout};
    const Map::iterator position = armed_.insert(std::move(node)).position;
    earliest = position == armed_.begin();
  }
  if (earliest) changed_.notify_one();  // the timer sleeps until a later deadline
  return key;
}

void CallDeadlines::disarm(const Key& key) noexcept {
  Map::node_type node;  // released after unlocking: it holds a reference to the call
  MutexLock lock(mutex_);
  node = armed_.extract(key);
}

void CallDeadlines::run() {
  pthread_setname_np(pthread_self(), thread_name_.c_str());
  for (;;) {
    Map::node_type fired;  // fired and released outside the lock
    {
      MutexLock lock(mutex_);
      while (!fired) {
        if (stopping_) return;
        if (armed_.empty()) {
          lock.wait(changed_);
        } else if (const Clock::time_point due = armed_.begin()->first.first; Clock::now() < due) {
          (void)lock.wait_until(changed_, due);
        } else {
          fired = armed_.extract(armed_.begin());
        }
      }
    }
    fire(fired.mapped());
  }
}

void CallDeadlines::fire(const Armed& armed) noexcept {
  try {
    (void)armed.call->future().fail_and_request_stop(std::make_exception_ptr(TimeoutError(
        fmt::format("the call did not finish within its timeout of {} (CallOptions::timeout, "
                    "counted from when it started running); its std::stop_token, if it takes "
                    "one, has been asked to stop, and its worker is busy until it returns",
                    describe_timeout(armed.timeout)))));
  } catch (...) {  // no memory for the message: fail it all the same
    (void)armed.call->future().fail_and_request_stop(std::current_exception());
  }
}

void TimedCall::run(WorkerHooks& hooks) noexcept {
  worker_ = &hooks;
  call_->run(*this);
  if (armed_) deadlines_.disarm(*armed_);
}

void TimedCall::call_started() noexcept {
  armed_ = deadlines_.arm(std::move(node_), call_, timeout_);
}

void TimedCall::call_returned(FutureCoreBase& future) noexcept { worker_->call_returned(future); }

}  // namespace concurrent::futures::detail
