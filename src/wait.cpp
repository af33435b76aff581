#include "concurrent/futures/wait.hpp"

#include <fmt/format.h>

#include <atomic>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_set>

#include "waiter.hpp"

namespace concurrent::futures::detail {

void throw_empty_in_wait() {
  throw InvalidStateError(
      "wait(), as_completed(), when_all() or when_any() was given an empty future handle "
      "(default-constructed or moved from); pass only futures obtained from a Promise or an "
      "executor");
}

std::vector<std::size_t> first_occurrences(const std::vector<FutureCoreBase*>& cores) {
  std::unordered_set<const FutureCoreBase*> seen;
  seen.reserve(cores.size());
  std::vector<std::size_t> keep;
  keep.reserve(cores.size());
  for (std::size_t i = 0; i < cores.size(); ++i) {
    if (seen.insert(cores[i]).second) keep.push_back(i);
  }
  return keep;
}

namespace {

bool satisfied(const std::vector<FutureCoreBase*>& cores, ReturnWhen return_when) {
  bool all_done = true;
  for (const FutureCoreBase* core : cores) {
    if (!core->done()) {
      all_done = false;
    } else if (return_when == ReturnWhen::first_completed ||
               (return_when == ReturnWhen::first_exception && core->failed())) {
      return true;
    }
  }
  return all_done;
}

Waiter::WakeOn wake_on(ReturnWhen return_when) {
  switch (return_when) {
    case ReturnWhen::first_completed:
      return Waiter::WakeOn::any;
    case ReturnWhen::first_exception:
      return Waiter::WakeOn::failure_or_all;
    case ReturnWhen::all_completed:
      break;
  }
  return Waiter::WakeOn::all;
}

}  // namespace

void wait_for_cores(const std::vector<FutureCoreBase*>& cores, Clock::time_point deadline,
                    ReturnWhen return_when) {
  if (satisfied(cores, return_when) || deadline <= Clock::now()) return;
  std::vector<std::size_t> unfinished;
  for (std::size_t i = 0; i < cores.size(); ++i) {
    if (!cores[i]->done()) unfinished.push_back(i);
  }
  Waiter waiter(wake_on(return_when), unfinished.size());
  std::vector<WaitLink> links(unfinished.size());
  for (std::size_t k = 0; k < unfinished.size(); ++k) {
    links[k].waiter = &waiter;
    links[k].index = unfinished[k];
    FutureCoreBase* core = cores[unfinished[k]];
    // A future that finished since the check above is reported as if it had notified.
    if (!core->link(links[k])) waiter.notify(unfinished[k], core->failed());
  }
  (void)waiter.wait_until(deadline);
  for (std::size_t k = 0; k < unfinished.size(); ++k) cores[unfinished[k]]->unlink(links[k]);
}

class CompletionQueue {
 public:
  CompletionQueue(std::vector<FutureCoreBase*> cores, Clock::time_point deadline);
  ~CompletionQueue();
  CompletionQueue(const CompletionQueue&) = delete;
  CompletionQueue& operator=(const CompletionQueue&) = delete;

  std::optional<std::size_t> next();

 private:
  std::vector<FutureCoreBase*> cores_;
  Clock::time_point deadline_;
  Waiter waiter_;
  std::vector<WaitLink> links_;
  std::deque<std::size_t> ready_;
  std::vector<bool> handed_out_flags_;  // a handed-out future may be gone: never touch it
  std::size_t handed_out_ = 0;
};

CompletionQueue::CompletionQueue(std::vector<FutureCoreBase*> cores, Clock::time_point deadline)
    : cores_(std::move(cores)),
      deadline_(deadline),
      waiter_(Waiter::WakeOn::any, cores_.size()),
      links_(cores_.size()),
      handed_out_flags_(cores_.size(), false) {
  for (std::size_t i = 0; i < cores_.size(); ++i) {
    links_[i].waiter = &waiter_;
    links_[i].index = i;
    if (!cores_[i]->link(links_[i])) ready_.push_back(i);
  }
}

CompletionQueue::~CompletionQueue() {
  for (std::size_t i = 0; i < cores_.size(); ++i) {
    if (!handed_out_flags_[i]) cores_[i]->unlink(links_[i]);
  }
}

std::optional<std::size_t> CompletionQueue::next() {
  if (ready_.empty()) {
    if (handed_out_ == cores_.size()) return std::nullopt;
    (void)waiter_.wait_until(deadline_);
    for (std::size_t i : waiter_.take_finished()) ready_.push_back(i);
    if (ready_.empty()) {
      const std::size_t unfinished = cores_.size() - handed_out_;
      throw TimeoutError(
          fmt::format("{} (of {}) futures unfinished when the as_completed() timeout passed",
                      unfinished, cores_.size()));
    }
  }
  const std::size_t index = ready_.front();
  ready_.pop_front();
  handed_out_flags_[index] = true;
  ++handed_out_;
  return index;
}

namespace {

// when_all's future and its count of inputs not yet done, in one allocation.
class WhenAll final : public Core<void> {
 public:
  explicit WhenAll(std::size_t inputs) : remaining_(inputs) {}
  // acq_rel: every input's completion happens before the one that finishes this.
  void count_down() {
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) try_set_value();
  }

 private:
  std::atomic<std::size_t> remaining_;
};

}  // namespace

std::shared_ptr<Core<void>> when_all_cores(const std::vector<FutureCoreBase*>& cores) {
  // One count more than the inputs, dropped last, so that inputs finishing while the
  // callbacks are being added cannot finish it early.
  auto all = std::make_shared<WhenAll>(cores.size() + 1);
  for (FutureCoreBase* core : cores) core->add_callback([all] { all->count_down(); });
  all->count_down();
  return all;
}

std::shared_ptr<Core<std::size_t>> when_any_cores(const std::vector<FutureCoreBase*>& cores) {
  if (cores.empty()) {
    throw std::invalid_argument(
        "when_any() was given no futures, so none can be first; pass at least one future, or "
        "check for an empty input first");
  }
  auto any = std::make_shared<Core<std::size_t>>();
  for (std::size_t i = 0; i < cores.size(); ++i) {
    if (cores[i]->done()) {
      any->try_set_value(i);
      return any;
    }
  }
  // The first callback to run wins; the later ones find the future finished.
  for (std::size_t i = 0; i < cores.size(); ++i) {
    cores[i]->add_callback([any, i] { any->try_set_value(i); });
  }
  return any;
}

void CompletionQueueDeleter::operator()(CompletionQueue* queue) const noexcept { delete queue; }

CompletionQueuePtr make_completion_queue(std::vector<FutureCoreBase*> cores,
                                         Clock::time_point deadline) {
  return CompletionQueuePtr(new CompletionQueue(std::move(cores), deadline));
}

std::optional<std::size_t> next_completed(CompletionQueue& queue) { return queue.next(); }

}  // namespace concurrent::futures::detail
