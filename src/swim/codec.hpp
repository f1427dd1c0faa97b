#pragma once
// memberlist message codec: one message <-> type byte + go-msgpack body
// (../shared/protocol/memberlist.md sections 2-5). No I/O, no allocation
// beyond what the input size allows, never throws on bad input.
//
// A full UDP datagram as Serf 0.9.4 sends it, outermost layer first
// (packet.hpp peels/adds the layers, this file only does the innermost two):
//
//   +------+-------+------------------------------------+ label (memberlist >= 0.3 only, §9)
//   | 0xf4 | len   | label bytes                        |
//   +------+-------+------------------------------------+
//   | ver  | nonce (12)  | ciphertext ...   | tag (16)  | AES-GCM envelope, if a keyring (§8.2)
//   +------+-------------+------------------+-----------+   plaintext:
//   | 0x0c | CRC32 (u32 BE) of the rest                 | CRC header, gossip packets (§6)
//   +------+--------------------------------------------+
//   | 0x09 | msgpack {Algo: 0, Buf: <LZW of the rest>}  | compression, if smaller (§7)
//   +------+-------+----------+-----+-------------------+
//   | 0x07 | count | len0 BE  | ... | part0 | part1 ... | compound, if >= 2 messages (§5)
//   +------+-------+----------+-----+-------------------+
//   | type | msgpack map, keys sorted (or raw bytes for user = 8) | one message (§3, §4)
//   +------+------------------------------------------------------+
//
// Sending applies the layers bottom-up, receiving peels them top-down.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "swim/errors.hpp"
#include "swim/messages.hpp"

namespace chorus::swim {

// ---------------------------------------------------------------------------
// Size limits (named, with their derivation).

// A compound's count is one byte, but memberlist 0.2.2 computes count*2 in
// 8-bit arithmetic, so 128+ parts are mis-parsed by such peers (§5).
inline constexpr std::size_t max_compound_parts = 127;
// Each compound part length is a u16 BE.
inline constexpr std::size_t max_compound_part_len = 0xffff;
// Bytes a compound header costs per part (the u16 length) and once (type+count).
inline constexpr std::size_t compound_header_len = 2;
inline constexpr std::size_t compound_overhead_per_part = 2;

// ---------------------------------------------------------------------------
// Errors.

// decode_error and its faults: errors.hpp.
template <class T>
struct decoded {
  T value{};
  decode_error error;
  bool ok() const { return !error.failed(); }
};

// The wire type of a message value (alternatives of `message` map 1:1).
message_type type_of(const message& m);
// "ping", "indirectPing", ... as memberlist.md §3 names them; "unknown(N)".
std::string type_name(std::uint8_t type);

// ---------------------------------------------------------------------------
// Messages.

// Appends type byte + msgpack body (byte-identical to go-msgpack 0.5.5:
// sorted keys, Source* omitted when empty, raw family for strings and byte
// slices, empty byte slices as nil).
void encode(const message& m, bytes& out);
bytes encode(const message& m);

// Decodes one message (type byte + body). Trailing bytes are ignored; when
// `consumed` is given it receives the bytes taken (type byte included; for
// user messages: everything). Layer types (compound, compress, CRC, encrypt,
// label, push/pull) are an error here: packet.hpp / stream.hpp handle them.
decoded<message> decode(std::span<const std::uint8_t> in);
decoded<message> decode(std::span<const std::uint8_t> in, std::size_t* consumed);

// Only the msgpack body of a message whose type byte is already known
// (streams read the type byte separately).
decoded<message> decode_body(message_type type, std::span<const std::uint8_t> body, std::size_t* consumed = nullptr);

// ---------------------------------------------------------------------------
// Compound (7): 0x07 | count u8 | len[i] u16 BE ... | part[i] ...

// Appends a compound of already-encoded messages. Precondition (checked, a
// broken invariant aborts): 1..max_compound_parts parts, each <= 65535 bytes.
void encode_compound(std::span<const bytes> parts, bytes& out);

struct compound_view {
  std::vector<std::span<const std::uint8_t>> parts;  // point into the input
  std::size_t declared = 0;                          // count byte
  std::size_t truncated = 0;                         // parts dropped because the data ended early (§5)
};

// Splits a compound (input starts with the 0x07 byte). A packet too short for
// its own header is an error; parts cut short are reported in `truncated`,
// the earlier ones are still returned (as memberlist does).
decoded<compound_view> split_compound(std::span<const std::uint8_t> in);

// ---------------------------------------------------------------------------
// Streams-only structures (§4.3), shared with stream.hpp.

void encode_push_node_state(const push_node_state& s, bytes& out);
// Bytes encode_push_node_state appends for `s`, without encoding it.
std::size_t encoded_size(const push_node_state& s);
decoded<push_node_state> decode_push_node_state(std::span<const std::uint8_t> in, std::size_t* consumed);

}  // namespace chorus::swim
