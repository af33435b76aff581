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

// Every message type, encoded by its one encoder, through a decoder fed one byte at a
// time (as a slow socket would), decoded back field for field.
TEST(ProcessWire, EveryFrameTypeRoundTrips) {
  const std::string init_args("\0\1", 2);
  const std::string call_args("\0\xff", 2);
  std::string out;
  wire::encode_config(out, {.build_id = "abc",
                            .max_tasks = 7,
                            .has_init = true,
                            .init_key = "key",
                            .init_fn = "init",
                            .init_args = init_args});
  wire::encode_config(out, {.build_id = "def"});
  wire::encode_call(out, {.seq = 9, .entry_key = "entry", .fn = "fn", .items = {call_args, ""}});
  wire::encode_stop(out);
  wire::encode_ready(out);
  wire::encode_text(out, wire::MessageType::refused, "no thanks");
  wire::encode_text(out, wire::MessageType::init_failed, "it threw");
  wire::encode_result(out, {.seq = 9,
                            .started_ns = -1,
                            .finished_ns = 42,
                            .outcomes = {{.status = wire::ResultStatus::value, .value = call_args},
                                         {.status = wire::ResultStatus::exception,
                                          .kind = 4,
                                          .type_name = "std::out_of_range",
                                          .message = "too far",
                                          .details = "more"},
                                         {.status = wire::ResultStatus::value, .value = ""}}});
  wire::encode_result(out, {.seq = 10});  // a call of no items (all cancelled) never is
                                          // sent, but the frame is still well formed
  wire::FrameDecoder decoder;
  for (char c : out) decoder.feed(&c, 1);
  wire::MessageType type;
  std::string_view payload;
  auto next = [&](wire::MessageType expected) {
    EXPECT_TRUE(decoder.next(type, payload));
    EXPECT_EQ(type, expected);
    return payload;
  };

  const wire::ConfigMessage config = wire::decode_config(next(wire::MessageType::config));
  EXPECT_EQ(config.build_id, "abc");
  EXPECT_EQ(config.max_tasks, 7u);
  EXPECT_TRUE(config.has_init);
  EXPECT_EQ(config.init_key, "key");
  EXPECT_EQ(config.init_fn, "init");
  EXPECT_EQ(config.init_args, init_args);
  const wire::ConfigMessage plain = wire::decode_config(next(wire::MessageType::config));
  EXPECT_EQ(plain.build_id, "def");
  EXPECT_EQ(plain.max_tasks, 0u);
  EXPECT_FALSE(plain.has_init);

  const wire::CallMessage call = wire::decode_call(next(wire::MessageType::call));
  EXPECT_EQ(call.seq, 9u);
  EXPECT_EQ(call.entry_key, "entry");
  EXPECT_EQ(call.fn, "fn");
  ASSERT_EQ(call.items.size(), 2u);
  EXPECT_EQ(call.items[0], call_args);
  EXPECT_EQ(call.items[1], "");

  EXPECT_EQ(next(wire::MessageType::stop), "");
  EXPECT_NO_THROW(wire::decode_ready(next(wire::MessageType::ready)));
  EXPECT_EQ(wire::decode_text(next(wire::MessageType::refused)), "no thanks");
  EXPECT_EQ(wire::decode_text(next(wire::MessageType::init_failed)), "it threw");

  const wire::ResultMessage result = wire::decode_result(next(wire::MessageType::result));
  EXPECT_EQ(result.seq, 9u);
  EXPECT_EQ(result.started_ns, -1);
  EXPECT_EQ(result.finished_ns, 42);
  ASSERT_EQ(result.outcomes.size(), 3u);
  EXPECT_EQ(result.outcomes[0].status, wire::ResultStatus::value);
  EXPECT_EQ(result.outcomes[0].value, call_args);
  const wire::ResultOutcome& error = result.outcomes[1];
  EXPECT_EQ(error.status, wire::ResultStatus::exception);
  EXPECT_EQ(error.kind, 4u);
  EXPECT_EQ(error.type_name, "std::out_of_range");
  EXPECT_EQ(error.message, "too far");
  EXPECT_EQ(error.details, "more");
  EXPECT_EQ(result.outcomes[2].status, wire::ResultStatus::value);
  EXPECT_EQ(result.outcomes[2].value, "");
  const wire::ResultMessage empty = wire::decode_result(next(wire::MessageType::result));
  EXPECT_EQ(empty.seq, 10u);
  EXPECT_TRUE(empty.outcomes.empty());

  EXPECT_FALSE(decoder.next(type, payload));
  EXPECT_TRUE(decoder.empty());
}

// A worker encodes each value in place and takes it back if encoding it threw: the
// frame then holds the exception in the value's place, and nothing of the value.
TEST(ProcessWire, ResultWriterTakesBackADroppedValue) {
  std::string out("prefix");
  wire::ResultWriter w(out, 3, 100);
  w.begin_value();
  out += "half a value";
  w.drop_value();
  w.add_exception(2, "std::bad_alloc", "no memory", "");
  w.begin_value();
  out += "xy";
  w.end_value();
  w.finish(200);
  wire::FrameDecoder decoder;
  decoder.feed(out.data() + 6, out.size() - 6);
  wire::MessageType type;
  std::string_view payload;
  ASSERT_TRUE(decoder.next(type, payload));
  ASSERT_EQ(type, wire::MessageType::result);
  const wire::ResultMessage r = wire::decode_result(payload);
  EXPECT_EQ(r.seq, 3u);
  EXPECT_EQ(r.started_ns, 100);
  EXPECT_EQ(r.finished_ns, 200);
  ASSERT_EQ(r.outcomes.size(), 2u);
  EXPECT_EQ(r.outcomes[0].status, wire::ResultStatus::exception);
  EXPECT_EQ(r.outcomes[0].type_name, "std::bad_alloc");
  EXPECT_EQ(r.outcomes[1].value, "xy");
  EXPECT_EQ(out.substr(0, 6), "prefix");
}

TEST(ProcessWire, ReadyCarriesNothing) {
  EXPECT_THROW(wire::decode_ready(std::string_view("\1\2\3\4", 4)), wire::WireError);
}

TEST(ProcessWire, CorruptFramingIsDetected) {
  char header[wire::kFrameHeaderBytes] = {};
  EXPECT_THROW((void)wire::parse_frame_header(header), wire::WireError);
  std::string out;
  wire::encode_result(out, {.outcomes = {{.value = "abc"}}});
  const std::string whole = out;
  out.resize(out.size() - 1);
  EXPECT_THROW((void)wire::decode_result(std::string_view(out).substr(16)), wire::WireError)
      << "a truncated result";
  std::string bad_status = whole;
  bad_status[wire::kFrameHeaderBytes + 28] = 7;
  EXPECT_THROW((void)wire::decode_result(std::string_view(bad_status).substr(16)), wire::WireError)
      << "an outcome of unknown status";
  std::string huge_count = whole;
  huge_count[wire::kFrameHeaderBytes + 27] = 0x7f;
  EXPECT_THROW((void)wire::decode_result(std::string_view(huge_count).substr(16)), wire::WireError)
      << "more outcomes than the payload could hold";
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
