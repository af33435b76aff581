// The wire format between a ProcessPoolExecutor and its workers: frames, and the
// messages inside them. Private to the library.
//
// A channel is a stream socket carrying frames:
//
//   frame   := magic:u32 "CFPP"  type:u8  zero:u8[3]  length:u64  payload[length]
//
// All integers are little-endian (both ends are the same executable on the same
// machine). Message payloads, by type:
//
//   parent → worker
//     config   build_id:str  max_tasks:u64  has_init:u8
//              [init_key:str  init_fn:str  init_args:str]
//     call     seq:u64  entry_key:str  fn:str  count:u32  { args:bytes }*count
//     stop     (empty)
//   worker → parent
//     ready    (empty)
//     initialized  (empty; after the initializer returned, if the pool has one)
//     refused  message:str                      (then the worker exits)
//     init_failed  message:str                  (then the worker exits)
//     result   seq:u64  started_ns:i64  finished_ns:i64  count:u32  { outcome }*count
//              outcome := status:u8
//                status 0: value:bytes
//                status 1: kind:u8  type_name:str  message:str  details:str
//                status 2 (a value), 3 (an exception) that did not fit: size:u64
//     details  exact:u8  mangled_name:str  has_state:u8  [state:str]
//              code:i32  category:u8  category_name:str  what_arg:str  path1:str  path2:str
//
//   str := length:u64 bytes[length]       bytes := length:u32 bytes[length]
//   (bytes for what there is one of per item, where eight bytes of length would be
//   more than a small value itself)
//
// Sizes: a frame, header included, takes at most kMaxFrameBytes (2^31 - 1) bytes, so that
// every length inside one fits a bytes' u32, and the whole frame an MPI count (an int).
// What would be larger is refused before it is written, with a std::length_error that
// says so (too_large): a call's arguments in the submitting thread (check_call_size), the
// initializer's in the pool's constructor (encode_config). A result frame
// keeps to the limit outcome by outcome (ResultWriter): a value or exception that does not
// fit is sent as its size (status 2 or 3), and the parent fails that item alone with a
// std::length_error. A chunk whose result frame could not even hold that much per item
// is refused when submitted.
//
// An exception is sent as the nearest type the parent can rebuild (kind, an index into
// remote_exception.cpp's list), whether it was exactly that type (exact), and what the
// parent needs to rebuild it: a registered type's cereal state (register_exception), a
// std::system_error's code and category (1-4: generic, system, iostream, future; 5: other,
// named by category_name) and its what() argument, a filesystem_error's paths.
//
// One result message answers one call message: an outcome per item, in the order of
// the call's items, so that a map() chunk is one message each way and the parent
// finishes it at once. Its started_ns/finished_ns are the worker's steady clock
// (CLOCK_MONOTONIC, shared by every process on the machine) around the run of all its
// items; the pool uses them for its timeline and to dispatch by call length.
//
// Each message has one encoder, beside its decoder (wire.cpp); encoders append a whole
// frame to `out`.
//
// Decoding never trusts a length: every read is checked against the bytes present, and
// a violation throws WireError. A frame with a bad magic, an unknown type or a length
// above kMaxFrameBytes means the channel itself is corrupt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace concurrent::futures::detail::wire {

class WireError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class MessageType : std::uint8_t {
  config = 1,
  call = 2,
  stop = 3,
  ready = 16,
  refused = 17,
  init_failed = 18,
  result = 19,
  initialized = 20,
};

inline constexpr std::uint32_t kFrameMagic = 0x50504643;  // "CFPP" read as little-endian
inline constexpr std::size_t kFrameHeaderBytes = 16;
// The largest frame, header included: one call's arguments (a whole map() chunk) or one
// call's results. It cannot be larger: every length inside a frame must fit a u32, and a
// frame's size an int (MPI sends frames whole). Smaller would bound what a corrupt length
// can make a reader allocate before it finds out, and refuse smaller values.
inline constexpr std::uint64_t kMaxFrameBytes = std::numeric_limits<std::int32_t>::max();
inline constexpr std::uint64_t kMaxPayloadBytes = kMaxFrameBytes - kFrameHeaderBytes;
static_assert(kMaxFrameBytes <= std::numeric_limits<std::uint32_t>::max());

