#pragma once
// TCP stream messages (memberlist.md sections 8.3, 9, 10). One connection
// carries one exchange: the initiator writes one stream message, the
// responder may answer with one. Each direction is
//
//   [0xf4 len label]                          label, once per connection (0.3+ only)
//   [0x0a | u32 BE len | envelope]            encryption, AAD = those 5 bytes (+ label)
//   [0x09 | msgpack {Algo, Buf}]              compression, unconditional when enabled
//   type | body                               push/pull (6), ping (0), ack (2), user (8), err (13)
//
//   push/pull body: header {Join, Nodes, UserStateLen} | Nodes x pushNodeState | user state bytes
//   user body:      header {UserMsgLen} | UserMsgLen bytes
//
// No I/O here: the transport collects bytes and asks decode_stream whether a
// complete message is there (`incomplete`) or what went wrong.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "swim/codec.hpp"
#include "swim/messages.hpp"
#include "swim/packet.hpp"

namespace chorus::swim {

// Receivers refuse an encrypted stream whose length field exceeds 20 MiB (§8.3).
inline constexpr std::size_t max_stream_encrypted_len = 20u << 20;
// 0x0a + u32 BE length.
inline constexpr std::size_t stream_encrypt_header_len = 5;

// A push/pull header may announce at most this many node states. memberlist
// 0.6 refuses more (maxPushStateNodes): a 20 MiB stream of ~20-byte states
// holds about a million, and a real table of 10,000 nodes is 1% of it.
inline constexpr std::size_t max_push_pull_nodes = 1u << 20;
// ... and at most this much user (Serf) state: memberlist 0.6's
// maxPushStateBytes, the same 20 MiB as the stream limit.
inline constexpr std::size_t max_push_pull_user_state = 20u << 20;
// A reliable user message's length limit: memberlist 0.6's maxUserMsgBytes.
inline constexpr std::size_t max_stream_user_msg = 20u << 20;
// The msgpack header of a push/pull (Join, Nodes, UserStateLen) or user
// message (UserMsgLen) is at most 45 bytes as go-msgpack writes it (map
// byte, three keys of 5 + 6 + 13 bytes, a bool, two 9-byte integers); 1 KiB
// leaves room for keys a peer might add and still bounds what is buffered
// before the header is understood.
inline constexpr std::size_t max_stream_header_len = 1024;

// The error texts memberlist sends back in an err message (§8.3, §4.1); Serf
// peers log them, so keep them verbatim.
inline constexpr std::string_view remote_encrypted_error = "Remote state is encrypted and encryption is not configured";
inline constexpr std::string_view remote_not_encrypted_error =
    "Encryption is configured but remote state is not encrypted";

// What a stream direction can carry. `user` here is the reliable user message
// of §10.4 (length-prefixed), not the UDP form.
using stream_message = std::variant<push_pull, ping, ack, user, err>;

struct stream_options {
  bool compress = false;          // memberlist compresses every stream message when enabled (§7)
  const keyring* keys = nullptr;  // encrypt as type 10 with the primary key
  std::string label;              // 0.3+ only: label header first
};

// Encodes one direction: [label] [encrypt [compress [type | body]]].
sealed encode_stream(const stream_message& m, const stream_options& opt);
// The bare stream message (type byte + body), no layers.
void encode_stream_body(const stream_message& m, bytes& out);
// The same for a push/pull without first copying it into a stream_message
// (a 10,000-node table is 10,000 node states to copy).
void encode_stream_body(const push_pull& m, bytes& out);
// The size of what encode_stream_body(m, out) appends, without encoding it
// (the simulator charges the bytes of a push/pull it hands over as a struct).
std::size_t stream_body_size(const push_pull& m);

struct stream_layers {
  std::optional<std::string> label;
  bool encrypted = false;
  int encryption_version = -1;
  std::size_t key_index = 0;
  std::uint32_t encrypted_length = 0;  // the u32 length field
  bool compressed = false;
  std::size_t compressed_len = 0;  // LZW Buf length
  std::size_t decompressed_len = 0;
  bytes inner;  // type byte + body after all layers were peeled
};

struct stream_open_options {
  const keyring* keys = nullptr;  // set: the stream must be encrypted (§8.3 policy)
  std::string label;
  bool skip_label_check = false;
  std::size_t max_decompressed = max_decompressed_len;
  // Copy the peeled message into layers.inner (for tools that show it); a
  // caller that only wants `msg` skips the copy (a 10,000-node push/pull is
  // ~700 KB).
  bool keep_inner = true;
};

struct opened_stream {
  stream_message msg;
  stream_layers layers;
  std::size_t consumed = 0;  // bytes of input the direction took
  // Input ended before the message did: read more and try again. `error`
  // is set too (says what was missing).
  bool incomplete = false;
  decode_error error;
  bool ok() const { return !error.failed(); }
};

// The push/pull header with memberlist 0.6's limits applied: a negative
// count, more than max_push_pull_nodes nodes or more than
// max_push_pull_user_state bytes of user state is an error (the header alone
// proves the stream bad: no need to wait for its bytes).
struct push_pull_header {
  bool join = false;
  std::size_t nodes = 0;
  std::size_t user_state_len = 0;
};
// `header` is exactly the encoded msgpack header value; no error = accepted
// (over_limit for the limits, malformed for the rest).
decode_error decode_push_pull_header(std::span<const std::uint8_t> header, push_pull_header& out);
// The same for a user message header ({UserMsgLen}, <= max_stream_user_msg).
decode_error decode_user_msg_header(std::span<const std::uint8_t> header, std::size_t& len);
// A push/pull node state is a msgpack map (fixmap, map16, map32): anything
// else at its first byte is refused at once (go-msgpack would read a nil as
// an empty state: a flood of 1-byte nils would each cost a whole state).
constexpr bool is_map_type_byte(std::uint8_t b) { return (b & 0xf0) == 0x80 || b == 0xde || b == 0xdf; }

// Decodes one stream direction from the front of `in`.
opened_stream decode_stream(std::span<const std::uint8_t> in, const stream_open_options& opt);

}  // namespace chorus::swim
