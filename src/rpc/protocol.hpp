#pragma once
// Serf's agent RPC protocol (../shared/protocol/serf-rpc.md) as plain values,
// with encoders and decoders for both directions: the CLI's client uses the
// request encoders and the response decoders, the agent's server will use the
// other half. No I/O here.
//
// Wire picture (a stream of concatenated msgpack objects, no other framing):
//
//   client -> agent   {Command: str, Seq: u64}  [body]      body only for commands that take one
//   agent -> client   {Error: str, Seq: u64}    [body]      body only for commands that return one
//                     {Error: "", Seq: s}       record      every later header of a stream's Seq
//
// Encoding rules (section 1): Serf's RPC codec is the *modern* msgpack dialect
// (str8 for 32..255-byte strings, bin for byte slices, even empty ones), struct
// fields as maps with sorted keys, Go nil slices/maps as 0xc0. So that our
// bytes equal the Go client's and agent's, fields that Go can send as nil *or*
// empty are std::optional here: nullopt is nil, an engaged empty value is the
// empty container. Decoding is lenient like the agent's: any key order,
// unknown keys ignored, missing keys give zero values, byte fields accept str
// or bin, string fields refuse bin.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "swim/msgpack.hpp"

namespace chorus::rpc {

using bytes = msgpack::bytes;
using string_map = std::map<std::string, std::string>;

// The only IPC version Serf 0.9 speaks.
inline constexpr std::int32_t ipc_version = 1;

// ---------------------------------------------------------------------------
// Commands

enum class command {
  handshake,
  auth,
  event,
  force_leave,
  join,
  members,
  members_filtered,
  tags,
  stream,
  monitor,
  stop,
  leave,
  query,
  respond,
  install_key,
  use_key,
  remove_key,
  list_keys,
  stats,
  get_coordinate,
  // chorus only (Serf answers "Unsupported command" and closes): the
  // agent's own counters and failure explanations, in stats' shape.
  chorus_stats,
};

// The wire name ("force-leave", "members-filtered", ...).
std::string_view command_name(command c);
// nullopt for names Serf does not know (the agent answers "Unsupported command").
std::optional<command> parse_command(std::string_view name);
// Whether a request of this command carries a body after its header.
bool request_has_body(command c);
// Whether a successful (or command-level failed) reply carries a body. Replies
// with "Handshake required", "Authentication required" or "Unsupported
// command" never do (see reply_error_has_no_body).
bool response_has_body(command c);
// stream, monitor and query: the first header acknowledges, each later header
// with the same Seq is followed by one record.
bool is_streaming(command c);
// Errors after which the agent sends no body whatever the command.
bool reply_error_has_no_body(std::string_view error);

// Error strings of section 4.2, as the agent writes them.
namespace errors {
inline constexpr std::string_view unsupported_command = "Unsupported command";
inline constexpr std::string_view unsupported_ipc_version = "Unsupported IPC version";
inline constexpr std::string_view duplicate_handshake = "Handshake already performed";
inline constexpr std::string_view handshake_required = "Handshake required";
inline constexpr std::string_view monitor_exists = "Monitor already exists";
inline constexpr std::string_view invalid_filter = "Invalid event filter";
inline constexpr std::string_view stream_exists = "Stream with given sequence exists";
inline constexpr std::string_view invalid_query_id = "No pending queries matching ID";
inline constexpr std::string_view auth_required = "Authentication required";
inline constexpr std::string_view invalid_auth_token = "Invalid authentication token";
}  // namespace errors

// ---------------------------------------------------------------------------
// Headers

struct request_header {
  std::string command;  // kept as text: unknown names must still be answered
  std::uint64_t seq = 0;
  bool operator==(const request_header&) const = default;
};

struct response_header {
  std::string error;  // "" on success
  std::uint64_t seq = 0;
  bool operator==(const response_header&) const = default;
};

// ---------------------------------------------------------------------------
// Request bodies (wire keys in comments, sorted as on the wire)

struct handshake_request {  // {Version}
  std::int32_t version = ipc_version;
  bool operator==(const handshake_request&) const = default;
};

struct auth_request {  // {AuthKey}
  std::string auth_key;
  bool operator==(const auth_request&) const = default;
};

struct event_request {  // {Coalesce, Name, Payload}
  bool coalesce = true;
  std::string name;
  std::optional<bytes> payload;
  bool operator==(const event_request&) const = default;
};

struct force_leave_request {  // {Node, Prune}
  std::string node;
  bool prune = false;
  bool operator==(const force_leave_request&) const = default;
};

struct join_request {  // {Existing, Replay}
  std::optional<std::vector<std::string>> existing;
  bool replay = false;
  bool operator==(const join_request&) const = default;
};

struct members_filtered_request {  // {Name, Status, Tags}
  std::string name;
  std::string status;
  std::optional<string_map> tags;
  bool operator==(const members_filtered_request&) const = default;
};

struct tags_request {  // {DeleteTags, Tags}
  std::optional<std::vector<std::string>> delete_tags;
  std::optional<string_map> tags;
  bool operator==(const tags_request&) const = default;
};

struct stream_request {  // {Type}
  std::string type;      // event filter, e.g. "member-join,user:deploy"; "" = "*"
  bool operator==(const stream_request&) const = default;
};

struct monitor_request {  // {LogLevel}
  std::string log_level;
  bool operator==(const monitor_request&) const = default;
};

struct stop_request {      // {Stop}
  std::uint64_t stop = 0;  // the Seq of the stream or monitor to end
  bool operator==(const stop_request&) const = default;
};

struct query_request {  // {FilterNodes, FilterTags, Name, Payload, RelayFactor, RequestAck, Timeout}
  std::optional<std::vector<std::string>> filter_nodes;
  std::optional<string_map> filter_tags;
  std::string name;
  std::optional<bytes> payload;
  std::uint8_t relay_factor = 0;
  bool request_ack = false;
  std::int64_t timeout_ns = 0;  // 0 = the agent's default
  bool operator==(const query_request&) const = default;
};

struct respond_request {  // {ID, Payload}
  std::uint64_t id = 0;
  std::optional<bytes> payload;
  bool operator==(const respond_request&) const = default;
};

// install-key, use-key, remove-key
struct key_request {  // {Key}
  std::string key;    // base64
  bool operator==(const key_request&) const = default;
};

struct get_coordinate_request {  // {Node}
  std::string node;
  bool operator==(const get_coordinate_request&) const = default;
};

// ---------------------------------------------------------------------------
// Response bodies and stream records

struct member {  // {Addr, DelegateCur, DelegateMax, DelegateMin, Name, Port, ProtocolCur, ProtocolMax, ProtocolMin,
                 // Status, Tags}
  bytes addr;    // 4 or 16 bytes
  std::uint8_t delegate_cur = 0;
  std::uint8_t delegate_max = 0;
  std::uint8_t delegate_min = 0;
  std::string name;
  std::uint16_t port = 0;
  std::uint8_t protocol_cur = 0;
  std::uint8_t protocol_max = 0;
  std::uint8_t protocol_min = 0;
  std::string status;  // alive, leaving, left, failed (none)
  std::optional<string_map> tags;
  bool operator==(const member&) const = default;
};

struct join_response {  // {Num}
  std::int32_t num = 0;
  bool operator==(const join_response&) const = default;
};

struct members_response {  // {Members}
  std::optional<std::vector<member>> members;
  bool operator==(const members_response&) const = default;
};

// install-key, use-key, remove-key, list-keys
struct key_response {                                       // {Keys, Messages, NumErr, NumNodes, NumResp}
  std::optional<std::map<std::string, std::int64_t>> keys;  // base64 key -> nodes having it (list-keys)
  std::optional<string_map> messages;                       // node -> error or warning
  std::int64_t num_err = 0;
  std::int64_t num_nodes = 0;
  std::int64_t num_resp = 0;
  bool operator==(const key_response&) const = default;
};

// stats: section -> key -> value (chorus-stats: the same shape)
using stats_response = std::map<std::string, string_map>;

struct coordinate {  // {Adjustment, Error, Height, Vec}
  double adjustment = 0;
  double error = 0;
  double height = 0;
  std::optional<std::vector<double>> vec;
  bool operator==(const coordinate&) const = default;
};

struct coordinate_response {  // {Coord, Ok}
  coordinate coord;
  bool ok = false;
  bool operator==(const coordinate_response&) const = default;
};

// `stream` records.
struct member_event_record {  // {Event, Members}
  std::string event;          // member-join, member-leave, member-failed, member-update, member-reap
  std::vector<member> members;
  bool operator==(const member_event_record&) const = default;
};

struct user_event_record {  // {Coalesce, Event: "user", LTime, Name, Payload}
  bool coalesce = false;
  std::uint64_t ltime = 0;
  std::string name;
  std::optional<bytes> payload;
  bool operator==(const user_event_record&) const = default;
};

struct query_event_record {  // {Event: "query", ID, LTime, Name, Payload}
  std::uint64_t id = 0;      // per connection, for `respond`
  std::uint64_t ltime = 0;
  std::string name;
  std::optional<bytes> payload;
  bool operator==(const query_event_record&) const = default;
};

using event_record = std::variant<member_event_record, user_event_record, query_event_record>;

// `monitor` records.
struct log_record {  // {Log}
  std::string log;   // one line, no trailing newline
  bool operator==(const log_record&) const = default;
};

// `query` records.
struct query_record {  // {From, Payload, Type}
  std::string from;
  std::optional<bytes> payload;
  std::string type;  // ack, response, done
  bool operator==(const query_record&) const = default;
};

namespace query_record_type {
inline constexpr std::string_view ack = "ack";
inline constexpr std::string_view response = "response";
inline constexpr std::string_view done = "done";
}  // namespace query_record_type

// ---------------------------------------------------------------------------
// Encoding: appends one msgpack object (RPC flavour) to `out`.

void encode(bytes& out, const request_header& v);
void encode(bytes& out, const response_header& v);
void encode(bytes& out, const handshake_request& v);
void encode(bytes& out, const auth_request& v);
void encode(bytes& out, const event_request& v);
void encode(bytes& out, const force_leave_request& v);
void encode(bytes& out, const join_request& v);
void encode(bytes& out, const members_filtered_request& v);
void encode(bytes& out, const tags_request& v);
void encode(bytes& out, const stream_request& v);
void encode(bytes& out, const monitor_request& v);
void encode(bytes& out, const stop_request& v);
void encode(bytes& out, const query_request& v);
void encode(bytes& out, const respond_request& v);
void encode(bytes& out, const key_request& v);
void encode(bytes& out, const get_coordinate_request& v);
void encode(bytes& out, const member& v);
void encode(bytes& out, const join_response& v);
void encode(bytes& out, const members_response& v);
void encode(bytes& out, const key_response& v);
void encode(bytes& out, const stats_response& v);
void encode(bytes& out, const coordinate_response& v);
void encode(bytes& out, const member_event_record& v);
void encode(bytes& out, const user_event_record& v);
void encode(bytes& out, const query_event_record& v);
void encode(bytes& out, const event_record& v);
void encode(bytes& out, const log_record& v);
void encode(bytes& out, const query_record& v);

template <class T>
bytes encode(const T& v) {
  bytes out;
  encode(out, v);
  return out;
}

// ---------------------------------------------------------------------------
// Decoding from a parsed msgpack value. Each returns "" on success, else a
// description of what was wrong; `out` is then unspecified. Never throws.

std::string decode(const msgpack::value& in, request_header& out);
std::string decode(const msgpack::value& in, response_header& out);
std::string decode(const msgpack::value& in, handshake_request& out);
std::string decode(const msgpack::value& in, auth_request& out);
std::string decode(const msgpack::value& in, event_request& out);
std::string decode(const msgpack::value& in, force_leave_request& out);
std::string decode(const msgpack::value& in, join_request& out);
std::string decode(const msgpack::value& in, members_filtered_request& out);
std::string decode(const msgpack::value& in, tags_request& out);
std::string decode(const msgpack::value& in, stream_request& out);
std::string decode(const msgpack::value& in, monitor_request& out);
std::string decode(const msgpack::value& in, stop_request& out);
std::string decode(const msgpack::value& in, query_request& out);
std::string decode(const msgpack::value& in, respond_request& out);
std::string decode(const msgpack::value& in, key_request& out);
std::string decode(const msgpack::value& in, get_coordinate_request& out);
std::string decode(const msgpack::value& in, member& out);
std::string decode(const msgpack::value& in, join_response& out);
std::string decode(const msgpack::value& in, members_response& out);
std::string decode(const msgpack::value& in, key_response& out);
std::string decode(const msgpack::value& in, stats_response& out);
std::string decode(const msgpack::value& in, coordinate_response& out);
std::string decode(const msgpack::value& in, member_event_record& out);
std::string decode(const msgpack::value& in, user_event_record& out);
std::string decode(const msgpack::value& in, query_event_record& out);
// Picks the record type by its Event field ("user", "query", else a member event).
std::string decode(const msgpack::value& in, event_record& out);
std::string decode(const msgpack::value& in, log_record& out);
std::string decode(const msgpack::value& in, query_record& out);

// Every request body, by command (monostate: the command takes none).
using request_body = std::variant<std::monostate, handshake_request, auth_request, event_request, force_leave_request,
                                  join_request, members_filtered_request, tags_request, stream_request, monitor_request,
                                  stop_request, query_request, respond_request, key_request, get_coordinate_request>;

// Decodes the body of a `c` request (an empty view for commands without
// one) into the alternative that command takes. "" on success; an error
// means the agent closes the connection without a reply (section 3.5).
std::string decode_request_body(command c, msgpack::byte_view body, request_body& out);

// Parses one complete object from `in` (see framing.hpp for finding where
// one ends in a stream) and decodes it.
template <class T>
std::string decode_bytes(msgpack::byte_view in, T& out) {
  auto r = msgpack::read(in);
  if (!r.ok()) return r.error;
  if (r.consumed != in.size()) return "trailing bytes after the object";
  return decode(r.v, out);
}

}  // namespace chorus::rpc
