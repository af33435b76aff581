// Frames and the encoder and decoder of every message (the format is in wire.hpp).
#include "process/wire.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace concurrent::futures::detail::wire {

namespace {

const char* const kPassAnotherWay =
    "pass large data another way (e.g. write it to a file and pass the file's name)";
const char* const kReturnAnotherWay =
    "return large data another way (e.g. write it to a file and return the file's name)";

}  // namespace

std::string too_large(std::string_view what, std::uint64_t bytes, std::string_view beside,
                      std::string_view advice) {
  return fmt::format(
      "{} ({} bytes){} would not fit in one message between a process pool and a worker "
      "process, which takes at most {} bytes; {}",
      what, bytes, beside, kMaxFrameBytes, advice);
}

std::uint64_t call_frame_bytes(std::uint64_t entry_key_bytes, std::uint64_t fn_bytes,
                               std::uint64_t items, std::uint64_t args_bytes) {
  return kCallFixedBytes + entry_key_bytes + fn_bytes + items * kCallItemBytes + args_bytes;
}

void check_call_size(std::uint64_t entry_key_bytes, std::uint64_t fn_bytes, std::uint64_t items,
                     std::uint64_t args_bytes) {
  const bool chunk = items > 1;
  if (call_frame_bytes(entry_key_bytes, fn_bytes, items, args_bytes) > kMaxFrameBytes) {
    throw std::length_error(too_large(
        chunk ? fmt::format("the callable and arguments of this map() chunk of {} calls", items)
              : std::string("the callable and arguments of this call"),
        fn_bytes + args_bytes, "",
        chunk ? fmt::format("use a smaller chunksize, or {}", kPassAnotherWay) : kPassAnotherWay));
  }
  const std::uint64_t least_result = kResultFixedBytes + items * kTooLargeBytes;
  if (least_result > kMaxPayloadBytes) {
    throw std::length_error(
        too_large(fmt::format("the smallest result of this map() chunk of {} calls", items),
                  least_result, "", "use a smaller chunksize"));
  }
}

void Reader::throw_truncated(std::uint64_t wanted, const char* what) const {
  throw WireError(fmt::format("truncated message: {} of {} bytes with {} left", what, wanted,
                              in_.size() - pos_));
}

void Reader::expect_end() const {
  if (!at_end()) {
    throw WireError(fmt::format("message has {} unexpected bytes", in_.size() - pos_));
  }
}

std::size_t begin_frame(std::string& out, MessageType type) {
  const std::size_t start = out.size();
  Writer w(out);
  w.u32(kFrameMagic);
  w.u8(static_cast<std::uint8_t>(type));
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u64(0);
  return start;
}

void end_frame(std::string& out, std::size_t frame_start, std::string_view what) {
  const std::uint64_t length = out.size() - frame_start - kFrameHeaderBytes;
  if (length > kMaxPayloadBytes) {
    out.resize(frame_start);
    throw std::length_error(too_large(what, length, "", kPassAnotherWay));
  }
  std::memcpy(out.data() + frame_start + 8, &length, sizeof length);
}

namespace {

bool known_type(std::uint8_t t) {
  switch (static_cast<MessageType>(t)) {
    case MessageType::config:
    case MessageType::call:
    case MessageType::stop:
    case MessageType::ready:
    case MessageType::refused:
    case MessageType::init_failed:
    case MessageType::result:
    case MessageType::initialized:
      return true;
  }
  return false;
}

}  // namespace

FrameHeader parse_frame_header(const char* bytes) {
  Reader r(std::string_view(bytes, kFrameHeaderBytes));
  if (r.u32() != kFrameMagic) throw WireError("corrupt frame: bad magic number");
  const std::uint8_t type = r.u8();
  if (!known_type(type)) {
    throw WireError(fmt::format("corrupt frame: unknown message type {}", type));
  }
  if (r.u8() != 0 || r.u8() != 0 || r.u8() != 0) {
    throw WireError("corrupt frame: reserved bytes are not zero");
  }
  const std::uint64_t length = r.u64();
  if (length > kMaxPayloadBytes) {
    throw WireError(fmt::format("corrupt frame: length {} exceeds the limit", length));
  }
  return FrameHeader{static_cast<MessageType>(type), length};
}

void FrameDecoder::compact() {
  if (begin_ == 0) return;
  std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
  end_ -= begin_;
  begin_ = 0;
}

