// The size check of a call, in the thread that submits it (detail/process_call.hpp).
#include <cstring>

#include "concurrent/futures/detail/process_call.hpp"
#include "process/wire.hpp"

namespace concurrent::futures::detail {

void check_call_size(const ProcessCall& call) {
  wire::check_call_size(std::strlen(call.entry_key), call.fn_bytes.size(), call.size(),
                        call.args.size());
}

}  // namespace concurrent::futures::detail
