#pragma once
// Test vocabulary for one core: a runtime that records every effect, a clock
// the test moves, and helpers to speak to the core in protocol terms (send it
// a ping, an alive, a suspect ...) and read what it said back, decoded through
// the real codec.
#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "swim/codec.hpp"
#include "swim/core.hpp"

namespace chorus::swim::testing {

inline address addr_of(int i) { return address::v4(10, 0, 0, static_cast<std::uint8_t>(i), 7946); }
inline std::string name_of(int i) { return "n" + std::to_string(i); }

inline std::string hex(const bytes& b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (auto c : b) {
    s += d[c >> 4];
    s += d[c & 15];
  }
  return s;
}

// One line of text per message, for assertions and golden transcripts.
inline std::string describe(const message& m) {
  std::ostringstream o;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, ping>)
          o << "ping seq=" << x.seq_no << " node=" << x.node << " source=" << x.source_node;
        else if constexpr (std::is_same_v<T, indirect_ping>)
          o << "ping-req seq=" << x.seq_no << " node=" << x.node
            << " target=" << address::from(x.target, x.port).to_string() << " nack=" << x.nack
            << " source=" << x.source_node;
        else if constexpr (std::is_same_v<T, ack>)
          o << "ack seq=" << x.seq_no << " payload=" << hex(x.payload);
        else if constexpr (std::is_same_v<T, nack>)
          o << "nack seq=" << x.seq_no;
        else if constexpr (std::is_same_v<T, suspect>)
          o << "suspect node=" << x.node << " inc=" << x.incarnation << " from=" << x.from;
        else if constexpr (std::is_same_v<T, alive>)
          o << "alive node=" << x.node << " inc=" << x.incarnation
            << " addr=" << address::from(x.addr, x.port).to_string() << " meta=" << hex(x.meta);
        else if constexpr (std::is_same_v<T, dead>)
          o << "dead node=" << x.node << " inc=" << x.incarnation << " from=" << x.from;
        else if constexpr (std::is_same_v<T, user>)
          o << "user " << hex(x.payload);
        else
          o << "err " << x.error;
      },
      m);
  return o.str();
}

// Splits a datagram into its messages with the real codec.
inline std::vector<message> unpack(const bytes& packet) {
  std::vector<message> out;
  if (!packet.empty() && packet[0] == static_cast<std::uint8_t>(message_type::compound)) {
    auto split = split_compound(packet);
    if (!split.ok()) throw std::runtime_error("bad compound: " + split.error.what);
    for (auto part : split.value.parts) {
      auto m = decode(part);
      if (!m.ok()) throw std::runtime_error("bad part: " + m.error.what);
      out.push_back(m.value);
    }
  } else {
    auto m = decode(packet);
    if (!m.ok()) throw std::runtime_error("bad message: " + m.error.what);
    out.push_back(m.value);
  }
  return out;
}

struct sent_packet {
  address to;
  bytes data;
  bool crc;
  std::vector<message> messages() const { return unpack(data); }
};

class recording_runtime : public runtime {
 public:
  std::vector<sent_packet> packets;
  std::multimap<time_point, timer_token> timers;
  struct exchange_rec {
    address to;
    exchange_id id;
    push_pull request;
    ping ping_request;
    bool tcp_ping;
    time_point deadline;
  };
  std::vector<exchange_rec> exchanges;
  std::vector<member_event> events;
  std::vector<std::string> suspected;
  std::vector<std::pair<std::string, duration>> pings_completed;
  std::vector<std::string> conflicts;
  std::vector<bytes> user_messages;
  int leave_done = 0;
  std::vector<std::string> log;  // transcript of every effect, in order

  // Destinations the network refuses at once (no route): their datagrams
  // are recorded but reported as send_result::unreachable.
  std::set<address, bool (*)(const address&, const address&)> unreachable{
      [](const address& a, const address& b) { return a.to_string() < b.to_string(); }};

  send_result send_packet(const address& to, bytes packet, bool crc) override {
    for (const auto& m : unpack(packet)) log.push_back("send " + to.to_string() + " " + describe(m));
    packets.push_back({to, std::move(packet), crc});
    return unreachable.count(to) ? send_result::unreachable : send_result::sent;
  }
  void set_timer(time_point at, timer_token token) override { timers.emplace(at, token); }
  void start_push_pull(const address& to, exchange_id id, const push_pull& request, time_point deadline) override {
    log.push_back("push-pull " + to.to_string() + " join=" + std::to_string(request.join));
    exchanges.push_back({to, id, request, {}, false, deadline});
  }
  void start_tcp_ping(const address& to, exchange_id id, const ping& request, time_point deadline) override {
    log.push_back("tcp-ping " + to.to_string() + " " + describe(request));
    exchanges.push_back({to, id, {}, request, true, deadline});
  }
  void member_changed(const member_event& e) override {
    log.push_back(std::string("event ") + to_string(e.kind) + " " + e.member.name +
                  " inc=" + std::to_string(e.member.incarnation));
    events.push_back(e);
  }
  void member_suspected(const member_info& m, std::string_view from) override {
    log.push_back("suspected " + m.name + " by " + std::string(from));
    suspected.push_back(m.name);
  }
  void ping_complete(std::string_view node, duration rtt, std::span<const std::uint8_t>) override {
    pings_completed.emplace_back(std::string(node), rtt);
  }
  void name_conflict(const member_info& existing, const member_info& other) override {
    conflicts.push_back(existing.name + " " + existing.addr.to_string() + " vs " + other.addr.to_string());
  }
  void user_message(std::span<const std::uint8_t> p) override { user_messages.emplace_back(p.begin(), p.end()); }
  void leave_finished() override { ++leave_done; }

