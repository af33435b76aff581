// Fuzz target for the process pool's message reader: the frame decoder and every
// message decoder, fed arbitrary bytes in arbitrary pieces. The only acceptable outcome
// for bad input is wire::WireError; anything else (a crash, another exception, a hang,
// an allocation the input did not pay for) is a bug.
//
// Built two ways: as a libFuzzer target with clang (CONCURRENT_FUTURES_LIBFUZZER, see
// tests/fuzz/CMakeLists.txt; corpus in tests/fuzz/corpus/), and into process_pool_wire_test,
// which replays the corpus and random mutations of it under GoogleTest.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "process/wire.hpp"

namespace wire = concurrent::futures::detail::wire;

// Returns the number of frames decoded (for the tests).
int concurrent_futures_fuzz_wire(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks how the stream is cut into reads, as a socket would.
  const std::size_t piece = 1 + data[0] % 64;
  ++data;
  --size;
  wire::FrameDecoder decoder;
  int frames = 0;
  try {
    for (std::size_t at = 0; at < size; at += piece) {
      const std::size_t n = size - at < piece ? size - at : piece;
      decoder.feed(reinterpret_cast<const char*>(data + at), n);
      wire::MessageType type;
      std::string_view payload;
      while (decoder.next(type, payload)) {
        ++frames;
        try {
          switch (type) {
            case wire::MessageType::config:
              (void)wire::decode_config(payload);
              break;
            case wire::MessageType::call:
              (void)wire::decode_call(payload);
              break;
            case wire::MessageType::stop:
              break;
            case wire::MessageType::ready:
            case wire::MessageType::initialized:
              wire::decode_ready(payload);
              break;
            case wire::MessageType::refused:
            case wire::MessageType::init_failed:
              (void)wire::decode_text(payload);
              break;
            case wire::MessageType::result:
              (void)wire::decode_result(payload);
              break;
          }
        } catch (const wire::WireError&) {
          // A bad message inside good framing: the call fails, the channel goes on.
        }
      }
    }
  } catch (const wire::WireError&) {
    // Corrupt framing: the channel is closed and the pool breaks.
  }
  return frames;
}

#if defined(CONCURRENT_FUTURES_LIBFUZZER)
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)concurrent_futures_fuzz_wire(data, size);
  return 0;
}
#endif
