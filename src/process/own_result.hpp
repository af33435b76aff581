// Reading one's own result: a thread that submitted a call on a process pool's idle fast
// path, and then waits for that call's future, reads the result from the worker's socket
// itself instead of being woken by the management thread once it has read it
// (LentChannel in core.hpp; own_result.cpp). Private to the library.
#pragma once

#include <memory>

#include "concurrent/futures/detail/future_core.hpp"

namespace concurrent::futures::detail {

class ProcessPoolCore;

// Called by a submit that wrote its call to `pool`'s lent worker: this thread's next
// waits ask that pool whether they may read their result.
void remember_own_call(std::weak_ptr<ProcessPoolCore> pool);

// Called by a wait on `future`, a process's or an MPI rank's, before it blocks: true if
// this thread finished `future` by reading its result itself (waiting until `deadline`
// at most); false if the wait must block as usual.
bool read_own_result(const FutureCoreBase& future, Clock::time_point deadline);

}  // namespace concurrent::futures::detail
