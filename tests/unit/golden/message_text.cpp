// Messages as transcript text (message_text.hpp).
#include "message_text.hpp"

#include <algorithm>
#include <map>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "agent/serf/codec.hpp"
#include "swim/config.hpp"
#include "unit/core/harness.hpp"

namespace golden {

using namespace chorus;
namespace a = chorus::agent;
namespace s = chorus::swim;

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

std::uint64_t number(const std::string& s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) fail("not a number: '" + s + "'");
  return std::stoull(s);
}

// The key=value words of a message; each one must be read exactly once, so
// a misspelt field fails the transcript instead of being ignored.
class fields {
 public:
  fields(const std::vector<std::string>& words, std::size_t from) : type_(words.at(0)) {
    for (std::size_t i = from; i < words.size(); ++i) {
      const auto eq = words[i].find('=');
      if (eq == std::string::npos) fail(type_ + ": expected key=value, got '" + words[i] + "'");
      kv_[words[i].substr(0, eq)] = words[i].substr(eq + 1);
    }
  }
  // Called once every field was read: a word left over is a typo.
  void finish() const {
    if (!kv_.empty()) fail(type_ + ": unknown field '" + kv_.begin()->first + "'");
  }

  std::string text(const std::string& k, std::string fallback = {}) {
    auto it = kv_.find(k);
    if (it == kv_.end()) return fallback;
    std::string v = it->second;
    kv_.erase(it);
    return v;
  }
  std::uint64_t num(const std::string& k, std::uint64_t fallback = 0) {
    const auto v = text(k);
    return v.empty() ? fallback : number(v);
  }
  template <class T>
  T small(const std::string& k) {
    return static_cast<T>(num(k));
  }
  bytes raw(const std::string& k) { return parse_bytes(text(k)); }
  std::vector<std::string> list(const std::string& k) {
    std::vector<std::string> out;
    std::istringstream in(text(k));
    for (std::string item; std::getline(in, item, ',');) out.push_back(item);
    return out;
  }
  // All keys "prefix.X": X -> value.
  std::map<std::string, std::string> with_prefix(const std::string& prefix) {
    std::map<std::string, std::string> out;
    for (auto it = kv_.begin(); it != kv_.end();) {
      if (it->first.rfind(prefix, 0) == 0) {
        out[it->first.substr(prefix.size())] = it->second;
        it = kv_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }

 private:
  std::string type_;
  std::map<std::string, std::string> kv_;
};

std::string join_list(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : ",") + x;
  return out;
}

std::string format_nanoseconds(std::chrono::nanoseconds ns) {
  if (ns.count() % 1000000 == 0) return std::to_string(ns.count() / 1000000) + "ms";
  return std::to_string(ns.count()) + "ns";
}

std::chrono::nanoseconds parse_nanoseconds(const std::string& s) {
  if (s.size() > 2 && s.ends_with("ns")) return std::chrono::nanoseconds(number(s.substr(0, s.size() - 2)));
  return std::chrono::duration_cast<std::chrono::nanoseconds>(parse_duration(s));
}

std::string describe_filters(const std::vector<a::query_filter>& filters) {
  std::string out;
  for (const auto& f : filters) {
    if (const auto* n = std::get_if<a::node_filter>(&f)) out += " nodes=" + join_list(n->nodes);
    if (const auto* t = std::get_if<a::tag_filter>(&f)) out += " tag." + t->tag + "=" + t->expr;
    if (const auto* o = std::get_if<a::opaque_filter>(&f)) out += " opaque-filter=" + format_bytes(o->raw);
  }
  return out;
}

}  // namespace

address parse_address(const std::string& str) {
  if (str.size() > 1 && str[0] == 'n' && str.find_first_not_of("0123456789", 1) == std::string::npos)
    return s::testing::addr_of(static_cast<int>(number(str.substr(1))));
  unsigned q[4], port;
  char tail;
  if (std::sscanf(str.c_str(), "%u.%u.%u.%u:%u%c", &q[0], &q[1], &q[2], &q[3], &port, &tail) != 5)
    fail("not an address: '" + str + "'");
  return address::v4(static_cast<std::uint8_t>(q[0]), static_cast<std::uint8_t>(q[1]), static_cast<std::uint8_t>(q[2]),
                     static_cast<std::uint8_t>(q[3]), static_cast<std::uint16_t>(port));
}

