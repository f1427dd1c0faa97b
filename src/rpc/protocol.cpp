#include "rpc/protocol.hpp"

#include <array>
#include <limits>
#include <utility>

namespace chorus::rpc {

// ---------------------------------------------------------------------------
// Command table (serf-rpc.md section 4)

namespace {

struct command_info {
  command c;
  std::string_view name;
  bool request_body;
  bool response_body;
  bool streaming;
};

constexpr std::array<command_info, 21> command_table{{
    {command::handshake, "handshake", true, false, false},
    {command::auth, "auth", true, false, false},
    {command::event, "event", true, false, false},
    {command::force_leave, "force-leave", true, false, false},
    {command::join, "join", true, true, false},
    {command::members, "members", false, true, false},
    {command::members_filtered, "members-filtered", true, true, false},
    {command::tags, "tags", true, false, false},
    {command::stream, "stream", true, false, true},
    {command::monitor, "monitor", true, false, true},
    {command::stop, "stop", true, false, false},
    {command::leave, "leave", false, false, false},
    {command::query, "query", true, false, true},
    {command::respond, "respond", true, false, false},
    {command::install_key, "install-key", true, true, false},
    {command::use_key, "use-key", true, true, false},
    {command::remove_key, "remove-key", true, true, false},
    {command::list_keys, "list-keys", false, true, false},
    {command::stats, "stats", false, true, false},
    {command::get_coordinate, "get-coordinate", true, true, false},
    {command::chorus_stats, "chorus-stats", false, true, false},
}};

const command_info& info(command c) { return command_table[static_cast<std::size_t>(c)]; }

}  // namespace

std::string_view command_name(command c) { return info(c).name; }

std::optional<command> parse_command(std::string_view name) {
  for (const auto& i : command_table)
    if (i.name == name) return i.c;
  return std::nullopt;
}

bool request_has_body(command c) { return info(c).request_body; }
bool response_has_body(command c) { return info(c).response_body; }
bool is_streaming(command c) { return info(c).streaming; }

bool reply_error_has_no_body(std::string_view error) {
  return error == errors::handshake_required || error == errors::auth_required || error == errors::unsupported_command;
}

// ---------------------------------------------------------------------------
// Encoding helpers

namespace {

using msgpack::value;
using msgpack::writer;

void put_bytes(writer& w, const bytes& b) { w.bin(b); }

void put_bytes(writer& w, const std::optional<bytes>& b) {
  if (b)
    w.bin(*b);
  else
    w.nil();
}

void put_strings(writer& w, const std::optional<std::vector<std::string>>& v) {
  if (!v) return w.nil();
  w.array_header(static_cast<std::uint32_t>(v->size()));
  for (const auto& s : *v) w.str(s);
}

void put_string_map(writer& w, const string_map& m) {
  w.map_header(static_cast<std::uint32_t>(m.size()));
  for (const auto& [k, v] : m) {
    w.str(k);
    w.str(v);
  }
}

void put_string_map(writer& w, const std::optional<string_map>& m) {
  if (m)
    put_string_map(w, *m);
  else
    w.nil();
}

void put_member(writer& w, const member& m) {
  w.map_header(11);
  w.str("Addr");
  put_bytes(w, m.addr);
  w.str("DelegateCur");
  w.uint(m.delegate_cur);
  w.str("DelegateMax");
  w.uint(m.delegate_max);
  w.str("DelegateMin");
  w.uint(m.delegate_min);
  w.str("Name");
  w.str(m.name);
  w.str("Port");
  w.uint(m.port);
  w.str("ProtocolCur");
  w.uint(m.protocol_cur);
  w.str("ProtocolMax");
  w.uint(m.protocol_max);
  w.str("ProtocolMin");
  w.uint(m.protocol_min);
  w.str("Status");
  w.str(m.status);
  w.str("Tags");
  put_string_map(w, m.tags);
}

void put_members(writer& w, const std::vector<member>& ms) {
  w.array_header(static_cast<std::uint32_t>(ms.size()));
  for (const auto& m : ms) put_member(w, m);
}

// ---------------------------------------------------------------------------
// Decoding helpers on top of msgpack::struct_reader

void opt_bytes(msgpack::struct_reader& r, std::string_view key, std::optional<bytes>& out) {
  out.reset();
  const value* v = r.lookup(key);
  if (!v || v->is_nil()) return;
  bytes b;
  if (!msgpack::as_bytes(*v, b)) return r.fail(key);
  out = std::move(b);
}

bool read_strings(const value& v, std::vector<std::string>& out) {
  if (!v.is_array()) return false;
  out.clear();
  out.reserve(v.items.size());
  for (const auto& item : v.items) {
    std::string s;
    if (!msgpack::as_string(item, s)) return false;
    out.push_back(std::move(s));
  }
  return true;
}

void opt_strings(msgpack::struct_reader& r, std::string_view key, std::optional<std::vector<std::string>>& out) {
  out.reset();
  const value* v = r.lookup(key);
  if (!v || v->is_nil()) return;
  std::vector<std::string> tmp;
  if (!read_strings(*v, tmp)) return r.fail(key);
  out = std::move(tmp);
}

bool read_string_map(const value& v, string_map& out) {
  out.clear();
  if (v.is_nil()) return true;
  if (!v.is_map()) return false;
  for (std::size_t i = 0; i + 1 < v.items.size(); i += 2) {
    std::string k, s;
    if (!msgpack::as_string(v.items[i], k) || !msgpack::as_string(v.items[i + 1], s)) return false;
    out.insert_or_assign(std::move(k), std::move(s));  // Go: a repeated key keeps the last value
  }
  return true;
}

void opt_string_map(msgpack::struct_reader& r, std::string_view key, std::optional<string_map>& out) {
  out.reset();
  const value* v = r.lookup(key);
  if (!v || v->is_nil()) return;
  string_map tmp;
  if (!read_string_map(*v, tmp)) return r.fail(key);
  out = std::move(tmp);
}

void int32_field(msgpack::struct_reader& r, std::string_view key, std::int32_t& out) {
  std::int64_t tmp = 0;
  r.int_field(key, tmp);
  if (tmp < std::numeric_limits<std::int32_t>::min() || tmp > std::numeric_limits<std::int32_t>::max())
    return r.fail(key);
  out = static_cast<std::int32_t>(tmp);
}

std::string finish(const msgpack::struct_reader& r) { return r.ok() ? std::string() : r.error(); }

// The many bodies that are a map of one string field ({AuthKey}, {Type}, ...).
void encode_one_string(bytes& out, std::string_view key, const std::string& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(1);
  w.str(key);
  w.str(v);
}

std::string decode_one_string(const value& in, std::string_view key, std::string& out) {
  msgpack::struct_reader r(in);
  out.clear();
  r.string_field(key, out);
  return finish(r);
}

std::string decode_members(const value* v, std::vector<member>& out) {
  out.clear();
  if (!v || v->is_nil()) return {};
  if (!v->is_array()) return "field Members is not an array";
  out.resize(v->items.size());
  for (std::size_t i = 0; i < v->items.size(); ++i)
    if (auto e = decode(v->items[i], out[i]); !e.empty()) return "member " + std::to_string(i) + ": " + e;
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------
// Encoders

void encode(bytes& out, const request_header& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(2);
  w.str("Command");
  w.str(v.command);
  w.str("Seq");
  w.uint(v.seq);
}

void encode(bytes& out, const response_header& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(2);
  w.str("Error");
  w.str(v.error);
  w.str("Seq");
  w.uint(v.seq);
}

void encode(bytes& out, const handshake_request& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(1);
  w.str("Version");
  w.sint(v.version);
}

void encode(bytes& out, const auth_request& v) { encode_one_string(out, "AuthKey", v.auth_key); }

void encode(bytes& out, const event_request& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(3);
  w.str("Coalesce");
  w.boolean(v.coalesce);
  w.str("Name");
  w.str(v.name);
  w.str("Payload");
  put_bytes(w, v.payload);
}

void encode(bytes& out, const force_leave_request& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(2);
  w.str("Node");
  w.str(v.node);
  w.str("Prune");
  w.boolean(v.prune);
}

void encode(bytes& out, const join_request& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(2);
  w.str("Existing");
  put_strings(w, v.existing);
  w.str("Replay");
  w.boolean(v.replay);
}

void encode(bytes& out, const members_filtered_request& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(3);
  w.str("Name");
  w.str(v.name);
  w.str("Status");
  w.str(v.status);
  w.str("Tags");
  put_string_map(w, v.tags);
}

void encode(bytes& out, const tags_request& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(2);
  w.str("DeleteTags");
  put_strings(w, v.delete_tags);
  w.str("Tags");
  put_string_map(w, v.tags);
}

void encode(bytes& out, const stream_request& v) { encode_one_string(out, "Type", v.type); }

void encode(bytes& out, const monitor_request& v) { encode_one_string(out, "LogLevel", v.log_level); }

void encode(bytes& out, const stop_request& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(1);
  w.str("Stop");
  w.uint(v.stop);
}

void encode(bytes& out, const query_request& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(7);
  w.str("FilterNodes");
  put_strings(w, v.filter_nodes);
  w.str("FilterTags");
  put_string_map(w, v.filter_tags);
  w.str("Name");
  w.str(v.name);
  w.str("Payload");
  put_bytes(w, v.payload);
  w.str("RelayFactor");
  w.uint(v.relay_factor);
  w.str("RequestAck");
  w.boolean(v.request_ack);
  w.str("Timeout");
  w.sint(v.timeout_ns);
}

void encode(bytes& out, const respond_request& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(2);
  w.str("ID");
  w.uint(v.id);
  w.str("Payload");
  put_bytes(w, v.payload);
}

void encode(bytes& out, const key_request& v) { encode_one_string(out, "Key", v.key); }

void encode(bytes& out, const get_coordinate_request& v) { encode_one_string(out, "Node", v.node); }

void encode(bytes& out, const member& v) {
  writer w(out, msgpack::flavor::rpc);
  put_member(w, v);
}

void encode(bytes& out, const join_response& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(1);
  w.str("Num");
  w.sint(v.num);
}

void encode(bytes& out, const members_response& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(1);
  w.str("Members");
  if (v.members)
    put_members(w, *v.members);
  else
    w.nil();
}

void encode(bytes& out, const key_response& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(5);
  w.str("Keys");
  if (v.keys) {
    w.map_header(static_cast<std::uint32_t>(v.keys->size()));
    for (const auto& [k, n] : *v.keys) {
      w.str(k);
      w.sint(n);
    }
  } else {
    w.nil();
  }
  w.str("Messages");
  put_string_map(w, v.messages);
  w.str("NumErr");
  w.sint(v.num_err);
  w.str("NumNodes");
  w.sint(v.num_nodes);
  w.str("NumResp");
  w.sint(v.num_resp);
}

void encode(bytes& out, const stats_response& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(static_cast<std::uint32_t>(v.size()));
  for (const auto& [section, m] : v) {
    w.str(section);
    put_string_map(w, m);
  }
}

void encode(bytes& out, const coordinate_response& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(2);
  w.str("Coord");
  w.map_header(4);
  w.str("Adjustment");
  w.float64(v.coord.adjustment);
  w.str("Error");
  w.float64(v.coord.error);
  w.str("Height");
  w.float64(v.coord.height);
  w.str("Vec");
  if (v.coord.vec) {
    w.array_header(static_cast<std::uint32_t>(v.coord.vec->size()));
    for (double d : *v.coord.vec) w.float64(d);
  } else {
    w.nil();
  }
  w.str("Ok");
  w.boolean(v.ok);
}

void encode(bytes& out, const member_event_record& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(2);
  w.str("Event");
  w.str(v.event);
  w.str("Members");
  put_members(w, v.members);
}

void encode(bytes& out, const user_event_record& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(5);
  w.str("Coalesce");
  w.boolean(v.coalesce);
  w.str("Event");
  w.str("user");
  w.str("LTime");
  w.uint(v.ltime);
  w.str("Name");
  w.str(v.name);
  w.str("Payload");
  put_bytes(w, v.payload);
}

void encode(bytes& out, const query_event_record& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(5);
  w.str("Event");
  w.str("query");
  w.str("ID");
  w.uint(v.id);
  w.str("LTime");
  w.uint(v.ltime);
  w.str("Name");
  w.str(v.name);
  w.str("Payload");
  put_bytes(w, v.payload);
}

void encode(bytes& out, const event_record& v) {
  std::visit([&](const auto& r) { encode(out, r); }, v);
}

void encode(bytes& out, const log_record& v) { encode_one_string(out, "Log", v.log); }

void encode(bytes& out, const query_record& v) {
  writer w(out, msgpack::flavor::rpc);
  w.map_header(3);
  w.str("From");
  w.str(v.from);
  w.str("Payload");
  put_bytes(w, v.payload);
  w.str("Type");
  w.str(v.type);
}

// ---------------------------------------------------------------------------
// Decoders

std::string decode(const value& in, request_header& out) {
  msgpack::struct_reader r(in);
  out = {};
  r.string_field("Command", out.command);
  r.unsigned_field("Seq", out.seq);
  return finish(r);
}

std::string decode(const value& in, response_header& out) {
  msgpack::struct_reader r(in);
  out = {};
  r.string_field("Error", out.error);
  r.unsigned_field("Seq", out.seq);
  return finish(r);
}

std::string decode(const value& in, handshake_request& out) {
  msgpack::struct_reader r(in);
  out.version = 0;
  int32_field(r, "Version", out.version);
  return finish(r);
}

std::string decode(const value& in, auth_request& out) { return decode_one_string(in, "AuthKey", out.auth_key); }

std::string decode(const value& in, event_request& out) {
  msgpack::struct_reader r(in);
  out = {};
  out.coalesce = false;
  r.bool_field("Coalesce", out.coalesce);
  r.string_field("Name", out.name);
  opt_bytes(r, "Payload", out.payload);
  return finish(r);
}

std::string decode(const value& in, force_leave_request& out) {
  msgpack::struct_reader r(in);
  out = {};
  r.string_field("Node", out.node);
  r.bool_field("Prune", out.prune);
  return finish(r);
}

std::string decode(const value& in, join_request& out) {
  msgpack::struct_reader r(in);
  out = {};
  opt_strings(r, "Existing", out.existing);
  r.bool_field("Replay", out.replay);
  return finish(r);
}

std::string decode(const value& in, members_filtered_request& out) {
  msgpack::struct_reader r(in);
  out = {};
  r.string_field("Name", out.name);
  r.string_field("Status", out.status);
  opt_string_map(r, "Tags", out.tags);
  return finish(r);
}

std::string decode(const value& in, tags_request& out) {
  msgpack::struct_reader r(in);
  out = {};
  opt_strings(r, "DeleteTags", out.delete_tags);
  opt_string_map(r, "Tags", out.tags);
  return finish(r);
}

std::string decode(const value& in, stream_request& out) { return decode_one_string(in, "Type", out.type); }

std::string decode(const value& in, monitor_request& out) { return decode_one_string(in, "LogLevel", out.log_level); }

std::string decode(const value& in, stop_request& out) {
  msgpack::struct_reader r(in);
  out = {};
  r.unsigned_field("Stop", out.stop);
  return finish(r);
}

std::string decode(const value& in, query_request& out) {
  msgpack::struct_reader r(in);
  out = {};
  opt_strings(r, "FilterNodes", out.filter_nodes);
  opt_string_map(r, "FilterTags", out.filter_tags);
  r.string_field("Name", out.name);
  opt_bytes(r, "Payload", out.payload);
  r.unsigned_field("RelayFactor", out.relay_factor);
  r.bool_field("RequestAck", out.request_ack);
  r.int_field("Timeout", out.timeout_ns);
  return finish(r);
}

std::string decode(const value& in, respond_request& out) {
  msgpack::struct_reader r(in);
  out = {};
  r.unsigned_field("ID", out.id);
  opt_bytes(r, "Payload", out.payload);
  return finish(r);
}

std::string decode(const value& in, key_request& out) { return decode_one_string(in, "Key", out.key); }

std::string decode(const value& in, get_coordinate_request& out) { return decode_one_string(in, "Node", out.node); }

std::string decode(const value& in, member& out) {
  msgpack::struct_reader r(in);
  out = {};
  r.bytes_field("Addr", out.addr);
  r.unsigned_field("DelegateCur", out.delegate_cur);
  r.unsigned_field("DelegateMax", out.delegate_max);
  r.unsigned_field("DelegateMin", out.delegate_min);
  r.string_field("Name", out.name);
  r.unsigned_field("Port", out.port);
  r.unsigned_field("ProtocolCur", out.protocol_cur);
  r.unsigned_field("ProtocolMax", out.protocol_max);
  r.unsigned_field("ProtocolMin", out.protocol_min);
  r.string_field("Status", out.status);
  opt_string_map(r, "Tags", out.tags);
  return finish(r);
}

std::string decode(const value& in, join_response& out) {
  msgpack::struct_reader r(in);
  out = {};
  int32_field(r, "Num", out.num);
  return finish(r);
}

std::string decode(const value& in, members_response& out) {
  msgpack::struct_reader r(in);
  out = {};
  if (!r.ok()) return r.error();
  const value* v = r.lookup("Members");
  if (!v || v->is_nil()) return {};
  out.members.emplace();
  return decode_members(v, *out.members);
}

std::string decode(const value& in, key_response& out) {
  msgpack::struct_reader r(in);
  out = {};
  if (const value* v = r.lookup("Keys"); v && !v->is_nil()) {
    if (!v->is_map()) return "field Keys is not a map";
    out.keys.emplace();
    for (std::size_t i = 0; i + 1 < v->items.size(); i += 2) {
      std::string k;
      std::int64_t n = 0;
      if (!msgpack::as_string(v->items[i], k) || !msgpack::as_int(v->items[i + 1], n)) return "field Keys is malformed";
      out.keys->insert_or_assign(std::move(k), n);
    }
  }
  opt_string_map(r, "Messages", out.messages);
  r.int_field("NumErr", out.num_err);
  r.int_field("NumNodes", out.num_nodes);
  r.int_field("NumResp", out.num_resp);
  return finish(r);
}

std::string decode(const value& in, stats_response& out) {
  out.clear();
  if (in.is_nil()) return {};
  if (!in.is_map()) return "stats is not a map";
  for (std::size_t i = 0; i + 1 < in.items.size(); i += 2) {
    std::string section;
    string_map m;
    if (!msgpack::as_string(in.items[i], section) || !read_string_map(in.items[i + 1], m))
      return "stats section is malformed";
    out.insert_or_assign(std::move(section), std::move(m));
  }
  return {};
}

std::string decode(const value& in, coordinate_response& out) {
  msgpack::struct_reader r(in);
  out = {};
  r.bool_field("Ok", out.ok);
  if (!r.ok()) return r.error();
  const value* c = r.lookup("Coord");
  if (!c || c->is_nil()) return {};
  msgpack::struct_reader cr(*c);
  cr.double_field("Adjustment", out.coord.adjustment);
  cr.double_field("Error", out.coord.error);
  cr.double_field("Height", out.coord.height);
  if (const value* v = cr.lookup("Vec"); v && !v->is_nil()) {
    if (!v->is_array()) return "field Vec is not an array";
    out.coord.vec.emplace();
    out.coord.vec->reserve(v->items.size());
    for (const auto& item : v->items) {
      double d = 0;
      if (!msgpack::as_double(item, d)) return "field Vec holds a non-number";
      out.coord.vec->push_back(d);
    }
  }
  return finish(cr);
}

std::string decode(const value& in, member_event_record& out) {
  msgpack::struct_reader r(in);
  out = {};
  r.string_field("Event", out.event);
  if (!r.ok()) return r.error();
  return decode_members(r.lookup("Members"), out.members);
}

std::string decode(const value& in, user_event_record& out) {
  msgpack::struct_reader r(in);
  out = {};
  r.bool_field("Coalesce", out.coalesce);
  r.unsigned_field("LTime", out.ltime);
  r.string_field("Name", out.name);
  opt_bytes(r, "Payload", out.payload);
  return finish(r);
}

std::string decode(const value& in, query_event_record& out) {
  msgpack::struct_reader r(in);
  out = {};
  r.unsigned_field("ID", out.id);
  r.unsigned_field("LTime", out.ltime);
  r.string_field("Name", out.name);
  opt_bytes(r, "Payload", out.payload);
  return finish(r);
}

std::string decode(const value& in, event_record& out) {
  msgpack::struct_reader r(in);
  std::string event;
  r.string_field("Event", event);
  if (!r.ok()) return r.error();
  if (event == "user") {
    user_event_record u;
    auto e = decode(in, u);
    out = std::move(u);
    return e;
  }
  if (event == "query") {
    query_event_record q;
    auto e = decode(in, q);
    out = std::move(q);
    return e;
  }
  if (event.empty()) return "stream record without an Event";
  member_event_record m;
  auto e = decode(in, m);
  out = std::move(m);
  return e;
}

std::string decode(const value& in, log_record& out) { return decode_one_string(in, "Log", out.log); }

std::string decode(const value& in, query_record& out) {
  msgpack::struct_reader r(in);
  out = {};
  r.string_field("From", out.from);
  opt_bytes(r, "Payload", out.payload);
  r.string_field("Type", out.type);
  return finish(r);
}

// ---------------------------------------------------------------------------
// Request bodies by command

namespace {

template <class T>
std::string decode_into(msgpack::byte_view body, request_body& out) {
  T v;
  auto e = decode_bytes(body, v);
  if (e.empty()) out = std::move(v);
  return e;
}

}  // namespace

std::string decode_request_body(command c, msgpack::byte_view body, request_body& out) {
  out = std::monostate{};
  switch (c) {
    case command::handshake:
      return decode_into<handshake_request>(body, out);
    case command::auth:
      return decode_into<auth_request>(body, out);
    case command::event:
      return decode_into<event_request>(body, out);
    case command::force_leave:
      return decode_into<force_leave_request>(body, out);
    case command::join:
      return decode_into<join_request>(body, out);
    case command::members_filtered:
      return decode_into<members_filtered_request>(body, out);
    case command::tags:
      return decode_into<tags_request>(body, out);
    case command::stream:
      return decode_into<stream_request>(body, out);
    case command::monitor:
      return decode_into<monitor_request>(body, out);
    case command::stop:
      return decode_into<stop_request>(body, out);
    case command::query:
      return decode_into<query_request>(body, out);
    case command::respond:
      return decode_into<respond_request>(body, out);
    case command::install_key:
    case command::use_key:
    case command::remove_key:
      return decode_into<key_request>(body, out);
    case command::get_coordinate:
      return decode_into<get_coordinate_request>(body, out);
    case command::members:
    case command::leave:
    case command::list_keys:
    case command::stats:
    case command::chorus_stats:
      return body.empty() ? std::string() : std::string("this command takes no body");
  }
  return "unknown command";
}

}  // namespace chorus::rpc