// The message of the std::length_error for something too large for one frame:
// "<what> (<bytes> bytes)<beside> would not fit in one message ... (at most
// kMaxFrameBytes); <advice>". `beside` is empty or says what else the frame would hold.
std::string too_large(std::string_view what, std::uint64_t bytes, std::string_view beside,
                      std::string_view advice);

// The size of the call frame (header included) for a call of `items` items, whose entry
// key and callable take `entry_key_bytes` and `fn_bytes` bytes and whose items' arguments
// take `args_bytes` together.
std::uint64_t call_frame_bytes(std::uint64_t entry_key_bytes, std::uint64_t fn_bytes,
                               std::uint64_t items, std::uint64_t args_bytes);
// Throws std::length_error (too_large) unless a call of that size fits a frame, and so
// does the smallest result that can answer its items (each outcome as its size alone).
void check_call_size(std::uint64_t entry_key_bytes, std::uint64_t fn_bytes, std::uint64_t items,
                     std::uint64_t args_bytes);

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) { raw(&v, sizeof v); }
  void u64(std::uint64_t v) { raw(&v, sizeof v); }
  void i64(std::int64_t v) { raw(&v, sizeof v); }
  void str(std::string_view s) {
    u64(s.size());
    out_.append(s.data(), s.size());
  }
  // A longer `s` gets a wrong length here, and its frame is refused (end_frame) before
  // anyone can read it: a frame is smaller than a u32 can count.
  void bytes(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s.data(), s.size());
  }

 private:
  void raw(const void* p, std::size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string& out_;
};

// Reads a message's fields; inline, as every element of a map() chunk passes through it.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  std::uint8_t u8() { return static_cast<std::uint8_t>(*take(1)); }
  std::uint32_t u32() { return fixed<std::uint32_t>(); }
  std::uint64_t u64() { return fixed<std::uint64_t>(); }
  std::int64_t i64() { return fixed<std::int64_t>(); }
  std::string_view str() { return sized(u64(), "a string"); }
  std::string_view bytes() { return sized(u32(), "a value"); }
  bool at_end() const { return pos_ == in_.size(); }
  // Throws WireError unless every byte was read.
  void expect_end() const;

 private:
  template <class T>
  T fixed() {
    T v;
    std::memcpy(&v, take(sizeof v), sizeof v);
    return v;
  }
  const char* take(std::size_t n) {
    if (n > in_.size() - pos_) throw_truncated(n, "a field");
    const char* p = in_.data() + pos_;
    pos_ += n;
    return p;
  }
  std::string_view sized(std::uint64_t n, const char* what) {
    if (n > in_.size() - pos_) throw_truncated(n, what);
    const auto size = static_cast<std::size_t>(n);
    return std::string_view(take(size), size);
  }
  [[noreturn]] void throw_truncated(std::uint64_t wanted, const char* what) const;

  std::string_view in_;
  std::size_t pos_ = 0;
};

// Appends a frame header for `type` to `out`; returns where it starts, for end_frame.
std::size_t begin_frame(std::string& out, MessageType type);
// Writes the payload length (everything appended since begin_frame) into the header.
// A payload above kMaxPayloadBytes is taken back from `out` and refused with a
// std::length_error naming `what` (too_large).
void end_frame(std::string& out, std::size_t frame_start, std::string_view what = "a message");

struct FrameHeader {
  MessageType type;
  std::uint64_t length;
};
// Parses a header of kFrameHeaderBytes bytes; throws WireError if it is corrupt.
FrameHeader parse_frame_header(const char* bytes);

// Splits a byte stream into frames. Feed it whatever arrived; next() hands out each
// complete frame's payload (valid until the next feed/next call).
class FrameDecoder {
 public:
  // Appends `n` bytes read from the channel.
  void feed(const char* data, std::size_t n);
  // A buffer to read into directly, of at least `min` bytes; then commit(read).
  char* prepare(std::size_t min);
  void commit(std::size_t n);
  // The next complete frame, or false if more bytes are needed. Throws WireError if the
  // framing is corrupt (the channel cannot be trusted after that).
  bool next(MessageType& type, std::string_view& payload);
  // Like next(), but the frame stays to be read again, unless drop_peeked() drops it.
  bool peek(MessageType& type, std::string_view& payload) const;
  void drop_peeked(std::string_view payload) { begin_ += kFrameHeaderBytes + payload.size(); }
  bool empty() const { return begin_ == end_; }