  // All messages sent so far (optionally only to `to`), flattened.
  std::vector<message> sent(std::optional<address> to = std::nullopt) const {
    std::vector<message> out;
    for (const auto& p : packets)
      if (!to || p.to == *to)
        for (auto& m : p.messages()) out.push_back(m);
    return out;
  }
  template <class T>
  std::vector<T> sent_of(std::optional<address> to = std::nullopt) const {
    std::vector<T> out;
    for (auto& m : sent(to))
      if (auto* x = std::get_if<T>(&m)) out.push_back(*x);
    return out;
  }
  void clear() {
    packets.clear();
    events.clear();
    exchanges.clear();
    suspected.clear();
    log.clear();
  }
};

// A core under test with its own clock.
struct one_node {
  explicit one_node(config c, std::uint64_t seed = 1) : node(std::move(c), seed) { node.start(now, rt); }
  explicit one_node(int id = 0) : one_node(config::lan(name_of(id), addr_of(id))) {}

  time_point now{};
  recording_runtime rt;
  core node;

  // Peers that answer our pings at once (healthy peers); others stay silent.
  std::set<int> responsive;

  // Advances time, firing due timers in order; returns how many fired.
  std::size_t advance(duration d) {
    const time_point end = now + d;
    std::size_t fired = 0;
    while (!rt.timers.empty() && rt.timers.begin()->first <= end) {
      auto [at, token] = *rt.timers.begin();
      rt.timers.erase(rt.timers.begin());
      now = std::max(now, at);
      const std::size_t before = rt.packets.size();
      node.handle_timer(now, token, rt);
      answer_pings(before);
      ++fired;
    }
    now = end;
    return fired;
  }
  void answer_pings(std::size_t from_packet) {
    std::vector<std::pair<int, std::uint32_t>> acks;
    for (std::size_t i = from_packet; i < rt.packets.size(); ++i) {
      const int peer = rt.packets[i].to.ip[3];
      if (!responsive.count(peer)) continue;
      for (auto& m : rt.packets[i].messages())
        if (auto* p = std::get_if<ping>(&m)) acks.emplace_back(peer, p->seq_no);
    }
    for (auto [peer, seq] : acks) receive(peer, ack{seq, {}});
  }
  void receive(int from, const message& m) { receive_packet(from, encode(m)); }
  void receive_packet(int from, const bytes& data) { node.handle_packet(now, addr_of(from), data, rt); }
  // Teaches the node about peer i (alive, incarnation inc) as gossip would.
  void learn(int i, std::uint32_t inc = 1, bytes vsn = config::default_vsn()) {
    alive a;
    a.incarnation = inc;
    a.node = name_of(i);
    a.addr = addr_of(i).ip_bytes();
    a.port = addr_of(i).port;
    a.vsn = std::move(vsn);
    receive(i, a);
  }
  std::optional<member_state> state(int i) const {
    auto m = node.member(name_of(i));
    if (!m) return std::nullopt;
    return m->state;
  }
  std::uint32_t incarnation(int i) const { return node.member(name_of(i))->incarnation; }
};

// name_of's inverse: "n4" -> 4.
inline int id_of(const std::string& name) { return std::stoi(name.substr(1)); }

// Fires timers one at a time, clearing the record before each, until the
// node sends a probe ping (one for `target`, if given): returns it and its
// destination, with now = when it left. Throws if none comes within 1000
// timers.
inline std::pair<ping, address> next_probe(one_node& n, std::optional<int> target = std::nullopt) {
  for (int i = 0; i < 1000 && !n.rt.timers.empty(); ++i) {
    n.rt.clear();
    n.advance(n.rt.timers.begin()->first - n.now);
    for (const auto& p : n.rt.packets)
      for (auto& m : p.messages())
        if (auto* x = std::get_if<ping>(&m); x && (!target || x->node == name_of(*target))) return {*x, p.to};
  }
  throw std::runtime_error("no probe");
}

}  // namespace chorus::swim::testing