char* FrameDecoder::prepare(std::size_t min) {
  if (begin_ == end_) begin_ = end_ = 0;
  if (buffer_.size() - end_ < min) {
    compact();
    if (buffer_.size() - end_ < min) buffer_.resize(end_ + std::max(min, buffer_.size()));
  }
  return buffer_.data() + end_;
}

void FrameDecoder::commit(std::size_t n) { end_ += n; }

void FrameDecoder::feed(const char* data, std::size_t n) {
  std::memcpy(prepare(n), data, n);
  commit(n);
}

bool FrameDecoder::peek(MessageType& type, std::string_view& payload) const {
  const std::size_t have = end_ - begin_;
  if (have < kFrameHeaderBytes) return false;
  const FrameHeader header = parse_frame_header(buffer_.data() + begin_);
  if (have - kFrameHeaderBytes < header.length) return false;
  type = header.type;
  payload = std::string_view(buffer_.data() + begin_ + kFrameHeaderBytes,
                             static_cast<std::size_t>(header.length));
  return true;
}

bool FrameDecoder::next(MessageType& type, std::string_view& payload) {
  if (!peek(type, payload)) return false;
  drop_peeked(payload);
  return true;
}

void encode_config(std::string& out, const ConfigMessage& m) {
  const std::size_t start = begin_frame(out, MessageType::config);
  Writer w(out);
  w.str(m.build_id);
  w.u64(m.max_tasks);
  w.u8(m.has_init ? 1 : 0);
  if (m.has_init) {
    w.str(m.init_key);
    w.str(m.init_fn);
    w.str(m.init_args);
  }
  end_frame(out, start, "the initializer and its arguments");
}

ConfigMessage decode_config(std::string_view payload) {
  Reader r(payload);
  ConfigMessage m;
  m.build_id = r.str();
  m.max_tasks = r.u64();
  m.has_init = r.u8() != 0;
  if (m.has_init) {
    m.init_key = r.str();
    m.init_fn = r.str();
    m.init_args = r.str();
  }
  r.expect_end();
  return m;
}

CallWriter::CallWriter(std::string& out, std::uint64_t seq, std::string_view entry_key,
                       std::string_view fn, std::size_t items)
    : out_(out), frame_start_(begin_frame(out, MessageType::call)) {
  Writer w(out_);
  w.u64(seq);
  w.str(entry_key);
  w.str(fn);
  w.u32(static_cast<std::uint32_t>(items));  // a larger count's frame is refused by finish()
}

void CallWriter::finish() {
  end_frame(out_, frame_start_, "the callable and arguments of this call");
}

void encode_call(std::string& out, const CallMessage& m) {
  CallWriter w(out, m.seq, m.entry_key, m.fn, m.items.size());
  for (std::string_view args : m.items) w.add_item(args);
  w.finish();
}

CallMessage decode_call(std::string_view payload) {
  Reader r(payload);
  CallMessage m;
  m.seq = r.u64();
  m.entry_key = r.str();
  m.fn = r.str();
  const std::uint32_t count = r.u32();
  // Each item takes at least 4 bytes, which bounds the reservation by the payload.
  if (count > payload.size() / 4) throw WireError("call message: item count too large");
  if (kResultFixedBytes + count * kTooLargeBytes > kMaxPayloadBytes) {
    throw WireError("call message: more items than one result message can answer");
  }
  m.items.resize(count);
  for (std::string_view& args : m.items) args = r.bytes();
  r.expect_end();
  return m;
}

void encode_stop(std::string& out) { end_frame(out, begin_frame(out, MessageType::stop)); }

ResultWriter::ResultWriter(std::string& out, std::uint64_t seq, std::int64_t started_ns,
                           std::size_t items, std::uint64_t limit)
    : out_(out),
      frame_start_(begin_frame(out, MessageType::result)),
      items_(items),
      limit_(std::min(limit, kMaxPayloadBytes)) {
  Writer w(out_);
  w.u64(seq);
  w.i64(started_ns);
  w.i64(0);  // finished_ns, written by finish()
  w.u32(0);  // count, written by finish()
}

void ResultWriter::add_too_large(ResultStatus status, std::uint64_t size) {
  Writer w(out_);
  w.u8(static_cast<std::uint8_t>(status));
  w.u64(size);
  ++count_;
}

void ResultWriter::replace_value_too_large(std::uint64_t size) {
  drop_value();
  add_too_large(ResultStatus::value_too_large, size);
}

void ResultWriter::add_value(std::string_view value) {
  begin_value();
  out_.append(value);
  end_value();
}