 private:
  void compact();
  std::vector<char> buffer_;
  std::size_t begin_ = 0;  // first unconsumed byte
  std::size_t end_ = 0;    // one past the last byte received
};

// The layout's fixed parts, for sizes known before anything is written.
// A call frame: its header, seq, the lengths of entry_key and fn, count; 4 bytes per item.
inline constexpr std::uint64_t kCallFixedBytes = kFrameHeaderBytes + 8 + 8 + 8 + 4;
inline constexpr std::uint64_t kCallItemBytes = 4;
// A result payload: seq, started_ns, finished_ns, count; then per outcome, its status and
// a length (a value), its status, kind and three lengths (an exception), or its status
// and size (one that did not fit).
inline constexpr std::uint64_t kResultFixedBytes = 28;
inline constexpr std::uint64_t kValueHeaderBytes = 5;
inline constexpr std::uint64_t kExceptionHeaderBytes = 2 + 3 * 8;
inline constexpr std::uint64_t kTooLargeBytes = 9;
// Where a result frame's fields sit in its payload.
inline constexpr std::size_t kResultFinishedAt = 16;
inline constexpr std::size_t kResultCountAt = 24;

// ---- Messages ----------------------------------------------------------------------

// Every member has a default initializer, so that designated initializers may name
// only some (g++'s -Wmissing-field-initializers).
struct ConfigMessage {
  std::string_view build_id = {};
  std::uint64_t max_tasks = 0;  // 0: no limit
  bool has_init = false;
  std::string_view init_key = {}, init_fn = {}, init_args = {};
};
void encode_config(std::string& out, const ConfigMessage& m);
ConfigMessage decode_config(std::string_view payload);

struct CallMessage {
  std::uint64_t seq = 0;
  std::string_view entry_key = {};
  std::string_view fn = {};
  std::vector<std::string_view> items = {};  // each item's encoded arguments
};
void encode_call(std::string& out, const CallMessage& m);

// Builds a call frame in place at the end of `out`, item by item, without a CallMessage's
// vector of them (encode_call uses it too: one encoder). `out` may be written only
// through this writer until finish(), which throws std::length_error (end_frame) if the
// frame is too large. Precondition: `items` items are added.
class CallWriter {
 public:
  CallWriter(std::string& out, std::uint64_t seq, std::string_view entry_key, std::string_view fn,
             std::size_t items);
  void add_item(std::string_view args) { Writer(out_).bytes(args); }
  void finish();

 private:
  std::string& out_;
  std::size_t frame_start_;
};
CallMessage decode_call(std::string_view payload);

void encode_stop(std::string& out);

enum class ResultStatus : std::uint8_t {
  value = 0,
  exception = 1,
  value_too_large = 2,      // a value that did not fit in the frame
  exception_too_large = 3,  // an exception that did not fit in the frame
};

// One item's outcome: its encoded value, or the exception it threw, or the size of the
// one that did not fit.
struct ResultOutcome {
  ResultStatus status = ResultStatus::value;
  std::string_view value = {};  // status value
  std::uint8_t kind = 0;        // status exception
  std::string_view type_name = {};
  std::string_view message = {};
  std::string_view details = {};
  std::uint64_t size = 0;  // status value_too_large, exception_too_large: its encoded size
};
// The sentence of the std::length_error that fails an item whose outcome did not fit.
std::string too_large_outcome(const ResultOutcome& outcome);

struct ResultMessage {
  std::uint64_t seq = 0;
  std::int64_t started_ns = 0;
  std::int64_t finished_ns = 0;
  std::vector<ResultOutcome> outcomes = {};
};
void encode_result(std::string& out, const ResultMessage& m);
ResultMessage decode_result(std::string_view payload);

