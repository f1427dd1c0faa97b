#include "agent/serf/codec.hpp"

#include <type_traits>

#include "agent/serf/lamport_clock.hpp"

namespace chorus::agent {

namespace {

// A push/pull state holds a 512-slot event buffer plus one entry per member;
// this many values (~80 bytes each in the tree) is far above any real state
// and bounds what one hostile stream can make us allocate (~20 MiB).
constexpr msgpack::limits serf_limits{32, 1u << 18};

// ---------------------------------------------------------------------------
// Writing helpers: go-msgpack writes nil slices as nil and empty non-nil
// slices as empty strings/arrays. Serf's nil-ness per field is noted where
// it is not "empty = nil".

void put_bytes_or_nil(msgpack::writer& w, const bytes& b) {
  if (b.empty())
    w.nil();
  else
    w.bin(b);
}

void put_strings(msgpack::writer& w, const std::vector<std::string>& v) {
  w.array_header(static_cast<std::uint32_t>(v.size()));
  for (const auto& s : v) w.str(s);
}

// ---------------------------------------------------------------------------
// Reading helpers.

bool read_strings(const msgpack::value& v, std::vector<std::string>& out) {
  out.clear();
  if (v.is_nil()) return true;
  if (!v.is_array()) return false;
  out.resize(v.items.size());
  for (std::size_t i = 0; i < v.items.size(); ++i)
    if (!msgpack::as_string(v.items[i], out[i])) return false;
  return true;
}

// A Lamport time (serf.md 3). Receivers witness it (clock = time + 1), so a
// time of 2^64 - 1 would wrap the clock to 0 and every later event would be
// dropped as old (Serf 0.9 does exactly that). Clocks count up by one per
// event: half the range is more than any cluster reaches, and times above it
// are refused as malformed.
void ltime_field(msgpack::struct_reader& r, std::string_view key, std::uint64_t& out) {
  std::uint64_t t = 0;
  r.unsigned_field(key, t);
  if (t > max_wire_ltime)
    r.fail(key);
  else
    out = t;
}

template <class T>
decoded<T> fail(std::string what, std::size_t offset = 0) {
  decoded<T> d;
  d.error = decode_error{std::move(what), offset};
  return d;
}

// ---------------------------------------------------------------------------
// Per-type fields.

void fields(msgpack::struct_reader& r, leave_intent& m) {
  ltime_field(r, "LTime", m.ltime);
  r.string_field("Node", m.node);
  r.bool_field("Prune", m.prune);
}

void fields(msgpack::struct_reader& r, join_intent& m) {
  ltime_field(r, "LTime", m.ltime);
  r.string_field("Node", m.node);
}

void fields(msgpack::struct_reader& r, user_event& m) {
  r.bool_field("CC", m.cc);
  ltime_field(r, "LTime", m.ltime);
  r.string_field("Name", m.name);
  r.bytes_field("Payload", m.payload);
}

void fields(msgpack::struct_reader& r, query& m) {
  r.bytes_field("Addr", m.addr);
  if (const msgpack::value* f = r.lookup("Filters")) {
    if (f->is_array()) {
      m.filters.reserve(f->items.size());
      for (const auto& item : f->items) {
        if (item.k == msgpack::kind::str || item.k == msgpack::kind::bin)
          m.filters.push_back(decode_filter(item.raw));
        else if (item.is_nil())
          m.filters.push_back(decode_filter({}));
        else
          r.fail("Filters");
      }
    } else if (!f->is_nil()) {
      r.fail("Filters");
    }
  }
  r.unsigned_field("Flags", m.flags);
  r.unsigned_field("ID", m.id);
  ltime_field(r, "LTime", m.ltime);
  r.string_field("Name", m.name);
  r.bytes_field("Payload", m.payload);
  r.unsigned_field("Port", m.port);
  r.unsigned_field("RelayFactor", m.relay_factor);
  r.string_field("SourceNode", m.source_node);
  std::int64_t timeout = 0;
  r.int_field("Timeout", timeout);
  m.timeout = std::chrono::nanoseconds(timeout);
}

void fields(msgpack::struct_reader& r, query_response& m) {
  r.unsigned_field("Flags", m.flags);
  r.string_field("From", m.from);
  r.unsigned_field("ID", m.id);
  ltime_field(r, "LTime", m.ltime);
  r.bytes_field("Payload", m.payload);
}

void fields(msgpack::struct_reader& r, key_request& m) { r.bytes_field("Key", m.key); }

void fields(msgpack::struct_reader& r, key_response& m) {
  if (const msgpack::value* k = r.lookup("Keys"); k && !read_strings(*k, m.keys)) r.fail("Keys");
  r.string_field("Message", m.message);
  r.string_field("PrimaryKey", m.primary_key);
  r.bool_field("Result", m.result);
}

bool read_event_slot(const msgpack::value& v, event_slot& out) {
  msgpack::struct_reader r(v);
  ltime_field(r, "LTime", out.ltime);
  if (const msgpack::value* evs = r.lookup("Events")) {
    if (evs->is_array()) {
      out.events.resize(evs->items.size());
      for (std::size_t i = 0; i < evs->items.size(); ++i) {
        msgpack::struct_reader er(evs->items[i]);
        er.string_field("Name", out.events[i].name);
        er.bytes_field("Payload", out.events[i].payload);
        if (!er.ok()) return false;
      }
    } else if (!evs->is_nil()) {
      return false;
    }
  }
  return r.ok();
}

void fields(msgpack::struct_reader& r, push_pull_state& m) {
  ltime_field(r, "EventLTime", m.event_ltime);
  if (const msgpack::value* evs = r.lookup("Events")) {
    if (evs->is_array()) {
      m.events.resize(evs->items.size());
      for (std::size_t i = 0; i < evs->items.size(); ++i) {
        if (evs->items[i].is_nil()) continue;
        event_slot slot;
        if (!read_event_slot(evs->items[i], slot)) {
          r.fail("Events");
          break;
        }
        m.events[i] = std::move(slot);
      }
    } else if (!evs->is_nil()) {
      r.fail("Events");
    }
  }
  ltime_field(r, "LTime", m.ltime);
  if (const msgpack::value* left = r.lookup("LeftMembers"); left && !read_strings(*left, m.left_members))
    r.fail("LeftMembers");
  ltime_field(r, "QueryLTime", m.query_ltime);
  if (const msgpack::value* st = r.lookup("StatusLTimes")) {
    if (st->is_map()) {
      for (std::size_t i = 0; i + 1 < st->items.size(); i += 2) {
        std::string name;
        std::uint64_t t = 0;
        if (!msgpack::as_string(st->items[i], name) || !msgpack::as_uint(st->items[i + 1], max_wire_ltime, t)) {
          r.fail("StatusLTimes");
          break;
        }
        m.status_ltimes[std::move(name)] = t;
      }
    } else if (!st->is_nil()) {
      r.fail("StatusLTimes");
    }
  }
}

bool read_relay_header(const msgpack::value& v, relay_header& h, std::string& error) {
  msgpack::struct_reader r(v);
  if (const msgpack::value* dest = r.lookup("DestAddr")) {
    msgpack::struct_reader dr(*dest);
    dr.bytes_field("IP", h.dest_ip);
    dr.unsigned_field("Port", h.dest_port);
    dr.string_field("Zone", h.dest_zone);
    if (!dr.ok()) {
      error = "DestAddr: " + dr.error();
      return false;
    }
  }
  r.string_field("DestName", h.dest_name);
  if (!r.ok()) error = r.error();
  return r.ok();
}

// ---------------------------------------------------------------------------
// Encoding.

void write_body(msgpack::writer& w, const leave_intent& m) {
  w.map_header(3);
  w.str("LTime");
  w.uint(m.ltime);
  w.str("Node");
  w.str(m.node);
  w.str("Prune");
  w.boolean(m.prune);
}

void write_body(msgpack::writer& w, const join_intent& m) {
  w.map_header(2);
  w.str("LTime");
  w.uint(m.ltime);
  w.str("Node");
  w.str(m.node);
}

void write_body(msgpack::writer& w, const user_event& m) {
  w.map_header(4);
  w.str("CC");
  w.boolean(m.cc);
  w.str("LTime");
  w.uint(m.ltime);
  w.str("Name");
  w.str(m.name);
  w.str("Payload");
  put_bytes_or_nil(w, m.payload);
}

void write_body(msgpack::writer& w, const query& m) {
  w.map_header(11);
  w.str("Addr");
  put_bytes_or_nil(w, m.addr);
  w.str("Filters");
  if (m.filters.empty()) {
    w.nil();
  } else {
    w.array_header(static_cast<std::uint32_t>(m.filters.size()));
    bytes one;
    for (const auto& f : m.filters) {
      one.clear();
      encode_filter(f, one);
      w.bin(one);
    }
  }
  w.str("Flags");
  w.uint(m.flags);
  w.str("ID");
  w.uint(m.id);
  w.str("LTime");
  w.uint(m.ltime);
  w.str("Name");
  w.str(m.name);
  w.str("Payload");
  put_bytes_or_nil(w, m.payload);
  w.str("Port");
  w.uint(m.port);
  w.str("RelayFactor");
  w.uint(m.relay_factor);
  w.str("SourceNode");
  w.str(m.source_node);
  w.str("Timeout");
  w.sint(m.timeout.count());
}

void write_body(msgpack::writer& w, const query_response& m) {
  w.map_header(5);
  w.str("Flags");
  w.uint(m.flags);
  w.str("From");
  w.str(m.from);
  w.str("ID");
  w.uint(m.id);
  w.str("LTime");
  w.uint(m.ltime);
  w.str("Payload");
  put_bytes_or_nil(w, m.payload);
}

void write_body(msgpack::writer& w, const conflict_response& m) {
  if (m.member)
    write_member(w, *m.member);
  else
    w.nil();
}

void write_body(msgpack::writer& w, const key_request& m) {
  w.map_header(1);
  w.str("Key");
  // Serf decodes the key from base64, so even list-keys' empty key is a
  // non-nil empty slice: a0, not c0.
  w.bin(m.key);
}

void write_body(msgpack::writer& w, const key_response& m) {
  w.map_header(4);
  w.str("Keys");
  if (m.keys.empty())
    w.nil();
  else
    put_strings(w, m.keys);
  w.str("Message");
  w.str(m.message);
  w.str("PrimaryKey");
  w.str(m.primary_key);
  w.str("Result");
  w.boolean(m.result);
}

void write_relay_header(msgpack::writer& w, const relay_header& h) {
  w.map_header(2);
  w.str("DestAddr");
  w.map_header(3);
  w.str("IP");
  put_bytes_or_nil(w, h.dest_ip);
  w.str("Port");
  w.uint(h.dest_port);
  w.str("Zone");
  w.str(h.dest_zone);
  w.str("DestName");
  w.str(h.dest_name);
}

void write_body(msgpack::writer& w, const relay& m) {
  write_relay_header(w, m.header);
  w.raw(m.inner);
}

void write_body(msgpack::writer& w, const push_pull_state& m) {
  w.map_header(6);
  w.str("EventLTime");
  w.uint(m.event_ltime);
  w.str("Events");
  w.array_header(static_cast<std::uint32_t>(m.events.size()));
  for (const auto& slot : m.events) {
    if (!slot) {
      w.nil();
      continue;
    }
    w.map_header(2);
    w.str("Events");
    w.array_header(static_cast<std::uint32_t>(slot->events.size()));
    for (const auto& e : slot->events) {
      w.map_header(2);
      w.str("Name");
      w.str(e.name);
      w.str("Payload");
      put_bytes_or_nil(w, e.payload);
    }
    w.str("LTime");
    w.uint(slot->ltime);
  }
  w.str("LTime");
  w.uint(m.ltime);
  // Serf builds both from make(): empty array / empty map, never nil.
  w.str("LeftMembers");
  put_strings(w, m.left_members);
  w.str("QueryLTime");
  w.uint(m.query_ltime);
  w.str("StatusLTimes");
  w.map_header(static_cast<std::uint32_t>(m.status_ltimes.size()));
  for (const auto& [name, t] : m.status_ltimes) {
    w.str(name);
    w.uint(t);
  }
}

}  // namespace

std::string serf_type_name(std::uint8_t type) {
  static constexpr const char* names[] = {"leave",       "join",          "pushPull",         "userEvent",
                                          "query",       "queryResponse", "conflictResponse", "keyRequest",
                                          "keyResponse", "relay"};
  if (type < std::size(names)) return names[type];
  return "unknown(" + std::to_string(type) + ")";
}

query_filter decode_filter(std::span<const std::uint8_t> raw) {
  auto opaque = [&](std::string why) {
    return query_filter{opaque_filter{bytes(raw.begin(), raw.end()), std::move(why)}};
  };
  if (raw.empty()) return opaque("empty filter");
  const auto body = msgpack::read(raw.subspan(1), serf_limits);
  switch (raw[0]) {
    case static_cast<std::uint8_t>(filter_type::node): {
      if (!body.ok()) return opaque("node filter: " + body.error);
      node_filter f;
      if (!read_strings(body.v, f.nodes)) return opaque("node filter: expected an array of names");
      return f;
    }
    case static_cast<std::uint8_t>(filter_type::tag): {
      if (!body.ok()) return opaque("tag filter: " + body.error);
      tag_filter f;
      msgpack::struct_reader r(body.v);
      r.string_field("Expr", f.expr);
      r.string_field("Tag", f.tag);
      if (!r.ok()) return opaque("tag filter: " + r.error());
      return f;
    }
    default:
      return opaque("unknown filter type " + std::to_string(raw[0]));
  }
}

void encode_filter(const query_filter& f, bytes& out) {
  msgpack::writer w(out);
  if (const auto* n = std::get_if<node_filter>(&f)) {
    out.push_back(static_cast<std::uint8_t>(filter_type::node));
    put_strings(w, n->nodes);
  } else if (const auto* t = std::get_if<tag_filter>(&f)) {
    out.push_back(static_cast<std::uint8_t>(filter_type::tag));
    w.map_header(2);
    w.str("Expr");
    w.str(t->expr);
    w.str("Tag");
    w.str(t->tag);
  } else {
    const auto& o = std::get<opaque_filter>(f);
    out.insert(out.end(), o.raw.begin(), o.raw.end());
  }
}

bool read_string_map(const msgpack::value& v, tag_map& out, std::string& error) {
  out.clear();
  if (v.is_nil()) return true;
  if (!v.is_map()) {
    error = "expected a map of strings";
    return false;
  }
  for (std::size_t i = 0; i + 1 < v.items.size(); i += 2) {
    std::string key;
    std::string value;
    if (!msgpack::as_string(v.items[i], key) || !msgpack::as_string(v.items[i + 1], value)) {
      error = "map entry is not a string pair";
      return false;
    }
    out[std::move(key)] = std::move(value);
  }
  return true;
}

void write_string_map(msgpack::writer& w, const tag_map& m) {
  w.map_header(static_cast<std::uint32_t>(m.size()));
  for (const auto& [k, v] : m) {
    w.str(k);
    w.str(v);
  }
}

void write_member(msgpack::writer& w, const member_info& m) {
  w.map_header(11);
  w.str("Addr");
  put_bytes_or_nil(w, m.addr);
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
  w.uint(static_cast<std::uint8_t>(m.status));
  w.str("Tags");
  write_string_map(w, m.tags);
}

bool read_member(const msgpack::value& v, member_info& m, std::string& error) {
  msgpack::struct_reader r(v);
  r.bytes_field("Addr", m.addr);
  r.unsigned_field("DelegateCur", m.delegate_cur);
  r.unsigned_field("DelegateMax", m.delegate_max);
  r.unsigned_field("DelegateMin", m.delegate_min);
  r.string_field("Name", m.name);
  r.unsigned_field("Port", m.port);
  r.unsigned_field("ProtocolCur", m.protocol_cur);
  r.unsigned_field("ProtocolMax", m.protocol_max);
  r.unsigned_field("ProtocolMin", m.protocol_min);
  std::uint8_t status = 0;
  r.unsigned_field("Status", status);
  m.status = static_cast<member_status>(status);
  if (const msgpack::value* t = r.lookup("Tags")) {
    std::string e;
    if (!read_string_map(*t, m.tags, e)) r.fail("Tags");
  }
  if (!r.ok()) error = r.error();
  return r.ok();
}

decoded<serf_message> decode_serf_message(std::span<const std::uint8_t> in) {
  if (in.empty()) return fail<serf_message>("empty serf message");
  const std::uint8_t type = in[0];
  if (type > static_cast<std::uint8_t>(serf_message_type::relay))
    return fail<serf_message>("unknown serf message type " + std::to_string(type));
  const auto body = msgpack::read(in.subspan(1), serf_limits);
  if (!body.ok()) return fail<serf_message>(serf_type_name(type) + ": " + body.error, 1 + body.consumed);

  decoded<serf_message> d;
  auto read_struct = [&](auto& m) {
    msgpack::struct_reader r(body.v);
    fields(r, m);
    if (!r.ok()) d.error = decode_error{serf_type_name(type) + ": " + r.error(), 1};
  };
  switch (static_cast<serf_message_type>(type)) {
    case serf_message_type::leave:
      read_struct(d.value.emplace<leave_intent>());
      break;
    case serf_message_type::join:
      read_struct(d.value.emplace<join_intent>());
      break;
    case serf_message_type::push_pull:
      read_struct(d.value.emplace<push_pull_state>());
      break;
    case serf_message_type::user_event:
      read_struct(d.value.emplace<user_event>());
      break;
    case serf_message_type::query:
      read_struct(d.value.emplace<query>());
      break;
    case serf_message_type::query_response:
      read_struct(d.value.emplace<query_response>());
      break;
    case serf_message_type::conflict_response: {
      auto& m = d.value.emplace<conflict_response>();
      if (!body.v.is_nil()) {
        std::string e;
        if (!read_member(body.v, m.member.emplace(), e)) d.error = decode_error{"conflictResponse: " + e, 1};
      }
      break;
    }
    case serf_message_type::key_request:
      read_struct(d.value.emplace<key_request>());
      break;
    case serf_message_type::key_response:
      read_struct(d.value.emplace<key_response>());
      break;
    case serf_message_type::relay: {
      auto& m = d.value.emplace<relay>();
      std::string e;
      if (!read_relay_header(body.v, m.header, e)) {
        d.error = decode_error{"relay: " + e, 1};
        break;
      }
      const auto inner = in.subspan(1 + body.consumed);
      if (inner.empty()) {
        d.error = decode_error{"relay: no inner message", in.size()};
        break;
      }
      m.inner.assign(inner.begin(), inner.end());
      break;
    }
  }
  if (!d.ok()) d.value = serf_message{};
  return d;
}

void encode(const serf_message& m, bytes& out) {
  out.push_back(static_cast<std::uint8_t>(m.index()));
  msgpack::writer w(out);
  std::visit([&](const auto& body) { write_body(w, body); }, m);
}

bytes encode(const serf_message& m) {
  bytes out;
  encode(m, out);
  return out;
}

void encode_relay(const relay_header& h, std::span<const std::uint8_t> inner, bytes& out) {
  out.push_back(static_cast<std::uint8_t>(serf_message_type::relay));
  msgpack::writer w(out);
  write_relay_header(w, h);
  w.raw(inner);
}

}  // namespace chorus::agent
