#pragma once
// Serf's gossip messages as plain values (../shared/protocol/serf.md section
// 2). codec.hpp turns them into bytes and back. A Serf message is one type
// byte plus one go-msgpack struct; inside memberlist it rides in a user
// message (0x08), a push/pull user state or a query/response payload.
//
// The alternatives of `serf_message` are declared in wire-type order, so
// `serf_message::index()` IS the type byte.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "swim/messages.hpp"

namespace chorus::agent {

using bytes = swim::bytes;
using tag_map = std::map<std::string, std::string>;

// Serf message type bytes (serf.md 2). Each is the index of its alternative
// in serf_message below, so they count up from 0 in declaration order.
// APPEND-ONLY: these numbers are the wire protocol.
enum class serf_message_type : std::uint8_t {
  leave,              // 0
  join,               // 1
  push_pull,          // 2
  user_event,         // 3
  query,              // 4
  query_response,     // 5
  conflict_response,  // 6
  key_request,        // 7
  key_response,       // 8
  relay,              // 9
};

// Leave intent (member clock). prune = force-leave -prune: erase at once.
struct leave_intent {
  std::uint64_t ltime = 0;
  std::string node;
  bool prune = false;
  bool operator==(const leave_intent&) const = default;
};

// Join intent (member clock).
struct join_intent {
  std::uint64_t ltime = 0;
  std::string node;
  bool operator==(const join_intent&) const = default;
};

// User event (event clock). cc = "can coalesce".
struct user_event {
  std::uint64_t ltime = 0;
  std::string name;
  bytes payload;  // empty goes on the wire as nil
  bool cc = false;
  bool operator==(const user_event&) const = default;
};

// ---------------------------------------------------------------------------
// Query filters: each wire filter is a byte string `filter type (u8) + msgpack`.

enum class filter_type : std::uint8_t { node = 0, tag = 1 };

// Matches when our name is in the list.
struct node_filter {
  std::vector<std::string> nodes;
  bool operator==(const node_filter&) const = default;
};

// Matches when our tag `tag` matches the RE2 regex `expr` (unanchored search).
struct tag_filter {
  std::string tag;
  std::string expr;
  bool operator==(const tag_filter&) const = default;
};

// A filter we cannot interpret: unknown type byte or a body that does not
// decode. Serf treats such a filter as "no match", so the query itself is
// still valid. Kept verbatim so relaying/re-encoding loses nothing.
struct opaque_filter {
  bytes raw;          // the whole filter byte string, type byte included
  std::string error;  // why it could not be decoded
  bool operator==(const opaque_filter&) const = default;
};

using query_filter = std::variant<node_filter, tag_filter, opaque_filter>;

// Query flag bits.
inline constexpr std::uint32_t query_flag_ack = 1;           // ack requested
inline constexpr std::uint32_t query_flag_no_broadcast = 2;  // do not re-broadcast

// Query (query clock). Responses go by UDP to addr:port.
struct query {
  std::uint64_t ltime = 0;
  std::uint32_t id = 0;  // random 31-bit, chosen by the originator
  bytes addr;            // originator's advertise IP, 4 or 16 bytes
  std::uint16_t port = 0;
  std::string source_node;
  std::vector<query_filter> filters;  // empty goes on the wire as nil
  std::uint32_t flags = 0;
  std::uint8_t relay_factor = 0;
  std::chrono::nanoseconds timeout{0};
  std::string name;
  bytes payload;
  bool ack_requested() const { return (flags & query_flag_ack) != 0; }
  bool no_broadcast() const { return (flags & query_flag_no_broadcast) != 0; }
  bool operator==(const query&) const = default;
};

// Response flag bits.
inline constexpr std::uint32_t query_response_flag_ack = 1;

// Query response or ack (flags bit 0), ltime and id copied from the query.
struct query_response {
  std::uint64_t ltime = 0;
  std::uint32_t id = 0;
  std::string from;
  std::uint32_t flags = 0;
  bytes payload;
  bool is_ack() const { return (flags & query_response_flag_ack) != 0; }
  bool operator==(const query_response&) const = default;
};

// Serf member status (Go `MemberStatus`).
enum class member_status : std::uint8_t { none = 0, alive = 1, leaving = 2, left = 3, failed = 4 };

// Serf's view of a member, as sent in a conflict response.
struct member_info {
  std::string name;
  bytes addr;
  std::uint16_t port = 0;
  tag_map tags;
  member_status status = member_status::none;
  std::uint8_t protocol_min = 0;  // memberlist versions
  std::uint8_t protocol_max = 0;
  std::uint8_t protocol_cur = 0;
  std::uint8_t delegate_min = 0;  // Serf versions
  std::uint8_t delegate_max = 0;
  std::uint8_t delegate_cur = 0;
  bool operator==(const member_info&) const = default;
};

// Payload of a `_serf_conflict` response: the responder's view of the
// contested name, or nothing (nil) when it does not know it.
struct conflict_response {
  std::optional<member_info> member;
  bool operator==(const conflict_response&) const = default;
};

// Payload of the `_serf_*-key` queries. list-keys sends an empty key.
struct key_request {
  bytes key;  // raw key bytes; always written as a byte string, even empty
  bool operator==(const key_request&) const = default;
};

// Payload of a key query response.
struct key_response {
  bool result = false;
  std::string message;
  std::vector<std::string> keys;  // base64; list-keys only; empty goes as nil
  std::string primary_key;        // base64; list-keys only
  bool operator==(const key_response&) const = default;
};

// Where a relayed message must go.
struct relay_header {
  bytes dest_ip;
  std::uint16_t dest_port = 0;
  std::string dest_zone;  // IPv6 zone, normally empty
  std::string dest_name;
  bool operator==(const relay_header&) const = default;
};

// A relay: forward `inner` (a complete Serf message, type byte included) as
// a user message to the header's address. Kept as bytes because the relaying
// node forwards them verbatim; decode_serf_message(inner) reads it.
struct relay {
  relay_header header;
  bytes inner;
  bool operator==(const relay&) const = default;
};

// ---------------------------------------------------------------------------
// Push/pull user state (serf.md section 11).

struct event_entry {
  std::string name;
  bytes payload;
  bool operator==(const event_entry&) const = default;
};

// All events that share one Lamport time (one slot of the event buffer).
struct event_slot {
  std::uint64_t ltime = 0;
  std::vector<event_entry> events;
  bool operator==(const event_slot&) const = default;
};

struct push_pull_state {
  std::uint64_t ltime = 0;                             // member clock
  std::map<std::string, std::uint64_t> status_ltimes;  // every member -> its statusLTime
  std::vector<std::string> left_members;
  std::uint64_t event_ltime = 0;
  std::vector<std::optional<event_slot>> events;  // the whole event buffer, nil slots kept
  std::uint64_t query_ltime = 0;
  bool operator==(const push_pull_state&) const = default;
};

// One Serf message; index() == the wire type byte.
using serf_message = std::variant<leave_intent, join_intent, push_pull_state, user_event, query, query_response,
                                  conflict_response, key_request, key_response, relay>;
static_assert(std::variant_size_v<serf_message> == static_cast<std::size_t>(serf_message_type::relay) + 1,
              "one type byte per alternative");

// ---------------------------------------------------------------------------
// Internal queries (serf.md 9.4): handled inside Serf, never shown to users.

inline constexpr std::string_view internal_query_prefix = "_serf_";
inline bool is_internal_query(std::string_view name) { return name.starts_with(internal_query_prefix); }

// The key queries carry a key_request payload and are answered with a key_response.
inline constexpr std::string_view install_key_query = "_serf_install-key";
inline constexpr std::string_view use_key_query = "_serf_use-key";
inline constexpr std::string_view remove_key_query = "_serf_remove-key";
inline constexpr std::string_view list_keys_query = "_serf_list-keys";
inline bool is_key_query(std::string_view name) {
  return name == install_key_query || name == use_key_query || name == remove_key_query || name == list_keys_query;
}

// A ping query checks that the query path works; a conflict query asks the
// cluster which node holds a contested name.
inline constexpr std::string_view ping_query = "_serf_ping";
inline constexpr std::string_view conflict_query = "_serf_conflict";

}  // namespace chorus::agent
