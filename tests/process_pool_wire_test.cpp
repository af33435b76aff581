// The process pool's wire format: round trips, and the fuzz target's entry point run
// over the corpus (tests/fuzz/corpus) and over random mutations of it, so that the
// message reader is exercised on every compiler, not only where libFuzzer exists.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "concurrent/futures/process_pool.hpp"
#include "process/results.hpp"
#include "process/wire.hpp"
#include "process/worker.hpp"

int concurrent_futures_fuzz_wire(const std::uint8_t* data, std::size_t size);

namespace cf = concurrent::futures;
namespace detail = concurrent::futures::detail;
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
  wire::encode_result(
      out,
      {.seq = 9,
       .started_ns = -1,
       .finished_ns = 42,
       .outcomes = {{.status = wire::ResultStatus::value, .value = call_args},
                    {.status = wire::ResultStatus::exception,
                     .kind = 4,
                     .type_name = "std::out_of_range",
                     .message = "too far",
                     .details = "more"},
                    {.status = wire::ResultStatus::value, .value = ""},
                    {.status = wire::ResultStatus::value_too_large, .size = std::uint64_t{5} << 32},
                    {.status = wire::ResultStatus::exception_too_large, .size = 77}}});
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
  ASSERT_EQ(result.outcomes.size(), 5u);
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
  EXPECT_EQ(result.outcomes[3].status, wire::ResultStatus::value_too_large);
  EXPECT_EQ(result.outcomes[3].size, std::uint64_t{5} << 32);
  EXPECT_EQ(result.outcomes[4].status, wire::ResultStatus::exception_too_large);
  EXPECT_EQ(result.outcomes[4].size, 77u);
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
  wire::ResultWriter w(out, 3, 100, 2);
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

// The result frame of a 5-item call, written by a ResultWriter held to a payload of 100
// bytes (28 of them fixed; an outcome that does not fit takes 9, its status and size),
// the last value `last` bytes long.
wire::ResultMessage write_within_100_bytes(std::size_t last, std::size_t& payload_bytes) {
  static std::string out;
  out.clear();
  wire::ResultWriter w(out, 1, 0, 5, 100);
  w.add_value("ab");  // 7 bytes, leaving 4 x 9 for the rest: fits
  w.begin_value();
  out.append(100, 'v');  // 105 bytes: more than the whole frame
  w.end_value();
  w.add_exception(1, "E", std::string(40, 'm'), "");  // 67 bytes: would leave too little
  w.add_value(std::string(30, 'w'));                  // 35 bytes: fits, with 9 to spare
  w.add_value(std::string(last, 'x'));                // 5 + last bytes, in the 12 left
  w.finish(0);
  payload_bytes = out.size() - wire::kFrameHeaderBytes;
  return wire::decode_result(std::string_view(out).substr(wire::kFrameHeaderBytes));
}

// A worker keeps its result frame within the limit outcome by outcome: a value or an
// exception that does not fit (alone, or beside the outcomes before it and the room the
// ones after it need) goes as its size instead, and the items around it keep theirs.
TEST(ProcessWire, ResultWriterKeepsItsFrameWithinTheLimit) {
  std::size_t payload = 0;
  const wire::ResultMessage r = write_within_100_bytes(7, payload);
  EXPECT_EQ(payload, 100u) << "the last value fills the frame exactly";
  ASSERT_EQ(r.outcomes.size(), 5u);
  EXPECT_EQ(r.outcomes[0].status, wire::ResultStatus::value);
  EXPECT_EQ(r.outcomes[0].value, "ab");
  EXPECT_EQ(r.outcomes[1].status, wire::ResultStatus::value_too_large);
  EXPECT_EQ(r.outcomes[1].size, 105u);
  EXPECT_EQ(r.outcomes[2].status, wire::ResultStatus::exception_too_large);
  EXPECT_EQ(r.outcomes[2].size, 67u);
  EXPECT_EQ(r.outcomes[3].status, wire::ResultStatus::value);
  EXPECT_EQ(r.outcomes[3].value, std::string(30, 'w'));
  EXPECT_EQ(r.outcomes[4].status, wire::ResultStatus::value);
  EXPECT_EQ(r.outcomes[4].value, std::string(7, 'x'));

  const wire::ResultMessage over = write_within_100_bytes(8, payload);
  EXPECT_EQ(payload, 97u);
  ASSERT_EQ(over.outcomes.size(), 5u);
  EXPECT_EQ(over.outcomes[3].status, wire::ResultStatus::value);
  EXPECT_EQ(over.outcomes[4].status, wire::ResultStatus::value_too_large)
      << "one byte more than the frame has left";
  EXPECT_EQ(over.outcomes[4].size, 13u);
}

