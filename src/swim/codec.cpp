#include "swim/codec.hpp"

#include <array>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "swim/msgpack.hpp"

namespace chorus::swim {
namespace {

using msgpack::writer;

// go-msgpack writes a nil []byte as 0xc0; Serf never sends an empty non-nil
// slice in the fields below, so "empty" round-trips as nil.
void put_bytes(writer& w, const bytes& b) {
  if (b.empty())
    w.nil();
  else
    w.bin(b);
}

void put_key(writer& w, std::string_view k) { w.str(k); }

// Field count helpers for the omit-empty Source* fields (§4.1).
std::uint32_t source_fields(const bytes& addr, const std::string& node, std::uint16_t port) {
  return (addr.empty() ? 0u : 1u) + (node.empty() ? 0u : 1u) + (port == 0 ? 0u : 1u);
}

void put_source(writer& w, const bytes& addr, const std::string& node, std::uint16_t port) {
  if (!addr.empty()) {
    put_key(w, "SourceAddr");
    w.bin(addr);
  }
  if (!node.empty()) {
    put_key(w, "SourceNode");
    w.str(node);
  }
  if (port != 0) {
    put_key(w, "SourcePort");
    w.uint(port);
  }
}

// Keys in each body are written in ascending byte order (§2.1).
void body(writer& w, const ping& m) {
  w.map_header(2 + source_fields(m.source_addr, m.source_node, m.source_port));
  put_key(w, "Node");
  w.str(m.node);
  put_key(w, "SeqNo");
  w.uint(m.seq_no);
  put_source(w, m.source_addr, m.source_node, m.source_port);
}

void body(writer& w, const indirect_ping& m) {
  w.map_header(5 + source_fields(m.source_addr, m.source_node, m.source_port));
  put_key(w, "Nack");
  w.boolean(m.nack);
  put_key(w, "Node");
  w.str(m.node);
  put_key(w, "Port");
  w.uint(m.port);
  put_key(w, "SeqNo");
  w.uint(m.seq_no);
  put_source(w, m.source_addr, m.source_node, m.source_port);
  put_key(w, "Target");
  put_bytes(w, m.target);
}

void body(writer& w, const ack& m) {
  w.map_header(2);
  put_key(w, "Payload");
  put_bytes(w, m.payload);
  put_key(w, "SeqNo");
  w.uint(m.seq_no);
}

void body(writer& w, const nack& m) {
  w.map_header(1);
  put_key(w, "SeqNo");
  w.uint(m.seq_no);
}

template <class Accusation>
void accusation_body(writer& w, const Accusation& m) {
  w.map_header(3);
  put_key(w, "From");
  w.str(m.from);
  put_key(w, "Incarnation");
  w.uint(m.incarnation);
  put_key(w, "Node");
  w.str(m.node);
}
void body(writer& w, const suspect& m) { accusation_body(w, m); }
void body(writer& w, const dead& m) { accusation_body(w, m); }

void body(writer& w, const alive& m) {
  w.map_header(6);
  put_key(w, "Addr");
  put_bytes(w, m.addr);
  put_key(w, "Incarnation");
  w.uint(m.incarnation);
  put_key(w, "Meta");
  put_bytes(w, m.meta);
  put_key(w, "Node");
  w.str(m.node);
  put_key(w, "Port");
  w.uint(m.port);
  put_key(w, "Vsn");
  put_bytes(w, m.vsn);
}

void body(writer& w, const user& m) {
  // Not msgpack: the delegate's bytes follow the type byte as they are (§4.2).
  w.out().insert(w.out().end(), m.payload.begin(), m.payload.end());
}

void body(writer& w, const err& m) {
  w.map_header(1);
  put_key(w, "Error");
  w.str(m.error);
}

// --- decoding --------------------------------------------------------------

template <class T>
decoded<T> fail(decode_fault f, std::string what, std::size_t offset) {
  decoded<T> d;
  d.error = {f, offset, std::move(what)};
  return d;
}

// A msgpack value that did not read: cut short, or not msgpack.
decode_fault fault_of(const msgpack::read_result& r) {
  return r.truncated ? decode_fault::truncated : decode_fault::malformed;
}

void get_source(msgpack::struct_reader& r, bytes& addr, std::string& node, std::uint16_t& port) {
  r.bytes_field("SourceAddr", addr);
  r.string_field("SourceNode", node);
  r.unsigned_field("SourcePort", port);
}

void fields(msgpack::struct_reader& r, ping& m) {
  r.string_field("Node", m.node);
  r.unsigned_field("SeqNo", m.seq_no);
  get_source(r, m.source_addr, m.source_node, m.source_port);
}
void fields(msgpack::struct_reader& r, indirect_ping& m) {
  r.bool_field("Nack", m.nack);
  r.string_field("Node", m.node);
  r.unsigned_field("Port", m.port);
  r.unsigned_field("SeqNo", m.seq_no);
  get_source(r, m.source_addr, m.source_node, m.source_port);
  r.bytes_field("Target", m.target);
}
void fields(msgpack::struct_reader& r, ack& m) {
  r.bytes_field("Payload", m.payload);
  r.unsigned_field("SeqNo", m.seq_no);
}
void fields(msgpack::struct_reader& r, nack& m) { r.unsigned_field("SeqNo", m.seq_no); }
template <class Accusation>
void accusation_fields(msgpack::struct_reader& r, Accusation& m) {
  r.string_field("From", m.from);
  r.unsigned_field("Incarnation", m.incarnation);
  r.string_field("Node", m.node);
}
void fields(msgpack::struct_reader& r, suspect& m) { accusation_fields(r, m); }
void fields(msgpack::struct_reader& r, dead& m) { accusation_fields(r, m); }
void fields(msgpack::struct_reader& r, alive& m) {
  r.bytes_field("Addr", m.addr);
  r.unsigned_field("Incarnation", m.incarnation);
  r.bytes_field("Meta", m.meta);
  r.string_field("Node", m.node);
  r.unsigned_field("Port", m.port);
  r.bytes_field("Vsn", m.vsn);
}
void fields(msgpack::struct_reader& r, err& m) { r.string_field("Error", m.error); }

// Reads one msgpack struct from `body` into T. `base` is the offset of `body`
// in the caller's input, so errors point at the right byte.
template <class T>
decoded<message> read_struct(std::span<const std::uint8_t> body, std::size_t base, std::size_t* consumed) {
  auto r = msgpack::read(body);
  if (!r.ok())
    return fail<message>(fault_of(r), type_name(static_cast<std::uint8_t>(type_of(T{}))) + " body: " + r.error,
                         base + r.consumed);
  msgpack::struct_reader sr(r.v);
  T m;
  fields(sr, m);
  if (!sr.ok())
    return fail<message>(decode_fault::malformed,
                         type_name(static_cast<std::uint8_t>(type_of(T{}))) + ": " + sr.error(), base);
  if (consumed) *consumed = base + r.consumed;
  decoded<message> d;
  d.value = std::move(m);
  return d;
}

decoded<message> read_user(std::span<const std::uint8_t> body, std::size_t base, std::size_t* consumed) {
  decoded<message> d;
  d.value = user{bytes(body.begin(), body.end())};
  if (consumed) *consumed = base + body.size();
  return d;
}

// The body reader of each single-message type, indexed by type byte
// (messages.hpp); nullptr where the type is a packet or stream layer.
using body_reader = decoded<message> (*)(std::span<const std::uint8_t>, std::size_t, std::size_t*);
constexpr std::array<body_reader, 14> body_readers{
    &read_struct<ping>,
    &read_struct<indirect_ping>,
    &read_struct<ack>,
    &read_struct<suspect>,
    &read_struct<alive>,
    &read_struct<dead>,
    nullptr,  // push_pull: streams only (stream.hpp)
    nullptr,  // compound
    &read_user,
    nullptr,  // compress
    nullptr,  // encrypt
    &read_struct<nack>,
    nullptr,  // has_crc
    &read_struct<err>,
};
static_assert(static_cast<std::size_t>(message_type::err) + 1 == body_readers.size());

decoded<message> body_at(message_type type, std::span<const std::uint8_t> body, std::size_t base,
                         std::size_t* consumed) {
  const auto t = static_cast<std::size_t>(type);
  if (t < body_readers.size() && body_readers[t] != nullptr) return body_readers[t](body, base, consumed);
  const std::size_t at = base == 0 ? 0 : base - 1;  // the type byte, when the input has it
  if (t < body_readers.size() || type == message_type::has_label)
    return fail<message>(decode_fault::unknown_type,
                         type_name(static_cast<std::uint8_t>(t)) + " is a packet/stream layer, not a single message",
                         at);
  return fail<message>(decode_fault::unknown_type, "unknown message type " + std::to_string(t), at);
}

}  // namespace

message_type type_of(const message& m) {
  // By alternative, in the order of `message` (messages.hpp).
  static constexpr std::array<message_type, 9> types{
      message_type::ping,  message_type::indirect_ping, message_type::ack,  message_type::nack, message_type::suspect,
      message_type::alive, message_type::dead,          message_type::user, message_type::err};
  static_assert(std::variant_size_v<message> == types.size());
  return types[m.index()];
}

std::string type_name(std::uint8_t type) {
  // By type byte (messages.hpp), as memberlist.md §3 names them.
  static constexpr std::array<const char*, 14> names{"ping",    "indirectPing", "ack",      "suspect", "alive",
                                                     "dead",    "pushPull",     "compound", "user",    "compress",
                                                     "encrypt", "nack",         "hasCrc",   "err"};
  if (type < names.size()) return names[type];
  if (type == static_cast<std::uint8_t>(message_type::has_label)) return "hasLabel";
  return "unknown(" + std::to_string(type) + ")";
}

void encode(const message& m, bytes& out) {
  out.push_back(static_cast<std::uint8_t>(type_of(m)));
  writer w(out);
  std::visit([&](const auto& v) { body(w, v); }, m);
}

bytes encode(const message& m) {
  bytes out;
  encode(m, out);
  return out;
}

decoded<message> decode(std::span<const std::uint8_t> in) { return decode(in, nullptr); }

decoded<message> decode(std::span<const std::uint8_t> in, std::size_t* consumed) {
  if (in.empty()) return fail<message>(decode_fault::truncated, "empty message", 0);
  const std::uint8_t t = in[0];
  if (t > static_cast<std::uint8_t>(message_type::err) && t != static_cast<std::uint8_t>(message_type::has_label))
    return fail<message>(decode_fault::unknown_type, "unknown message type " + std::to_string(t), 0);
  return body_at(static_cast<message_type>(t), in.subspan(1), 1, consumed);
}

decoded<message> decode_body(message_type type, std::span<const std::uint8_t> body, std::size_t* consumed) {
  return body_at(type, body, 0, consumed);
}

void encode_compound(std::span<const bytes> parts, bytes& out) {
  // Broken caller invariants, not untrusted input: abort loudly.
  if (parts.empty() || parts.size() > max_compound_parts) std::abort();
  out.push_back(static_cast<std::uint8_t>(message_type::compound));
  out.push_back(static_cast<std::uint8_t>(parts.size()));
  for (const auto& p : parts) {
    if (p.size() > max_compound_part_len) std::abort();
    out.push_back(static_cast<std::uint8_t>(p.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(p.size()));
  }
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
}

decoded<compound_view> split_compound(std::span<const std::uint8_t> in) {
  if (in.empty() || in[0] != static_cast<std::uint8_t>(message_type::compound))
    return fail<compound_view>(decode_fault::unknown_type, "not a compound message", 0);
  if (in.size() < compound_header_len)
    return fail<compound_view>(decode_fault::truncated, "compound: missing part count", 1);
  decoded<compound_view> d;
  const std::size_t n = in[1];
  d.value.declared = n;
  // Unlike 0.2.2 (8-bit count*2), compute the length table size correctly.
  const std::size_t table_end = compound_header_len + n * compound_overhead_per_part;
  if (in.size() < table_end)
    return fail<compound_view>(decode_fault::truncated,
                               "compound: truncated length table (" + std::to_string(n) + " parts)", in.size());
  std::size_t pos = table_end;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t len = (std::size_t{in[compound_header_len + 2 * i]} << 8) | in[compound_header_len + 2 * i + 1];
    if (in.size() - pos < len) {
      d.value.truncated = n - i;
      break;
    }
    d.value.parts.push_back(in.subspan(pos, len));
    pos += len;
  }
  return d;
}

namespace {
// One pushNodeState is written in a single pass into a buffer sized up
// front: push/pull tables carry 7 keys and 7 values per node, 10^8 of them
// per 10,000-node exchange round, so the writer's per-byte appends showed.
// Same bytes as msgpack::writer (gossip flavour): raw-family headers for
// strings and byte slices, nil for an empty slice, smallest unsigned form.
struct flat_writer {
  std::uint8_t* p;
  void byte(std::uint8_t b) { *p++ = b; }
  void be(std::uint64_t v, int n) {
    for (int s = (n - 1) * 8; s >= 0; s -= 8) *p++ = static_cast<std::uint8_t>(v >> s);
  }
  template <std::size_t N>
  void key(const char (&k)[N]) {
    static_assert(N - 1 <= 31);
    *p++ = static_cast<std::uint8_t>(0xa0 | (N - 1));
    std::memcpy(p, k, N - 1);
    p += N - 1;
  }
  static std::size_t raw_size(std::size_t len) { return len + (len <= 31 ? 1 : len <= 0xffff ? 3 : 5); }
  void raw(const void* data, std::size_t len) {
    if (len <= 31) {
      byte(static_cast<std::uint8_t>(0xa0 | len));
    } else if (len <= 0xffff) {
      byte(0xda);
      be(len, 2);
    } else {
      byte(0xdb);
      be(len, 4);
    }
    if (len) std::memcpy(p, data, len);
    p += len;
  }
  static std::size_t bytes_size(const bytes& b) { return b.empty() ? 1 : raw_size(b.size()); }
  void bytes_or_nil(const bytes& b) {
    if (b.empty())
      byte(0xc0);
    else
      raw(b.data(), b.size());
  }
  static std::size_t uint_size(std::uint64_t v) { return 1 + static_cast<std::size_t>(msgpack::uint_form_of(v).len); }
  void uint(std::uint64_t v) {
    const auto f = msgpack::uint_form_of(v);
    byte(f.type);
    be(v, f.len);
  }
};
}  // namespace

std::size_t encoded_size(const push_node_state& s) {
  using fw = flat_writer;
  // 1 map header + 42 key bytes ("Addr" ... "Vsn" with their headers).
  return 1 + 42 + fw::bytes_size(s.addr) + fw::uint_size(s.incarnation) + fw::bytes_size(s.meta) +
         fw::raw_size(s.name.size()) + fw::uint_size(s.port) + fw::uint_size(static_cast<std::uint8_t>(s.state)) +
         fw::bytes_size(s.vsn);
}

void encode_push_node_state(const push_node_state& s, bytes& out) {
  using fw = flat_writer;
  const std::size_t size = encoded_size(s);
  const std::size_t at = out.size();
  out.resize(at + size);
  fw w{out.data() + at};
  w.byte(0x87);  // fixmap, 7 fields
  w.key("Addr");
  w.bytes_or_nil(s.addr);
  w.key("Incarnation");
  w.uint(s.incarnation);
  w.key("Meta");
  w.bytes_or_nil(s.meta);
  w.key("Name");
  w.raw(s.name.data(), s.name.size());
  w.key("Port");
  w.uint(s.port);
  w.key("State");
  w.uint(static_cast<std::uint8_t>(s.state));
  w.key("Vsn");
  w.bytes_or_nil(s.vsn);
  assert(w.p == out.data() + out.size());
}

namespace {
// The canonical pushNodeState (what go-msgpack and encode_push_node_state
// write: a fixmap of the seven fields in sorted key order, raw-family or nil
// byte fields, unsigned integers) read without building a value tree. Any
// other form returns false and goes through the general reader, which reads
// this form to the same result: this is only a shortcut.
class canonical_reader {
 public:
  explicit canonical_reader(std::span<const std::uint8_t> in) : in_(in) {}
  std::size_t pos() const { return pos_; }

