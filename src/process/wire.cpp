// Frames and the encoder and decoder of every message (the format is in wire.hpp).
#include "process/wire.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace concurrent::futures::detail::wire {

const char* Reader::take(std::size_t n) {
  if (n > in_.size() - pos_) {
    throw WireError(
        fmt::format("truncated message: wanted {} more bytes, {} left", n, in_.size() - pos_));
  }
  const char* p = in_.data() + pos_;
  pos_ += n;
  return p;
}

std::uint8_t Reader::u8() { return static_cast<std::uint8_t>(*take(1)); }

std::uint32_t Reader::u32() {
  std::uint32_t v;
  std::memcpy(&v, take(sizeof v), sizeof v);
  return v;
}

std::uint64_t Reader::u64() {
  std::uint64_t v;
  std::memcpy(&v, take(sizeof v), sizeof v);
  return v;
}

std::int64_t Reader::i64() {
  std::int64_t v;
  std::memcpy(&v, take(sizeof v), sizeof v);
  return v;
}

std::string_view Reader::str() {
  const std::uint64_t n = u64();
  if (n > in_.size() - pos_) {
    throw WireError(
        fmt::format("truncated message: a string of {} bytes with {} left", n, in_.size() - pos_));
  }
  return std::string_view(take(static_cast<std::size_t>(n)), static_cast<std::size_t>(n));
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
  for (const CallItemView& item : m.items) {
    w.u32(item.index);
    w.str(item.args);
  }
  end_frame(out, start);
}

CallMessage decode_call(std::string_view payload) {
  Reader r(payload);
  CallMessage m;
  m.seq = r.u64();
  m.entry_key = r.str();
  m.fn = r.str();
  const std::uint32_t count = r.u32();
  // Each item takes at least 12 bytes, which bounds the reservation by the payload.
  if (count > payload.size() / 12) throw WireError("call message: item count too large");
  m.items.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    CallItemView item;
    item.index = r.u32();
    item.args = r.str();
    m.items.push_back(item);
  }
  r.expect_end();
  return m;
}

void encode_stop(std::string& out) { end_frame(out, begin_frame(out, MessageType::stop)); }

void encode_result(std::string& out, const ResultMessage& m) {
  const std::size_t start = begin_frame(out, MessageType::result);
  Writer w(out);
  w.u64(m.seq);
  w.u32(m.index);
  w.i64(m.started_ns);
  w.i64(m.finished_ns);
  w.u8(static_cast<std::uint8_t>(m.status));
  if (m.status == ResultStatus::value) {
    w.str(m.value);
  } else {
    w.u8(m.kind);
    w.str(m.type_name);
    w.str(m.message);
    w.str(m.details);
  }
  end_frame(out, start);
}

ResultMessage decode_result(std::string_view payload) {
  Reader r(payload);
  ResultMessage m;
  m.seq = r.u64();
  m.index = r.u32();
  m.started_ns = r.i64();
  m.finished_ns = r.i64();
  const std::uint8_t status = r.u8();
  if (status == static_cast<std::uint8_t>(ResultStatus::value)) {
    m.status = ResultStatus::value;
    m.value = r.str();
  } else if (status == static_cast<std::uint8_t>(ResultStatus::exception)) {
    m.status = ResultStatus::exception;
    m.kind = r.u8();
    m.type_name = r.str();
    m.message = r.str();
    m.details = r.str();
  } else {
    throw WireError(fmt::format("result message: unknown status {}", status));
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

void decode_ready(std::string_view payload) { Reader(payload).expect_end(); }

}  // namespace concurrent::futures::detail::wire
