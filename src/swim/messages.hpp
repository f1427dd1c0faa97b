#pragma once
// memberlist's messages as plain values (../shared/protocol/memberlist.md
// sections 3 and 4). The codec (codec.hpp) turns them into bytes and back;
// the protocol core reasons only in these types.
//
// Field names follow the wire keys in snake_case (SeqNo -> seq_no). IPs are
// the raw 4- or 16-byte address as carried on the wire.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace chorus::swim {

using bytes = std::vector<std::uint8_t>;

// Message type bytes. APPEND-ONLY: these numbers are the wire protocol.
enum class message_type : std::uint8_t {
  ping = 0,
  indirect_ping = 1,
  ack = 2,
  suspect = 3,
  alive = 4,
  dead = 5,
  push_pull = 6,
  compound = 7,
  user = 8,
  compress = 9,
  encrypt = 10,
  nack = 11,
  has_crc = 12,
  err = 13,
  has_label = 244,  // memberlist >= 0.3.0 only
};
// The byte that starts a message of type t on the wire.
constexpr std::uint8_t type_byte(message_type t) { return static_cast<std::uint8_t>(t); }

// A probe. source_* are omitted on the wire when empty/zero.
struct ping {
  std::uint32_t seq_no = 0;
  std::string node;  // the node being pinged; empty = whoever listens
  bytes source_addr;
  std::uint16_t source_port = 0;
  std::string source_node;
  bool operator==(const ping&) const = default;
};

// "Please ping `node` at target:port for me and forward the ack."
struct indirect_ping {
  std::uint32_t seq_no = 0;  // the requester's sequence number
  bytes target;
  std::uint16_t port = 0;
  std::string node;
  bool nack = false;  // requester wants a nack if the target stays silent
  bytes source_addr;
  std::uint16_t source_port = 0;
  std::string source_node;
  bool operator==(const indirect_ping&) const = default;
};

struct ack {
  std::uint32_t seq_no = 0;
  bytes payload;  // Serf: 0x01 + msgpack Vivaldi coordinate; empty when forwarded or over TCP
  bool operator==(const ack&) const = default;
};

struct nack {
  std::uint32_t seq_no = 0;
  bool operator==(const nack&) const = default;
};

struct suspect {
  std::uint32_t incarnation = 0;
  std::string node;
  std::string from;
  bool operator==(const suspect&) const = default;
};

struct alive {
  std::uint32_t incarnation = 0;
  std::string node;
  bytes addr;
  std::uint16_t port = 0;
  bytes meta;  // Serf: encoded tags, at most 512 bytes
  bytes vsn;   // PMin, PMax, PCur, DMin, DMax, DCur (section 11); may be shorter from old peers
  bool operator==(const alive&) const = default;
};

// Same shape as suspect; from == node means a graceful leave.
struct dead {
  std::uint32_t incarnation = 0;
  std::string node;
  std::string from;
  bool operator==(const dead&) const = default;
};

// Opaque delegate (Serf) payload: everything after the 0x08 type byte.
struct user {
  bytes payload;
  bool operator==(const user&) const = default;
};

// Sent on a TCP stream when the request could not be read.
struct err {
  std::string error;
  bool operator==(const err&) const = default;
};

// One message as carried in a UDP packet or compound part (packet layers such
// as compound, compress, CRC, encryption and label are not messages: the codec
// peels them).
using message = std::variant<ping, indirect_ping, ack, nack, suspect, alive, dead, user, err>;

// ---------------------------------------------------------------------------
// Push/pull (TCP, section 10.2).

enum class node_state : std::uint8_t { alive = 0, suspect = 1, dead = 2, left = 3 };

struct push_node_state {
  std::string name;
  bytes addr;
  std::uint16_t port = 0;
  bytes meta;
  std::uint32_t incarnation = 0;
  node_state state = node_state::alive;
  bytes vsn;
  bool operator==(const push_node_state&) const = default;
};

struct push_pull {
  bool join = false;
  std::vector<push_node_state> nodes;
  bytes user_state;  // Serf's push/pull message, opaque here
  bool operator==(const push_pull&) const = default;
};

}  // namespace chorus::swim