void ResultWriter::add_exception(std::uint8_t kind, std::string_view type_name,
                                 std::string_view message, std::string_view details) {
  const std::uint64_t size =
      kExceptionHeaderBytes + type_name.size() + message.size() + details.size();
  if (!fits(size)) {
    add_too_large(ResultStatus::exception_too_large, size);
    return;
  }
  Writer w(out_);
  w.u8(static_cast<std::uint8_t>(ResultStatus::exception));
  w.u8(kind);
  w.str(type_name);
  w.str(message);
  w.str(details);
  ++count_;
}

void ResultWriter::finish(std::int64_t finished_ns) {
  char* payload = out_.data() + frame_start_ + kFrameHeaderBytes;
  std::memcpy(payload + kResultFinishedAt, &finished_ns, sizeof finished_ns);
  std::memcpy(payload + kResultCountAt, &count_, sizeof count_);
  end_frame(out_, frame_start_);
}

void encode_result(std::string& out, const ResultMessage& m) {
  ResultWriter w(out, m.seq, m.started_ns, m.outcomes.size());
  for (const ResultOutcome& o : m.outcomes) {
    switch (o.status) {
      case ResultStatus::value:
        w.add_value(o.value);
        break;
      case ResultStatus::exception:
        w.add_exception(o.kind, o.type_name, o.message, o.details);
        break;
      case ResultStatus::value_too_large:
      case ResultStatus::exception_too_large:
        w.add_too_large(o.status, o.size);
        break;
    }
  }
  w.finish(m.finished_ns);
}

ResultFrame read_result(std::string_view payload) {
  Reader r(payload);
  ResultFrame f;
  f.seq = r.u64();
  f.started_ns = r.i64();
  f.finished_ns = r.i64();
  f.count = r.u32();
  f.outcomes = payload.substr(kResultFixedBytes);
  // Each outcome takes at least 5 bytes, which bounds the count by the payload.
  if (f.count > f.outcomes.size() / 5) {
    throw WireError("result message: outcome count too large");
  }
  return f;
}

void throw_unknown_status(std::uint8_t status) {
  throw WireError(fmt::format("result message: unknown status {}", status));
}

ResultOutcome read_outcome_after(Reader& r, ResultStatus status) {
  ResultOutcome o{.status = status};
  if (status == ResultStatus::exception) {
    o.kind = r.u8();
    o.type_name = r.str();
    o.message = r.str();
    o.details = r.str();
  } else {  // value_too_large, exception_too_large
    o.size = r.u64();
  }
  return o;
}

ResultMessage decode_result(std::string_view payload) {
  const ResultFrame f = read_result(payload);
  ResultMessage m{.seq = f.seq, .started_ns = f.started_ns, .finished_ns = f.finished_ns};
  m.outcomes.resize(f.count);
  Reader r(f.outcomes);
  for (ResultOutcome& o : m.outcomes) o = read_outcome(r);
  r.expect_end();
  return m;
}

std::string too_large_outcome(const ResultOutcome& outcome) {
  const bool value = outcome.status == ResultStatus::value_too_large;
  // Too large even alone in a result frame, or only beside the rest of its chunk's.
  const bool alone = kResultFixedBytes + outcome.size > kMaxPayloadBytes;
  std::string advice;
  if (alone) {
    advice = value ? kReturnAnotherWay : "throw an exception with a shorter message";
  } else {
    advice = value ? fmt::format("use a smaller chunksize, or {}", kReturnAnotherWay)
                   : std::string("use a smaller chunksize");
  }
  return too_large(value ? "the result of this call" : "the exception this call threw",
                   outcome.size, alone ? "" : ", with the other results of its map() chunk,",
                   advice);
}

void encode_text(std::string& out, MessageType type, std::string_view text) {
  const std::size_t start = begin_frame(out, type);
  Writer(out).str(text.substr(0, kMaxPayloadBytes - 8));
  end_frame(out, start);
}

std::string_view decode_text(std::string_view payload) {
  Reader r(payload);
  std::string_view text = r.str();
  r.expect_end();
  return text;
}

void encode_ready(std::string& out) { end_frame(out, begin_frame(out, MessageType::ready)); }

void encode_initialized(std::string& out) {
  end_frame(out, begin_frame(out, MessageType::initialized));
}

void decode_ready(std::string_view payload) { Reader(payload).expect_end(); }

}  // namespace concurrent::futures::detail::wire
