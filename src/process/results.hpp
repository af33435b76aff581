// Finishing a call's futures from the result message that answers it: shared by the
// process pool (results.cpp) and the MPI pool, which speak the same wire format.
// Private to the library.
#pragma once

#include <cstdint>
#include <vector>

#include "concurrent/futures/detail/process_call.hpp"
#include "process/wire.hpp"

namespace concurrent::futures::detail {

// Finishes the futures of the items of `call` listed in `indices` (the items that were
// sent, in the order sent) from `r`, one outcome each, in that order; done-callbacks
// run on this thread. Throws wire::WireError, finishing nothing, unless `r` holds
// exactly one outcome per item (read_result has checked the rest).
void finish_call(ProcessCall& call, const std::vector<std::uint32_t>& indices,
                 const wire::ResultFrame& r);

// finish_call for a call of one item in two steps, for a thread that must check the
// message before it lets go of the channel and finish the future only after
// (own_result.cpp): read_single_outcome throws wire::WireError unless `r` holds exactly
// one outcome; finish_item finishes the item's future from it.
wire::ResultOutcome read_single_outcome(const wire::ResultFrame& r);
void finish_item(ProcessCall& call, std::uint32_t index, const wire::ResultOutcome& outcome);

}  // namespace concurrent::futures::detail
