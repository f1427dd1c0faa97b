#pragma once
// UDP packet layers around memberlist messages (memberlist.md sections 5-9):
// compound, compression, CRC header, AES-GCM encryption and the (0.3+) label
// header. `seal` applies them in the order of §8.4, `open` peels them and
// decodes every message inside. No I/O; never throws on bad input.
//
//   seal:  payload -> [compress if strictly shorter] -> [0x0c crc] -> [encrypt] -> [0xf4 label]
//   open:  [strip label] -> [decrypt] -> [check+strip crc] -> compress / compound / message
//
// See codec.hpp for the picture of a full packet.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "swim/codec.hpp"
#include "swim/messages.hpp"

namespace chorus::swim {

class keyring;

// ---------------------------------------------------------------------------
// Size limits.

// memberlist's UDP receive buffer is 65536 bytes (§1): nothing bigger arrives.
inline constexpr std::size_t udp_receive_buffer = 65536;
// Default budget a sender composes packets to before layer overhead (§1, §13.7).
inline constexpr std::size_t udp_buffer_size = 1400;
// 0x0c + u32 CRC (§6).
inline constexpr std::size_t crc_header_len = 5;
// Label header: 0xf4 + u8 length + 1..255 label bytes (§9).
inline constexpr std::size_t max_label_len = 255;
// Go's decompressor has no limit (§14.11). A stream's content stops at
// 10 MiB, far above the largest legitimate one (a 10,000-node push/pull is
// ~1 MiB; a 20 MiB push/pull compresses to less than the stream limit).
inline constexpr std::size_t max_decompressed_len = 10u << 20;
// A datagram's content stops at what one datagram can carry: memberlist
// compresses a packet only when that makes it shorter (§7), so no honest
// sender's packet expands past the receive buffer. All compress layers of one
// datagram share this budget (a compound of compressed parts included): a
// 6.7 KB LZW bomb no longer becomes a 10 MiB user event.
inline constexpr std::size_t max_udp_decompressed_len = udp_receive_buffer;
// Compound and compress may nest (each part is "processed as if alone", §5);
// senders never nest, so a small bound keeps hostile recursion cheap.
inline constexpr std::size_t max_nesting = 4;

// ---------------------------------------------------------------------------
// compress (9) message: 0x09 | msgpack {Algo: 0, Buf: <LZW>}

// Appends a complete compress message wrapping `plain` (LZW, Algo 0).
void encode_compress(std::span<const std::uint8_t> plain, bytes& out);

struct decompressed {
  bytes data;                // the content (starts with the inner type byte)
  std::size_t buf_len = 0;   // size of the LZW buffer
  std::size_t consumed = 0;  // bytes of the input the compress message took
};
// `in` starts with the 0x09 type byte. Algo other than 0, bad LZW and output
// above `max_output` are errors.
decoded<decompressed> decode_compress(std::span<const std::uint8_t> in, std::size_t max_output = max_decompressed_len);

// ---------------------------------------------------------------------------
// AES-GCM envelope (§8.2): version | nonce (12) | ciphertext | tag (16).
// Thin glue over the keyring: sealing uses the primary key and version 1,
// opening tries every key in keyring order.

struct sealed {
  bytes data;
  std::string error;  // configuration faults only: empty keyring, no AES-GCM on this CPU
  bool ok() const { return error.empty(); }
};
struct opened_envelope {
  bytes plaintext;
  int version = -1;
  std::size_t key_index = 0;  // 0 = primary
  std::string error;
  bool ok() const { return error.empty(); }
};
sealed seal_envelope(const keyring& keys, std::span<const std::uint8_t> plaintext, std::span<const std::uint8_t> aad);
opened_envelope open_envelope(const keyring& keys, std::span<const std::uint8_t> envelope,
                              std::span<const std::uint8_t> aad);

// ---------------------------------------------------------------------------
// Sending.

struct seal_options {
  bool compress = false;          // LZW, used only if strictly shorter (UDP rule, §7)
  bool crc = false;               // hasCrc header (recipient known and PMax >= 5, §6)
  const keyring* keys = nullptr;  // encrypt with the primary key, version 1 (§8.2)
  std::string label;              // non-empty: 0.3+ label header (never to 0.2.2 peers)
};

// `payload` is one encoded message or a compound. Returns the datagram.
sealed seal(std::span<const std::uint8_t> payload, const seal_options& opt);
// Convenience: one message bare, several as a compound (< 128 parts).
sealed seal_messages(std::span<const message> msgs, const seal_options& opt);

// ---------------------------------------------------------------------------
// Receiving.

struct open_options {
  const keyring* keys = nullptr;  // set: every datagram must decrypt (agent behaviour, §8.2)
  std::string label;              // expected label; empty = expect none
  bool skip_label_check = false;  // accept any label or none (memberlist's skip option)
  // Total output of every compress layer in the datagram.
  std::size_t max_decompressed = max_udp_decompressed_len;
};

// One peeled inner layer (hasCrc, compress, compound), in the order met.
struct packet_layer {
  std::string path;  // "hasCrc/compress/compound", as in vectors/README.md
  message_type type = message_type::compound;
  // hasCrc
  std::uint32_t crc = 0;
  bool crc_ok = false;
  // compress
  std::size_t compressed_len = 0;  // LZW Buf length
  std::size_t decompressed_len = 0;
  // compound
  std::size_t count = 0;             // declared part count
  std::vector<std::size_t> lengths;  // declared lengths
  std::size_t truncated = 0;         // parts dropped at the end (§5)
};

struct packet_message {
  std::string path;  // e.g. "hasCrc/compound[1]/alive"
  message msg;
  bytes wire;  // the message's bytes (type byte included)
};

struct packet_error {
  std::string path;    // where (e.g. "compound[2]")
  decode_error error;  // offset relative to that layer's bytes
};

struct opened_packet {
  // Outer layers.
  std::optional<std::string> label;  // label header, if present
  bool encrypted = false;
  int encryption_version = -1;       // 0 or 1 when encrypted
  std::size_t key_index = 0;         // which keyring key decrypted it (0 = primary)
  bytes plaintext;                   // after label/decryption: what the inner layers saw
  std::vector<packet_layer> layers;  // hasCrc / compress / compound, outermost first
  std::vector<packet_message> messages;
  // Parts that failed while others were fine (bad message in a compound, ...).
  std::vector<packet_error> part_errors;
  // Bytes the compress layers produced so far (within open_options::max_decompressed).
  std::size_t decompressed = 0;
  // Fatal: the whole packet is dropped (bad label, decryption, CRC mismatch,
  // empty packet, ...). `messages` may hold what was decoded before the fault.
  decode_error error;
  bool ok() const { return !error.failed(); }
};

opened_packet open(std::span<const std::uint8_t> datagram, const open_options& opt);

// Bits of the label header, shared with stream.hpp.
void encode_label(const std::string& label, bytes& out);
struct label_view {
  std::optional<std::string> label;
  std::size_t header_len = 0;  // bytes to skip (0 when no label header)
};
decoded<label_view> read_label(std::span<const std::uint8_t> in);
// Applies the receive policy of §9; empty string when accepted.
std::string check_label(const std::optional<std::string>& got, const std::string& expected, bool skip_check);

}  // namespace chorus::swim