// The parent fails an item whose outcome did not fit with a std::length_error that says
// how large it was, the limit, and what to do; a map() chunk's advice names chunksize
// unless the outcome was too large even alone.
TEST(ProcessWire, TooLargeOutcomesSayWhatHappenedAndWhatToDo) {
  const std::string limit = std::to_string(wire::kMaxFrameBytes);
  const std::string alone = wire::too_large_outcome(
      {.status = wire::ResultStatus::value_too_large, .size = 3'000'000'005});
  EXPECT_EQ(alone,
            "the result of this call (3000000005 bytes) would not fit in one message between a "
            "process pool and a worker process, which takes at most " +
                limit +
                " bytes; return large data another way (e.g. write it to a file and return "
                "the file's name)");
  const std::string beside =
      wire::too_large_outcome({.status = wire::ResultStatus::value_too_large, .size = 1000});
  EXPECT_NE(beside.find("the result of this call (1000 bytes), with the other results of its "
                        "map() chunk, would not fit"),
            std::string::npos)
      << beside;
  EXPECT_NE(beside.find("use a smaller chunksize, or return large data another way"),
            std::string::npos)
      << beside;
  const std::string thrown = wire::too_large_outcome(
      {.status = wire::ResultStatus::exception_too_large, .size = wire::kMaxFrameBytes});
  EXPECT_NE(thrown.find("the exception this call threw (" + limit + " bytes) would not fit"),
            std::string::npos)
      << thrown;
  EXPECT_NE(thrown.find("throw an exception with a shorter message"), std::string::npos) << thrown;
}

// What check_call_size counts is what encode_call writes, and it refuses a call one byte
// past the limit (and a chunk of more items than a result could answer) with a sentence
// that says so and what to do, before any of it is written.
TEST(ProcessWire, CallsTooLargeForAMessageAreRefusedBeforeTheyAreWritten) {
  const std::string a(3, 'a'), b(1000, 'b');
  std::string out;
  wire::encode_call(out, {.seq = 1, .entry_key = "entry", .fn = "fn", .items = {a, b}});
  EXPECT_EQ(wire::call_frame_bytes(5, 2, 2, a.size() + b.size()), out.size());

  const std::uint64_t fixed = wire::call_frame_bytes(5, 2, 1, 0);
  EXPECT_NO_THROW(wire::check_call_size(5, 2, 1, wire::kMaxFrameBytes - fixed));
  try {
    wire::check_call_size(5, 2, 1, wire::kMaxFrameBytes - fixed + 1);
    ADD_FAILURE() << "a call one byte over the limit was accepted";
  } catch (const std::length_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "the callable and arguments of this call (" +
                  std::to_string(wire::kMaxFrameBytes - fixed + 3) +
                  " bytes) would not fit in one message between a process pool and a worker "
                  "process, which takes at most " +
                  std::to_string(wire::kMaxFrameBytes) +
                  " bytes; pass large data another way (e.g. write it to a file and pass the "
                  "file's name)");
  }
  try {
    wire::check_call_size(5, 2, 10, std::uint64_t{5} << 32);
    ADD_FAILURE() << "a chunk of 20 GiB was accepted";
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find("this map() chunk of 10 calls"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("use a smaller chunksize"), std::string::npos);
  }
  // Each item's result takes 9 bytes at the least, after 28 fixed ones.
  const std::uint64_t most_items = (wire::kMaxPayloadBytes - 28) / 9;
  EXPECT_NO_THROW(wire::check_call_size(5, 2, most_items, 0));
  EXPECT_THROW(wire::check_call_size(5, 2, most_items + 1, 0), std::length_error);
}

// What a worker runs below: a value of the size asked for.
struct StringOfSize {
  std::string operator()(std::int64_t n) const {
    return std::string(static_cast<std::size_t>(n), 'x');
  }
};

class Output final : public detail::ResultOutput {
 public:
  std::string& out() override { return out_; }
  void flush() override {}

 private:
  std::string out_;
};

// The way through both processes, with a worker held to 100 bytes of result: the element
// of a map() chunk whose value does not fit fails alone with a std::length_error that
// says so, and its neighbours keep their values.
TEST(ProcessWire, AnElementWhoseResultDoesNotFitFailsAlone) {
  using Entry = detail::ProcessEntry<false, StringOfSize, std::int64_t>;
  ASSERT_TRUE(Entry::registered);
  detail::ProcessCall call;
  call.entry_key = Entry::key();
  detail::ValueWriter writer(&call.args);
  for (std::int64_t n : {1, 200, 2}) detail::append_process_args(call, writer, n);
  auto sink = std::make_unique<detail::ChunkSink<std::string>>(call.size());
  cf::Future<cf::detail::ChunkResults<std::string>> chunk = sink->future();
  call.sink = std::move(sink);
  std::vector<std::uint32_t> started;
  started.reserve(call.size());
  call.sink->start(started);
  ASSERT_EQ(started, (std::vector<std::uint32_t>{0, 1, 2}));

  Output output;
  detail::run_call(output,
                   {.seq = 4,
                    .entry_key = call.entry_key,
                    .items = {call.item_args(0), call.item_args(1), call.item_args(2)}},
                   100);
  const std::string_view frame = output.out();
  ASSERT_LE(frame.size(), wire::kFrameHeaderBytes + 100);
  detail::finish_call(call, {0, 1, 2}, wire::read_result(frame.substr(wire::kFrameHeaderBytes)));

  const cf::detail::ChunkResults<std::string>& results = chunk.result(std::chrono::seconds(0));
  EXPECT_EQ(results.get(0), "x");
  try {
    (void)results.get(1);
    ADD_FAILURE() << "the value that did not fit arrived";
  } catch (const std::length_error& e) {
    // 200 bytes of value, their 8-byte length (cereal's), and the outcome's 5.
    EXPECT_NE(std::string(e.what()).find("the result of this call (213 bytes), with the other "
                                         "results of its map() chunk, would not fit"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(results.get(2), "xx");
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
