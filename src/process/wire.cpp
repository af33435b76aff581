// Frames and the encoder and decoder of every message (the format is in wire.hpp).
#include "process/wire.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace concurrent::futures::detail::wire {

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

void end_frame(std::string& out, std::size_t frame_start) {
  const std::uint64_t length = out.size() - frame_start - kFrameHeaderBytes;
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
  if (length > kMaxFrameBytes) {
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

bool FrameDecoder::next(MessageType& type, std::string_view& payload) {
  const std::size_t have = end_ - begin_;
  if (have < kFrameHeaderBytes) return false;
  const FrameHeader header = parse_frame_header(buffer_.data() + begin_);
  if (have - kFrameHeaderBytes < header.length) return false;
  type = header.type;
  payload = std::string_view(buffer_.data() + begin_ + kFrameHeaderBytes,
                             static_cast<std::size_t>(header.length));
  begin_ += kFrameHeaderBytes + static_cast<std::size_t>(header.length);
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
  end_frame(out, start);
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

void encode_call(std::string& out, const CallMessage& m) {
  const std::size_t start = begin_frame(out, MessageType::call);
  Writer w(out);
  w.u64(m.seq);
  w.str(m.entry_key);
  w.str(m.fn);
  w.u32(static_cast<std::uint32_t>(m.items.size()));
  for (std::string_view args : m.items) w.bytes(args);
  end_frame(out, start);
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
  m.items.resize(count);
  for (std::string_view& args : m.items) args = r.bytes();
  r.expect_end();
  return m;
}

void encode_stop(std::string& out) { end_frame(out, begin_frame(out, MessageType::stop)); }

namespace {

// Where a result frame's fields sit in its payload.
constexpr std::size_t kResultFinishedAt = 16;
constexpr std::size_t kResultCountAt = 24;

}  // namespace

ResultWriter::ResultWriter(std::string& out, std::uint64_t seq, std::int64_t started_ns)
    : out_(out), frame_start_(begin_frame(out, MessageType::result)) {
  Writer w(out_);
  w.u64(seq);
  w.i64(started_ns);
  w.i64(0);  // finished_ns, written by finish()
  w.u32(0);  // count, written by finish()
}

void ResultWriter::begin_value() {
  value_start_ = out_.size();
  Writer w(out_);
  w.u8(static_cast<std::uint8_t>(ResultStatus::value));
  w.u32(0);  // the length, written by end_value()
}

void ResultWriter::end_value() {
  const auto length = static_cast<std::uint32_t>(out_.size() - value_start_ - 5);
  std::memcpy(out_.data() + value_start_ + 1, &length, sizeof length);
  ++count_;
}

void ResultWriter::drop_value() { out_.resize(value_start_); }

void ResultWriter::add_value(std::string_view value) {
  begin_value();
  out_.append(value);
  end_value();
}

void ResultWriter::add_exception(std::uint8_t kind, std::string_view type_name,
                                 std::string_view message, std::string_view details) {
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
  ResultWriter w(out, m.seq, m.started_ns);
  for (const ResultOutcome& o : m.outcomes) {
    if (o.status == ResultStatus::value) {
      w.add_value(o.value);
    } else {
      w.add_exception(o.kind, o.type_name, o.message, o.details);
    }
  }
  w.finish(m.finished_ns);
}

ResultMessage decode_result(std::string_view payload) {
  Reader r(payload);
  ResultMessage m;
  m.seq = r.u64();
  m.started_ns = r.i64();
  m.finished_ns = r.i64();
  const std::uint32_t count = r.u32();
  // Each outcome takes at least 5 bytes, which bounds the reservation by the payload.
  if (count > payload.size() / 5) throw WireError("result message: outcome count too large");
  m.outcomes.resize(count);
  for (ResultOutcome& o : m.outcomes) {
    const std::uint8_t status = r.u8();
    if (status == static_cast<std::uint8_t>(ResultStatus::value)) {
      o.value = r.bytes();
    } else if (status == static_cast<std::uint8_t>(ResultStatus::exception)) {
      o.status = ResultStatus::exception;
      o.kind = r.u8();
      o.type_name = r.str();
      o.message = r.str();
      o.details = r.str();
    } else {
      throw WireError(fmt::format("result message: unknown status {}", status));
    }
  }
  r.expect_end();
  return m;
}

void encode_text(std::string& out, MessageType type, std::string_view text) {
  const std::size_t start = begin_frame(out, type);
  Writer(out).str(text);
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
