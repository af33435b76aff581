// The frames of one MPI message: every message between a pool and its worker ranks holds
// whole frames of the process pool's wire format (process/wire.hpp), back to back.
// Private to concurrent_futures_mpi.
#pragma once

#include <cstddef>
#include <string_view>

#include "process/wire.hpp"

namespace concurrent::futures::detail::mpi {

// Takes the first frame off the front of `message` (not empty): returns its type and sets
// `payload` to its payload, a view into `message`. Throws wire::WireError if `message`
// does not begin with a whole frame.
inline wire::MessageType take_frame(std::string_view& message, std::string_view& payload) {
  if (message.size() < wire::kFrameHeaderBytes) throw wire::WireError("a truncated frame");
  const wire::FrameHeader header = wire::parse_frame_header(message.data());
  if (message.size() - wire::kFrameHeaderBytes < header.length) {
    throw wire::WireError("a truncated frame");
  }
  payload = message.substr(wire::kFrameHeaderBytes, static_cast<std::size_t>(header.length));
  message.remove_prefix(wire::kFrameHeaderBytes + payload.size());
  return header.type;
}

}  // namespace concurrent::futures::detail::mpi