duration parse_duration(const std::string& str) {
  static const std::pair<const char*, std::int64_t> units[] = {{"us", 1}, {"ms", 1000}, {"s", 1000000}};
  for (auto [unit, scale] : units) {
    const std::string u(unit);
    if (str.size() > u.size() && str.ends_with(u)) {
      const std::string n = str.substr(0, str.size() - u.size());
      if (n.find_first_not_of("0123456789") == std::string::npos)
        return duration(static_cast<std::int64_t>(number(n)) * scale);
    }
  }
  fail("not a duration: '" + str + "'");
}

std::string format_bytes(const bytes& b) {
  const bool text = std::all_of(b.begin(), b.end(), [](std::uint8_t c) { return c > ' ' && c < 0x7f; });
  if (text && !(b.size() >= 2 && b[0] == '0' && b[1] == 'x')) return std::string(b.begin(), b.end());
  return "0x" + s::testing::hex(b);
}

namespace {
bytes parse_hex(const std::string& digits) {
  if (digits.size() % 2 != 0 || digits.find_first_not_of("0123456789abcdef") != std::string::npos)
    fail("not hex: '" + digits + "'");
  bytes out;
  for (std::size_t i = 0; i < digits.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace

bytes parse_bytes(const std::string& str) {
  if (str.starts_with("0x")) return parse_hex(str.substr(2));
  return bytes(str.begin(), str.end());
}

namespace {

// An address field (default: the address of peer `node`) as IP bytes and port.
std::pair<bytes, std::uint16_t> address_field(fields& f, const std::string& key, const std::string& node) {
  const auto at = parse_address(f.text(key, node));
  return {at.ip_bytes(), at.port};
}

// Ping and ping-req carry the sender as source=nK: name, address and port.
template <class Probe>
void set_source(Probe& p, fields& f) {
  if (const auto src = f.text("source"); !src.empty()) {
    const auto at = parse_address(src);
    p.source_node = src;
    p.source_addr = at.ip_bytes();
    p.source_port = at.port;
  }
}

s::message build_message(const std::string& type, fields& f) {
  if (type == "ping") {
    s::ping p;
    p.seq_no = f.small<std::uint32_t>("seq");
    p.node = f.text("node");
    set_source(p, f);
    return p;
  }
  if (type == "ping-req") {
    s::indirect_ping p;
    p.seq_no = f.small<std::uint32_t>("seq");
    p.node = f.text("node");
    std::tie(p.target, p.port) = address_field(f, "target", p.node);
    p.nack = f.num("nack") != 0;
    set_source(p, f);
    return p;
  }
  if (type == "ack") return s::ack{f.small<std::uint32_t>("seq"), f.raw("payload")};
  if (type == "nack") return s::nack{f.small<std::uint32_t>("seq")};
  if (type == "suspect") return s::suspect{f.small<std::uint32_t>("inc"), f.text("node"), f.text("from")};
  if (type == "dead") return s::dead{f.small<std::uint32_t>("inc"), f.text("node"), f.text("from")};
  if (type == "alive") {
    s::alive m;
    m.incarnation = f.small<std::uint32_t>("inc");
    m.node = f.text("node");
    std::tie(m.addr, m.port) = address_field(f, "addr", m.node);
    m.meta = f.raw("meta");
    const auto vsn = f.text("vsn");
    m.vsn = vsn.empty() ? s::config::default_vsn() : parse_bytes(vsn);
    return m;
  }
  fail("unknown message type '" + type + "'");
}

a::serf_message build_serf_message(const std::string& type, fields& f) {
  if (type == "leave") return a::leave_intent{f.num("ltime"), f.text("node"), f.num("prune") != 0};
  if (type == "join") return a::join_intent{f.num("ltime"), f.text("node")};
  if (type == "user-event") return a::user_event{f.num("ltime"), f.text("name"), f.raw("payload"), f.num("cc") != 0};
  if (type == "query") {
    a::query q;
    q.ltime = f.num("ltime");
    q.id = f.small<std::uint32_t>("id");
    q.name = f.text("name");
    q.source_node = f.text("source");
    std::tie(q.addr, q.port) = address_field(f, "addr", q.source_node);
    if (const auto nodes = f.list("nodes"); !nodes.empty()) q.filters.push_back(a::node_filter{nodes});
    for (const auto& [tag, expr] : f.with_prefix("tag.")) q.filters.push_back(a::tag_filter{tag, expr});
    q.flags = f.small<std::uint32_t>("flags");
    q.relay_factor = f.small<std::uint8_t>("relay");
    q.timeout = parse_nanoseconds(f.text("timeout", "1s"));
    q.payload = f.raw("payload");
    return q;
  }
  if (type == "query-response")
    return a::query_response{f.num("ltime"), f.small<std::uint32_t>("id"), f.text("from"),
                             f.small<std::uint32_t>("flags"), f.raw("payload")};
  fail("unknown Serf message type '" + type + "'");
}

}  // namespace

s::message parse_message(const std::vector<std::string>& words) {
  if (words.empty()) fail("no message");
  // describe() prints a user message's payload as bare hex.
  if (words[0] == "user") return s::user{parse_hex(words.size() > 1 ? words[1] : "")};
  fields f(words, 1);
  auto m = build_message(words[0], f);
  f.finish();
  return m;
}

std::string describe_serf(const a::serf_message& m) {
  std::ostringstream o;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, a::leave_intent>)
          o << "leave ltime=" << x.ltime << " node=" << x.node << " prune=" << x.prune;
        else if constexpr (std::is_same_v<T, a::join_intent>)
          o << "join ltime=" << x.ltime << " node=" << x.node;
        else if constexpr (std::is_same_v<T, a::push_pull_state>)
          o << "push-pull ltime=" << x.ltime << " event-ltime=" << x.event_ltime << " query-ltime=" << x.query_ltime
            << " left=" << join_list(x.left_members);
        else if constexpr (std::is_same_v<T, a::user_event>)
          o << "user-event ltime=" << x.ltime << " name=" << x.name << " cc=" << x.cc
            << " payload=" << format_bytes(x.payload);
        else if constexpr (std::is_same_v<T, a::query>)
          o << "query ltime=" << x.ltime << " id=" << x.id << " name=" << x.name << " source=" << x.source_node
            << " addr=" << address::from(x.addr, x.port).to_string() << describe_filters(x.filters)
            << " flags=" << x.flags << " relay=" << static_cast<int>(x.relay_factor)
            << " timeout=" << format_nanoseconds(x.timeout) << " payload=" << format_bytes(x.payload);
        else if constexpr (std::is_same_v<T, a::query_response>)
          o << "query-response ltime=" << x.ltime << " id=" << x.id << " from=" << x.from << " flags=" << x.flags
            << " payload=" << format_bytes(x.payload);
        else if constexpr (std::is_same_v<T, a::relay>) {
          o << "relay dest=" << address::from(x.header.dest_ip, x.header.dest_port).to_string()
            << " dest-name=" << x.header.dest_name << " inner ";
          const auto inner = a::decode_serf_message(x.inner);
          o << (inner.ok() ? describe_serf(inner.value) : "undecodable " + format_bytes(x.inner));
        } else
          o << a::serf_type_name(static_cast<std::uint8_t>(m.index())) << " (not described)";
      },
      m);
  return o.str();
}

a::serf_message parse_serf_message(const std::vector<std::string>& words) {
  if (words.empty()) fail("no Serf message");
  if (words[0] == "relay") {
    const auto inner_at = std::find(words.begin(), words.end(), "inner");
    if (inner_at == words.end()) fail("relay: no inner message");
    fields f(std::vector<std::string>(words.begin(), inner_at), 1);
    const auto dest = parse_address(f.text("dest"));
    a::relay r{{dest.ip_bytes(), dest.port, {}, f.text("dest-name")},
               a::encode(parse_serf_message(std::vector<std::string>(inner_at + 1, words.end())))};
    f.finish();
    return r;
  }
  fields f(words, 1);
  auto m = build_serf_message(words[0], f);
  f.finish();
  return m;
}

}  // namespace golden
