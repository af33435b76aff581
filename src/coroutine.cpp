// The parts of the coroutine support (coroutine.hpp) that do not depend on a value type.
#include "concurrent/futures/coroutine.hpp"

namespace concurrent::futures::detail {

bool suspend_until_done(FutureCoreBase& core, std::coroutine_handle<> coroutine) {
  UniqueFunction resume = [coroutine] { coroutine.resume(); };
  return core.add_callback_unless_done(resume);
}

void ResumeOnAwaiter::await_suspend(std::coroutine_handle<> coroutine) {
  Future<void> hop = pool_->submit([coroutine] { coroutine.resume(); });
  // Once the hop ran, the coroutine may be gone: touch it only if the hop never ran.
  hop.add_done_callback([this, coroutine](const Future<void>& done) {
    if (!done.cancelled()) return;
    cancelled_ = true;
    coroutine.resume();
  });
}

void ResumeOnAwaiter::await_resume() const {
  if (cancelled_) {
    throw CancelledError(
        "resume_on(pool): the pool cancelled the call that was to resume this coroutine "
        "(shutdown with cancel_futures); the coroutine goes on in the cancelling thread");
  }
}

}  // namespace concurrent::futures::detail