  bool byte(std::uint8_t b) {
    if (pos_ >= in_.size() || in_[pos_] != b) return false;
    ++pos_;
    return true;
  }
  template <std::size_t N>
  bool key(const char (&k)[N]) {
    constexpr std::size_t n = N - 1;
    if (in_.size() - pos_ < n + 1 || in_[pos_] != (0xa0 | n) || std::memcmp(in_.data() + pos_ + 1, k, n) != 0)
      return false;
    pos_ += n + 1;
    return true;
  }
  // nil, str (fixstr, str8, str16) and, when `bin_ok`, bin8/bin16.
  bool raw(bool bin_ok, std::span<const std::uint8_t>& out) {
    if (pos_ >= in_.size()) return false;
    const std::uint8_t t = in_[pos_];
    std::size_t len = 0, head = 1;
    if (t == 0xc0) {
      out = {};
      ++pos_;
      return true;
    } else if (t >= 0xa0 && t <= 0xbf) {
      len = t & 0x1f;
    } else if (t == 0xd9 || (bin_ok && t == 0xc4)) {
      if (in_.size() - pos_ < 2) return false;
      len = in_[pos_ + 1];
      head = 2;
    } else if (t == 0xda || (bin_ok && t == 0xc5)) {
      if (in_.size() - pos_ < 3) return false;
      len = (std::size_t{in_[pos_ + 1]} << 8) | in_[pos_ + 2];
      head = 3;
    } else {
      return false;
    }
    if (in_.size() - pos_ - head < len) return false;
    out = in_.subspan(pos_ + head, len);
    pos_ += head + len;
    return true;
  }
  bool uint(std::uint64_t max, std::uint64_t& out) {
    if (pos_ >= in_.size()) return false;
    const std::uint8_t t = in_[pos_];
    int n = 0;
    if (t <= 0x7f) {
      out = t;
    } else if (t >= 0xcc && t <= 0xcf) {
      n = 1 << (t - 0xcc);
      if (in_.size() - pos_ - 1 < static_cast<std::size_t>(n)) return false;
      out = 0;
      for (int i = 1; i <= n; ++i) out = (out << 8) | in_[pos_ + static_cast<std::size_t>(i)];
    } else {
      return false;
    }
    if (out > max) return false;
    pos_ += 1 + static_cast<std::size_t>(n);
    return true;
  }

