#include "agent/serf/codec.hpp"

#include <type_traits>
#include <utility>

#include "agent/serf/go_structs.hpp"
#include "agent/serf/lamport_clock.hpp"
#include "swim/msgpack_struct.hpp"

namespace chorus::agent {

namespace {

// A push/pull state holds a 512-slot event buffer plus one entry per member;
// this many values (~80 bytes each in the tree) is far above any real state
// and bounds what one hostile stream can make us allocate (~20 MiB).
constexpr msgpack::limits serf_limits{32, 1u << 18};

// ---------------------------------------------------------------------------
// Codecs of the fields Serf writes otherwise than their C++ type's default
// (see msgpack_struct.hpp).

// A Lamport time (serf.md 3). Receivers witness it (clock = time + 1), so a
// time of 2^64 - 1 would wrap the clock to 0 and every later event would be
// dropped as old (Serf 0.9 does exactly that). Clocks count up by one per
// event: half the range is more than any cluster reaches, and times above it
// are refused as malformed.
struct ltime {
  static void write(msgpack::writer& w, std::uint64_t t) { w.uint(t); }
  static bool read(const msgpack::value& v, std::uint64_t& out, std::string&) {
    return msgpack::as_uint(v, max_wire_ltime, out);
  }
};

// Go's time.Duration: signed nanoseconds.
struct go_duration {
  static void write(msgpack::writer& w, std::chrono::nanoseconds d) { w.sint(d.count()); }
  static bool read(const msgpack::value& v, std::chrono::nanoseconds& out, std::string&) {
    std::int64_t n = 0;
    if (!msgpack::as_int(v, n)) return false;
    out = std::chrono::nanoseconds(n);
    return true;
  }
};

// A query's filters: nil when there are none, else one byte string each.
// A string that does not decode is kept as an opaque filter (Serf: the
// query matches no one, but it is still valid); only an element that is no
// string at all makes the query malformed.
struct filter_list {
  static void write(msgpack::writer& w, const std::vector<query_filter>& filters) {
    if (filters.empty()) return w.nil();
    w.array_header(static_cast<std::uint32_t>(filters.size()));
    bytes one;
    for (const auto& f : filters) {
      one.clear();
      encode_filter(f, one);
      w.bin(one);
    }
  }
  static bool read(const msgpack::value& v, std::vector<query_filter>& out, std::string&) {
    out.clear();
    if (v.is_nil()) return true;
    if (!v.is_array()) return false;
    out.reserve(v.items.size());
    for (const auto& item : v.items) {
      if (item.k != msgpack::kind::str && item.k != msgpack::kind::bin && !item.is_nil()) return false;
      out.push_back(decode_filter(item.raw));  // nil: no bytes, an opaque "empty filter"
    }
    return true;
  }
};

template <class T>
decoded<T> fail(std::string what, std::size_t offset = 0) {
  decoded<T> d;
  d.error = decode_error{std::move(what), offset};
  return d;
}

// serf_message's alternatives are declared in type-byte order: emplaces the
// one of `type` (below variant_size).
template <std::size_t I = 0>
void emplace_alternative(serf_message& m, std::size_t type) {
  if constexpr (I < std::variant_size_v<serf_message>) {
    if (type == I)
      m.emplace<I>();
    else
      emplace_alternative<I + 1>(m, type);
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// Every struct's wire keys (serf.md 2 and 11), sorted as go-msgpack writes
// them. Serf builds Payload, Addr, IP and Keys from nil when they are empty,
// but LeftMembers, StatusLTimes and a member's Tags with make(): those go
// out as empty containers.

namespace {

using msgpack::field;
using msgpack::nil_if_empty;
using msgpack::table;

constexpr auto tables = std::tuple{
    table<leave_intent>(field<ltime>("LTime", &leave_intent::ltime), field("Node", &leave_intent::node),
                        field("Prune", &leave_intent::prune)),
    table<join_intent>(field<ltime>("LTime", &join_intent::ltime), field("Node", &join_intent::node)),
    table<user_event>(field("CC", &user_event::cc), field<ltime>("LTime", &user_event::ltime),
                      field("Name", &user_event::name), field<nil_if_empty<>>("Payload", &user_event::payload)),
    table<query>(field<nil_if_empty<>>("Addr", &query::addr), field<filter_list>("Filters", &query::filters),
                 field("Flags", &query::flags), field("ID", &query::id), field<ltime>("LTime", &query::ltime),
                 field("Name", &query::name), field<nil_if_empty<>>("Payload", &query::payload),
                 field("Port", &query::port), field("RelayFactor", &query::relay_factor),
                 field("SourceNode", &query::source_node), field<go_duration>("Timeout", &query::timeout)),
    table<query_response>(field("Flags", &query_response::flags), field("From", &query_response::from),
                          field("ID", &query_response::id), field<ltime>("LTime", &query_response::ltime),
                          field<nil_if_empty<>>("Payload", &query_response::payload)),
    // Serf decodes the key from base64, so even list-keys' empty key is a
    // non-nil empty slice: a0, not c0.
    table<key_request>(field("Key", &key_request::key)),
    table<key_response>(field<nil_if_empty<>>("Keys", &key_response::keys), field("Message", &key_response::message),
                        field("PrimaryKey", &key_response::primary_key), field("Result", &key_response::result)),
    // Go's relayHeader{DestAddr net.UDPAddr, DestName}, kept flat.
    table<relay_header>(msgpack::group("DestAddr", msgpack::fields(field<nil_if_empty<>>("IP", &relay_header::dest_ip),
                                                                   field("Port", &relay_header::dest_port),
                                                                   field("Zone", &relay_header::dest_zone))),
                        field("DestName", &relay_header::dest_name)),
    table<event_entry>(field("Name", &event_entry::name), field<nil_if_empty<>>("Payload", &event_entry::payload)),
    table<event_slot>(field("Events", &event_slot::events), field<ltime>("LTime", &event_slot::ltime)),
    // Events is the whole event buffer: nil slots stay nil.
    table<push_pull_state>(field<ltime>("EventLTime", &push_pull_state::event_ltime),
                           field("Events", &push_pull_state::events), field<ltime>("LTime", &push_pull_state::ltime),
                           field("LeftMembers", &push_pull_state::left_members),
                           field<ltime>("QueryLTime", &push_pull_state::query_ltime),
                           field<msgpack::map_of<ltime>>("StatusLTimes", &push_pull_state::status_ltimes)),
    member_fields<member_info, nil_if_empty<>>(),
    table<tag_filter>(field("Expr", &tag_filter::expr), field("Tag", &tag_filter::tag)),
};

}  // namespace

// Where msgpack::write_struct and read_struct look for a struct's table.
template <msgpack::listed<decltype(tables)> S>
constexpr const auto& wire_fields(std::type_identity<S>) {
  return msgpack::table_of<S>(tables);
}

namespace {

// ---------------------------------------------------------------------------
// Message bodies: the struct of most types, and the two that are more.

template <msgpack::described T>
void write_body(msgpack::writer& w, const T& m) {
  msgpack::write_struct(w, m);
}

// Nil when the responder does not know the name.
void write_body(msgpack::writer& w, const conflict_response& m) {
  msgpack::codec<std::optional<member_info>>::write(w, m.member);
}

void write_body(msgpack::writer& w, const relay& m) {
  msgpack::write_struct(w, m.header);
  w.raw(m.inner);
}

// Each reads the body `body` of the message `in` into `m`: "" or what was
// wrong, and `offset` where (it starts at 1, the struct).
template <msgpack::described T>
std::string read_body(std::span<const std::uint8_t>, const msgpack::read_result& body, T& m, std::size_t&) {
  return msgpack::read_struct(body.v, m);
}

std::string read_body(std::span<const std::uint8_t>, const msgpack::read_result& body, conflict_response& m,
                      std::size_t&) {
  std::string why;
  return msgpack::codec<std::optional<member_info>>::read(body.v, m.member, why) ? std::string() : why;
}

std::string read_body(std::span<const std::uint8_t> in, const msgpack::read_result& body, relay& m,
                      std::size_t& offset) {
  if (auto e = msgpack::read_struct(body.v, m.header); !e.empty()) return e;
  const auto inner = in.subspan(1 + body.consumed);
  if (inner.empty()) {
    offset = in.size();
    return "no inner message";
  }
  m.inner.assign(inner.begin(), inner.end());
  return {};
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
      std::string why;
      if (!msgpack::codec<std::vector<std::string>>::read(body.v, f.nodes, why))
        return opaque("node filter: expected an array of names");
      return f;
    }
    case static_cast<std::uint8_t>(filter_type::tag): {
      if (!body.ok()) return opaque("tag filter: " + body.error);
      tag_filter f;
      if (auto e = msgpack::read_struct(body.v, f); !e.empty()) return opaque("tag filter: " + e);
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
    msgpack::codec<std::vector<std::string>>::write(w, n->nodes);
  } else if (const auto* t = std::get_if<tag_filter>(&f)) {
    out.push_back(static_cast<std::uint8_t>(filter_type::tag));
    msgpack::write_struct(w, *t);
  } else {
    const auto& o = std::get<opaque_filter>(f);
    out.insert(out.end(), o.raw.begin(), o.raw.end());
  }
}

bool read_string_map(const msgpack::value& v, tag_map& out, std::string& error) {
  std::string why;
  if (msgpack::codec<tag_map>::read(v, out, why)) return true;
  error = v.is_map() ? "map entry is not a string pair" : "expected a map of strings";
  return false;
}

void write_string_map(msgpack::writer& w, const tag_map& m) { msgpack::codec<tag_map>::write(w, m); }

void write_member(msgpack::writer& w, const member_info& m) { msgpack::write_struct(w, m); }

bool read_member(const msgpack::value& v, member_info& m, std::string& error) {
  auto e = msgpack::read_struct(v, m);
  if (e.empty()) return true;
  error = std::move(e);
  return false;
}

decoded<serf_message> decode_serf_message(std::span<const std::uint8_t> in) {
  if (in.empty()) return fail<serf_message>("empty serf message");
  const std::uint8_t type = in[0];
  if (type >= std::variant_size_v<serf_message>)
    return fail<serf_message>("unknown serf message type " + std::to_string(type));
  const auto body = msgpack::read(in.subspan(1), serf_limits);
  if (!body.ok()) return fail<serf_message>(serf_type_name(type) + ": " + body.error, 1 + body.consumed);

  decoded<serf_message> d;
  emplace_alternative(d.value, type);
  std::size_t offset = 1;
  auto e = std::visit([&](auto& m) { return read_body(in, body, m, offset); }, d.value);
  if (!e.empty()) return fail<serf_message>(serf_type_name(type) + ": " + e, offset);
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
  msgpack::write_struct(w, h);
  w.raw(inner);
}

}  // namespace chorus::agent