// A result message as the pool reads it: the header, with the outcomes left in the
// payload to be read one at a time (read_status), so that a map() chunk's thousand
// outcomes are not first copied into a vector.
struct ResultFrame {
  std::uint64_t seq = 0;
  std::int64_t started_ns = 0;
  std::int64_t finished_ns = 0;
  std::uint32_t count = 0;
  std::string_view outcomes = {};  // `count` encoded outcomes, and nothing after them
};
// Reads the header; the outcomes are checked as they are read. Throws WireError.
ResultFrame read_result(std::string_view payload);
// Reads a ResultFrame's `outcomes` one at a time: read_status(), then a value's bytes
// (Reader::bytes()), or any other outcome with read_outcome_after(). Throws WireError.
// A value, what a map() chunk is made of, is read inline straight into the caller's
// variables (through a ResultOutcome, each element paid a failed store-to-load forward).
[[noreturn]] void throw_unknown_status(std::uint8_t status);
inline ResultStatus read_status(Reader& r) {
  const std::uint8_t status = r.u8();
  if (status > static_cast<std::uint8_t>(ResultStatus::exception_too_large)) {
    throw_unknown_status(status);
  }
  return static_cast<ResultStatus>(status);
}
// Precondition: `status` is not ResultStatus::value.
ResultOutcome read_outcome_after(Reader& r, ResultStatus status);
// The next outcome, whatever its status.
inline ResultOutcome read_outcome(Reader& r) {
  const ResultStatus status = read_status(r);
  return status == ResultStatus::value ? ResultOutcome{.value = r.bytes()}
                                       : read_outcome_after(r, status);
}

// Builds a result frame in place at the end of `out`, outcome by outcome, so that a
// worker encodes each value straight into the buffer it sends (encode_result uses it
// too: one encoder). `out` may be written only through this writer until finish().
//
// The frame's payload keeps within `limit`: an outcome that would leave less room than
// the items still to come need for their sizes alone (status 2) is replaced by its own
// size. Precondition: `items` outcomes are added, and their sizes alone fit `limit`
// (check_call_size refuses bigger calls; decode_call, messages that claim them).
class ResultWriter {
 public:
  ResultWriter(std::string& out, std::uint64_t seq, std::int64_t started_ns, std::size_t items,
               std::uint64_t limit = kMaxPayloadBytes);
  // A value outcome: begin_value(), then append the value's bytes to `out`, then
  // end_value(); or drop_value() to take back what was appended since begin_value().
  // Inline: a worker runs them for every element of a map() chunk.
  void begin_value() {
    static_assert(static_cast<std::uint8_t>(ResultStatus::value) == 0);
    value_start_ = out_.size();
    out_.append(kValueHeaderBytes, '\0');  // the status, and the length end_value() writes
  }
  void end_value() {
    const std::uint64_t size = out_.size() - value_start_;
    if (!fits(0)) {
      replace_value_too_large(size);
      return;
    }
    // Below limit_, so below 2^32.
    const auto length = static_cast<std::uint32_t>(size - kValueHeaderBytes);
    std::memcpy(out_.data() + value_start_ + 1, &length, sizeof length);
    ++count_;
  }
  void drop_value() { out_.resize(value_start_); }
  void add_value(std::string_view value);
  void add_exception(std::uint8_t kind, std::string_view type_name, std::string_view message,
                     std::string_view details);
  // An outcome that did not fit (status value_too_large or exception_too_large), as its
  // size; what the calls above add in place of theirs when they do not fit.
  void add_too_large(ResultStatus status, std::uint64_t size);
  // Completes the frame.
  void finish(std::int64_t finished_ns);

 private:
  // Whether `bytes` more bytes, added now, leave room for the outcomes still to come.
  bool fits(std::uint64_t bytes) const {
    const std::uint64_t after = items_ > count_ + std::size_t{1} ? items_ - count_ - 1 : 0;
    return out_.size() - frame_start_ - kFrameHeaderBytes + bytes + after * kTooLargeBytes <=
           limit_;
  }
  // The open value did not fit: its size instead.
  void replace_value_too_large(std::uint64_t size);

  std::string& out_;
  std::size_t frame_start_;
  std::size_t items_;
  std::uint64_t limit_;
  std::size_t value_start_ = 0;  // where the open value's status byte is
  std::uint32_t count_ = 0;
};

// refused and init_failed: a sentence for BrokenProcessPool's message (cut to fit a frame).
void encode_text(std::string& out, MessageType type, std::string_view text);
std::string_view decode_text(std::string_view payload);

void encode_ready(std::string& out);
void encode_initialized(std::string& out);
// ready and initialized: throws WireError unless the payload is empty.
void decode_ready(std::string_view payload);

}  // namespace concurrent::futures::detail::wire