 private:
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

bool decode_canonical_push_node_state(std::span<const std::uint8_t> in, push_node_state& s, std::size_t& used) {
  canonical_reader r(in);
  std::span<const std::uint8_t> addr, meta, name, vsn;
  std::uint64_t incarnation = 0, port = 0, state = 0;
  if (!r.byte(0x87) || !r.key("Addr") || !r.raw(true, addr) || !r.key("Incarnation") ||
      !r.uint(0xffffffffu, incarnation) || !r.key("Meta") || !r.raw(true, meta) || !r.key("Name") ||
      !r.raw(false, name) || !r.key("Port") || !r.uint(0xffff, port) || !r.key("State") ||
      !r.uint(static_cast<std::uint64_t>(node_state::left), state) || !r.key("Vsn") || !r.raw(true, vsn))
    return false;
  if (name.empty()) return false;  // the general reader refuses it
  s.addr.assign(addr.begin(), addr.end());
  s.incarnation = static_cast<std::uint32_t>(incarnation);
  s.meta.assign(meta.begin(), meta.end());
  s.name.assign(reinterpret_cast<const char*>(name.data()), name.size());
  s.port = static_cast<std::uint16_t>(port);
  s.state = static_cast<node_state>(state);
  s.vsn.assign(vsn.begin(), vsn.end());
  used = r.pos();
  return true;
}
}  // namespace

decoded<push_node_state> decode_push_node_state(std::span<const std::uint8_t> in, std::size_t* consumed) {
  {
    decoded<push_node_state> d;
    std::size_t used = 0;
    if (decode_canonical_push_node_state(in, d.value, used)) {
      if (consumed) *consumed = used;
      return d;
    }
  }
  auto r = msgpack::read(in);
  if (!r.ok()) return fail<push_node_state>(fault_of(r), "pushNodeState: " + r.error, r.consumed);
  msgpack::struct_reader sr(r.v);
  decoded<push_node_state> d;
  auto& s = d.value;
  sr.bytes_field("Addr", s.addr);
  sr.unsigned_field("Incarnation", s.incarnation);
  sr.bytes_field("Meta", s.meta);
  sr.string_field("Name", s.name);
  sr.unsigned_field("Port", s.port);
  std::int64_t state = 0;
  sr.int_field("State", state);
  sr.bytes_field("Vsn", s.vsn);
  if (!sr.ok()) return fail<push_node_state>(decode_fault::malformed, "pushNodeState: " + sr.error(), 0);
  if (state < 0 || state > static_cast<std::int64_t>(node_state::left))
    return fail<push_node_state>(decode_fault::malformed, "pushNodeState: unknown State " + std::to_string(state), 0);
  // No peer sends a state without a name, and a table of 2^20 empty maps
  // (1 MiB of input) would otherwise become 2^20 states in memory before the
  // merge refuses them one by one.
  if (s.name.empty()) return fail<push_node_state>(decode_fault::malformed, "pushNodeState: no Name", 0);
  s.state = static_cast<node_state>(state);
  if (consumed) *consumed = r.consumed;
  return d;
}

}  // namespace chorus::swim
