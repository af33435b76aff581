// The process pool's wire format: round trips, and the fuzz target's entry point run
// over the corpus (tests/fuzz/corpus) and over random mutations of it, so that the
// message reader is exercised on every compiler, not only where libFuzzer exists.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "process/wire.hpp"

int concurrent_futures_fuzz_wire(const std::uint8_t* data, std::size_t size);

namespace wire = concurrent::futures::detail::wire;

namespace {

std::vector<std::string> corpus() {
  std::vector<std::string> inputs;
  for (const auto& entry : std::filesystem::directory_iterator(CONCURRENT_FUTURES_WIRE_CORPUS)) {
    std::ifstream in(entry.path(), std::ios::binary);
    inputs.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return inputs;
}

int run(const std::string& bytes) {
  return concurrent_futures_fuzz_wire(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                      bytes.size());
}

TEST(ProcessWire, FramesRoundTrip) {
  std::string out;
  wire::ConfigMessage config;
  config.build_id = "abc";
  config.max_tasks = 7;
  config.has_init = true;
  config.init_key = "key";
  const std::string init_args("\0\1", 2);
  config.init_args = init_args;
  wire::encode_config(out, config);
  const std::size_t start = wire::begin_frame(out, wire::MessageType::stop);
  wire::end_frame(out, start);

  wire::FrameDecoder decoder;
  for (char c : out) decoder.feed(&c, 1);  // one byte at a time, as a slow socket
  wire::MessageType type;
  std::string_view payload;
  ASSERT_TRUE(decoder.next(type, payload));
  ASSERT_EQ(type, wire::MessageType::config);
  const wire::ConfigMessage back = wire::decode_config(payload);
  EXPECT_EQ(back.build_id, "abc");
  EXPECT_EQ(back.max_tasks, 7u);
  EXPECT_EQ(back.init_key, "key");
  EXPECT_EQ(back.init_args, std::string_view("\0\1", 2));
  ASSERT_TRUE(decoder.next(type, payload));
  EXPECT_EQ(type, wire::MessageType::stop);
  EXPECT_FALSE(decoder.next(type, payload));
}

TEST(ProcessWire, CorruptFramingIsDetected) {
  char header[wire::kFrameHeaderBytes] = {};
  EXPECT_THROW((void)wire::parse_frame_header(header), wire::WireError);
  std::string out;
  const std::size_t start = wire::begin_frame(out, wire::MessageType::result);
  out.append(8, '\0');
  wire::end_frame(out, start);
  EXPECT_THROW((void)wire::decode_result(std::string_view(out).substr(16)), wire::WireError)
      << "a truncated result";
  out[4] = 99;  // unknown type
  EXPECT_THROW((void)wire::parse_frame_header(out.data()), wire::WireError);
}

TEST(ProcessWire, CorpusDecodes) {
  const auto inputs = corpus();
  ASSERT_GE(inputs.size(), 10u);
  int frames = 0;
  for (const auto& input : inputs) frames += run(input);
  EXPECT_GE(frames, 10);
}

TEST(ProcessWire, RandomMutationsNeverCrash) {
  const auto inputs = corpus();
  std::mt19937 rng(20240607);
  for (int round = 0; round < 20000; ++round) {
    std::string bytes = inputs[rng() % inputs.size()];
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits && !bytes.empty(); ++e) {
      const std::size_t at = rng() % bytes.size();
      switch (rng() % 4) {
        case 0:
          bytes[at] = static_cast<char>(rng());
          break;
        case 1:
          bytes.erase(at, 1 + rng() % 16);
          break;
        case 2:
          bytes.insert(at, std::string(1 + rng() % 8, static_cast<char>(rng())));
          break;
        case 3:
          bytes.resize(at);
          break;
      }
    }
    (void)run(bytes);
  }
  std::string garbage(4096, '\0');
  for (int round = 0; round < 2000; ++round) {
    for (char& c : garbage) c = static_cast<char>(rng());
    (void)run(garbage);
  }
}

}  // namespace
