#pragma once
// Finding object boundaries in Serf's RPC byte stream. The protocol has no
// length prefixes (serf-rpc.md section 2): a reader learns where one msgpack
// object ends only by walking its structure. This walk allocates nothing,
// so a peer announcing huge containers costs us no memory: we simply wait
// for bytes that never come (and the caller's buffer limit and timeout end it).
#include <cstddef>
#include <optional>

#include "rpc/protocol.hpp"
#include "swim/msgpack.hpp"

namespace chorus::rpc {

enum class frame_status {
  complete,    // `size` bytes at the front form one object
  incomplete,  // more bytes are needed
  invalid,     // not msgpack (0xc1) or nested deeper than the limit
};

struct frame {
  frame_status status = frame_status::incomplete;
  std::size_t size = 0;
};

inline constexpr std::size_t max_frame_depth = 32;

frame next_object(msgpack::byte_view in);

// The request at the front of a client's byte stream: its header and, for a
// command that takes one, the extent of its body. `invalid` means the
// connection must be closed (not msgpack, or a header that is not
// {Command: str, Seq: uint}); an unknown command is complete with
// cmd == nullopt (the agent answers "Unsupported command").
struct request_frame {
  frame_status status = frame_status::incomplete;
  request_header header;
  std::optional<command> cmd;
  std::size_t header_size = 0;
  std::size_t body_size = 0;  // 0 for commands without a body
  std::size_t size() const { return header_size + body_size; }
  msgpack::byte_view body(msgpack::byte_view in) const { return in.subspan(header_size, body_size); }
};

request_frame next_request(msgpack::byte_view in);

// next_request for a connection whose buffer grows read by read: it looks at
// each byte once, keeping its place (a msgpack::scanner) between calls, so a
// request trickled in small pieces costs time linear in its size. (Calling
// next_request after every read re-walked everything buffered so far: a
// 1 MiB array of 1-byte elements sent 128 bytes at a time took the agent's
// I/O thread 2 s.) Same results as next_request on the same bytes, except
// that a request holding more values than msgpack::read accepts is invalid
// as soon as the count is passed, instead of failing to decode at its end.
class request_reader {
 public:
  // `in` is the buffer from the start of the current request: the same
  // bytes as the previous call plus any that arrived since.
  request_frame next(msgpack::byte_view in);
  // The caller removed the complete request next() returned from the front
  // of its buffer: the following call starts a new request.
  void reset();
  // Bytes looked at since construction: each byte of the requests given is
  // counted once however they were split (tests assert it).
  std::uint64_t bytes_examined() const { return scanner_.bytes_examined(); }

 private:
  msgpack::scanner scanner_{msgpack::limits{max_frame_depth}};
  std::size_t pos_ = 0;                  // bytes of the request scanned so far
  std::optional<request_frame> header_;  // once the header is whole and decoded
};

}  // namespace chorus::rpc
