#include "rpc/protocol.hpp"

#include <array>
#include <type_traits>
#include <utility>

#include "agent/serf/go_structs.hpp"
#include "swim/msgpack_struct.hpp"

namespace chorus::rpc {

// ---------------------------------------------------------------------------
// Command table (serf-rpc.md section 4)

namespace {

using none = std::monostate;  // as in request_body: the command takes no body

// Decodes a request body of type T into `out`.
template <class T>
std::string decode_body(msgpack::byte_view body, request_body& out) {
  if constexpr (std::is_same_v<T, none>) {
    return body.empty() ? std::string() : std::string("this command takes no body");
  } else {
    T v;
    auto e = decode_bytes(body, v);
    if (e.empty()) out = std::move(v);
    return e;
  }
}

using body_decoder = std::string (*)(msgpack::byte_view, request_body&);

struct command_info {
  command c;
  std::string_view name;
  body_decoder request_body;  // decode_body<none>: the command takes none
  bool response_body;
  bool streaming;
};

constexpr std::array<command_info, 21> command_table{{
    {command::handshake, "handshake", decode_body<handshake_request>, false, false},
    {command::auth, "auth", decode_body<auth_request>, false, false},
    {command::event, "event", decode_body<event_request>, false, false},
    {command::force_leave, "force-leave", decode_body<force_leave_request>, false, false},
    {command::join, "join", decode_body<join_request>, true, false},
    {command::members, "members", decode_body<none>, true, false},
    {command::members_filtered, "members-filtered", decode_body<members_filtered_request>, true, false},
    {command::tags, "tags", decode_body<tags_request>, false, false},
    {command::stream, "stream", decode_body<stream_request>, false, true},
    {command::monitor, "monitor", decode_body<monitor_request>, false, true},
    {command::stop, "stop", decode_body<stop_request>, false, false},
    {command::leave, "leave", decode_body<none>, false, false},
    {command::query, "query", decode_body<query_request>, false, true},
    {command::respond, "respond", decode_body<respond_request>, false, false},
    {command::install_key, "install-key", decode_body<key_request>, true, false},
    {command::use_key, "use-key", decode_body<key_request>, true, false},
    {command::remove_key, "remove-key", decode_body<key_request>, true, false},
    {command::list_keys, "list-keys", decode_body<none>, true, false},
    {command::stats, "stats", decode_body<none>, true, false},
    {command::get_coordinate, "get-coordinate", decode_body<get_coordinate_request>, true, false},
    {command::chorus_stats, "chorus-stats", decode_body<none>, true, false},
}};

const command_info& info(command c) { return command_table[static_cast<std::size_t>(c)]; }

}  // namespace

std::string_view command_name(command c) { return info(c).name; }

std::optional<command> parse_command(std::string_view name) {
  for (const auto& i : command_table)
    if (i.name == name) return i.c;
  return std::nullopt;
}

bool request_has_body(command c) { return info(c).request_body != decode_body<none>; }
bool response_has_body(command c) { return info(c).response_body; }
bool is_streaming(command c) { return info(c).streaming; }

bool reply_error_has_no_body(std::string_view error) {
  return error == errors::handshake_required || error == errors::auth_required || error == errors::unsupported_command;
}

// ---------------------------------------------------------------------------
// Codecs of the fields whose errors the replies word themselves (see
// msgpack_struct.hpp; the other fields' types choose theirs: std::optional
// is a value Go may send as nil).

namespace {

using msgpack::value;
using msgpack::writer;

// A container codec C with the messages a malformed reply has always got:
// `not_container` when the value is no K at all, `bad_element` when one of
// its elements is wrong.
template <class C, msgpack::kind K, const std::string_view& not_container, const std::string_view& bad_element>
struct worded : C {
  template <class T>
  static bool read(const value& v, T& out, std::string& why) {
    if (C::read(v, out, why)) return true;
    why = v.k == K ? bad_element : not_container;
    return false;
  }
};

constexpr std::string_view keys_not_map = "field Keys is not a map";
constexpr std::string_view keys_malformed = "field Keys is malformed";
using key_counts =
    worded<msgpack::codec<std::map<std::string, std::int64_t>>, msgpack::kind::map, keys_not_map, keys_malformed>;

constexpr std::string_view vec_not_array = "field Vec is not an array";
constexpr std::string_view vec_not_numbers = "field Vec holds a non-number";
using coordinate_vec =
    worded<msgpack::codec<std::vector<double>>, msgpack::kind::array, vec_not_array, vec_not_numbers>;

constexpr std::string_view stats_not_map = "stats is not a map";
constexpr std::string_view stats_malformed = "stats section is malformed";
using stats_codec = worded<msgpack::codec<stats_response>, msgpack::kind::map, stats_not_map, stats_malformed>;

// A members list names the member that failed: "member 3: field Port has
// the wrong type or is out of range". (Templates, so that they are compiled
// where member's table is known.)
struct member_list {
  template <class M>
  static void write(writer& w, const std::vector<M>& v) {
    msgpack::codec<std::vector<M>>::write(w, v);
  }
  template <class M>
  static bool read(const value& v, std::vector<M>& out, std::string& why) {
    out.clear();
    if (v.is_nil()) return true;
    if (!v.is_array()) {
      why = "field Members is not an array";
      return false;
    }
    out.resize(v.items.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
      why = msgpack::read_struct(v.items[i], out[i]);
      if (!why.empty()) {
        why = "member " + std::to_string(i) + ": " + why;
        return false;
      }
    }
    return true;
  }
};

// ---------------------------------------------------------------------------
// Every body's wire keys (serf-rpc.md 4), sorted as Go writes them. Member
// and Coordinate are the Go structs gossip carries too (go_structs.hpp).

using msgpack::field;
using msgpack::nullable;
using msgpack::table;

constexpr auto tables = std::tuple{
    table<request_header>(field("Command", &request_header::command), field("Seq", &request_header::seq)),
    table<response_header>(field("Error", &response_header::error), field("Seq", &response_header::seq)),
    table<handshake_request>(field("Version", &handshake_request::version)),
    table<auth_request>(field("AuthKey", &auth_request::auth_key)),
    table<event_request>(field("Coalesce", &event_request::coalesce), field("Name", &event_request::name),
                         field("Payload", &event_request::payload)),
    table<force_leave_request>(field("Node", &force_leave_request::node), field("Prune", &force_leave_request::prune)),
    table<join_request>(field("Existing", &join_request::existing), field("Replay", &join_request::replay)),
    table<members_filtered_request>(field("Name", &members_filtered_request::name),
                                    field("Status", &members_filtered_request::status),
                                    field("Tags", &members_filtered_request::tags)),
    table<tags_request>(field("DeleteTags", &tags_request::delete_tags), field("Tags", &tags_request::tags)),
    table<stream_request>(field("Type", &stream_request::type)),
    table<monitor_request>(field("LogLevel", &monitor_request::log_level)),
    table<stop_request>(field("Stop", &stop_request::stop)),
    table<query_request>(field("FilterNodes", &query_request::filter_nodes),
                         field("FilterTags", &query_request::filter_tags), field("Name", &query_request::name),
                         field("Payload", &query_request::payload), field("RelayFactor", &query_request::relay_factor),
                         field("RequestAck", &query_request::request_ack),
                         field("Timeout", &query_request::timeout_ns)),
    table<respond_request>(field("ID", &respond_request::id), field("Payload", &respond_request::payload)),
    table<key_request>(field("Key", &key_request::key)),
    table<get_coordinate_request>(field("Node", &get_coordinate_request::node)),
    agent::member_fields<member>(),
    table<join_response>(field("Num", &join_response::num)),
    table<members_response>(field<nullable<member_list>>("Members", &members_response::members)),
    table<key_response>(field<nullable<key_counts>>("Keys", &key_response::keys),
                        field("Messages", &key_response::messages), field("NumErr", &key_response::num_err),
                        field("NumNodes", &key_response::num_nodes), field("NumResp", &key_response::num_resp)),
    // Unknown node: a zero coordinate whose Vec is nil.
    agent::coordinate_fields<coordinate, nullable<coordinate_vec>>(),
    table<coordinate_response>(field("Coord", &coordinate_response::coord), field("Ok", &coordinate_response::ok)),
    table<member_event_record>(field("Event", &member_event_record::event),
                               field<member_list>("Members", &member_event_record::members)),
    // The Event the stream's records are told apart by (decode(event_record)).
    table<user_event_record>(field("Coalesce", &user_event_record::coalesce), msgpack::constant("Event", "user"),
                             field("LTime", &user_event_record::ltime), field("Name", &user_event_record::name),
                             field("Payload", &user_event_record::payload)),
    table<query_event_record>(msgpack::constant("Event", "query"), field("ID", &query_event_record::id),
                              field("LTime", &query_event_record::ltime), field("Name", &query_event_record::name),
                              field("Payload", &query_event_record::payload)),
    table<log_record>(field("Log", &log_record::log)),
    table<query_record>(field("From", &query_record::from), field("Payload", &query_record::payload),
                        field("Type", &query_record::type)),
};

template <class T>
void write_body(bytes& out, const T& v) {
  writer w(out, msgpack::flavor::rpc);
  msgpack::codec<T>::write(w, v);
}

}  // namespace

// Where msgpack::write_struct and read_struct look for a body's table.
template <msgpack::listed<decltype(tables)> S>
constexpr const auto& wire_fields(std::type_identity<S>) {
  return msgpack::table_of<S>(tables);
}

// ---------------------------------------------------------------------------
// Encoders and decoders: one table walk each.

void encode(bytes& out, const request_header& v) { write_body(out, v); }
void encode(bytes& out, const response_header& v) { write_body(out, v); }
void encode(bytes& out, const handshake_request& v) { write_body(out, v); }
void encode(bytes& out, const auth_request& v) { write_body(out, v); }
void encode(bytes& out, const event_request& v) { write_body(out, v); }
void encode(bytes& out, const force_leave_request& v) { write_body(out, v); }
void encode(bytes& out, const join_request& v) { write_body(out, v); }
void encode(bytes& out, const members_filtered_request& v) { write_body(out, v); }
void encode(bytes& out, const tags_request& v) { write_body(out, v); }
void encode(bytes& out, const stream_request& v) { write_body(out, v); }
void encode(bytes& out, const monitor_request& v) { write_body(out, v); }
void encode(bytes& out, const stop_request& v) { write_body(out, v); }
void encode(bytes& out, const query_request& v) { write_body(out, v); }
void encode(bytes& out, const respond_request& v) { write_body(out, v); }
void encode(bytes& out, const key_request& v) { write_body(out, v); }
void encode(bytes& out, const get_coordinate_request& v) { write_body(out, v); }
void encode(bytes& out, const member& v) { write_body(out, v); }
void encode(bytes& out, const join_response& v) { write_body(out, v); }
void encode(bytes& out, const members_response& v) { write_body(out, v); }
void encode(bytes& out, const key_response& v) { write_body(out, v); }
void encode(bytes& out, const stats_response& v) { write_body(out, v); }
void encode(bytes& out, const coordinate_response& v) { write_body(out, v); }
void encode(bytes& out, const member_event_record& v) { write_body(out, v); }
void encode(bytes& out, const user_event_record& v) { write_body(out, v); }
void encode(bytes& out, const query_event_record& v) { write_body(out, v); }
void encode(bytes& out, const log_record& v) { write_body(out, v); }
void encode(bytes& out, const query_record& v) { write_body(out, v); }

void encode(bytes& out, const event_record& v) {
  std::visit([&](const auto& r) { encode(out, r); }, v);
}

std::string decode(const value& in, request_header& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, response_header& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, handshake_request& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, auth_request& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, event_request& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, force_leave_request& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, join_request& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, members_filtered_request& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, tags_request& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, stream_request& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, monitor_request& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, stop_request& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, query_request& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, respond_request& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, key_request& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, get_coordinate_request& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, member& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, join_response& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, members_response& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, key_response& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, coordinate_response& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, member_event_record& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, user_event_record& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, query_event_record& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, log_record& out) { return msgpack::read_struct(in, out); }
std::string decode(const value& in, query_record& out) { return msgpack::read_struct(in, out); }

std::string decode(const value& in, stats_response& out) {
  std::string why;
  return stats_codec::read(in, out, why) ? std::string() : why;
}

namespace {

template <class R>
std::string decode_as(const value& in, event_record& out) {
  R r;
  auto e = decode(in, r);
  out = std::move(r);
  return e;
}

}  // namespace

std::string decode(const value& in, event_record& out) {
  msgpack::struct_reader r(in);
  std::string event;
  r.string_field("Event", event);
  if (!r.ok()) return r.error();
  if (event == "user") return decode_as<user_event_record>(in, out);
  if (event == "query") return decode_as<query_event_record>(in, out);
  if (event.empty()) return "stream record without an Event";
  return decode_as<member_event_record>(in, out);
}

std::string decode_request_body(command c, msgpack::byte_view body, request_body& out) {
  out = std::monostate{};
  return info(c).request_body(body, out);
}

}  // namespace chorus::rpc
