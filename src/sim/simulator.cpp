#include "sim/simulator.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <stdexcept>

#include "swim/codec.hpp"
#include "swim/stream.hpp"

namespace chorus::sim {

namespace {
// The simulator reads stream bodies without layers and never looks at
// layers.inner.
const swim::stream_open_options& bare_stream() {
  static const swim::stream_open_options o = [] {
    swim::stream_open_options x;
    x.keep_inner = false;
    return x;
  }();
  return o;
}
}  // namespace

// The runtime sink of one node: every effect becomes an event in the queue.
class simulator::node_runtime final : public swim::runtime {
 public:
  node_runtime(simulator& s, node_id id) : sim_(s), id_(id) {}

  void send_packet(const swim::address& to, swim::bytes packet, bool crc) override {
    (void)crc;  // the simulator skips the packet layer (CRC, compression, encryption)
    auto& t = sim_.totals_;
    ++t.udp_packets;
    t.udp_bytes += packet.size();
    if (packet.size() > sim_.nodes_[id_].core->cfg().udp_buffer_size) ++t.udp_oversize;
    const node_id dst = sim_.id_of_address(to);
    if (dst >= sim_.nodes_.size() || sim_.net_.drop_datagram(id_, dst, sim_.net_rng_)) {
      ++t.udp_dropped;
      return;
    }
    sim_.push({sim_.now_ + sim_.net_.one_way(id_, dst), 0, ev::packet, dst, id_, 0, 0, {}, std::move(packet)});
  }
  void set_timer(time_point at, swim::timer_token token) override {
    sim_.push({std::max(at, sim_.now_), 0, ev::timer, id_, id_, sim_.nodes_[id_].epoch, token, {}, {}});
  }
  // A table the core keeps (a join's, sent to each seed): through the codec.
  void start_push_pull(const swim::address& to, swim::exchange_id id, const swim::push_pull& request,
                       time_point deadline) override {
    table_payload p;
    swim::encode_stream_body(request, p.data);
    p.size = p.data.size();
    start_exchange(to, id, std::move(p), deadline, ev::pp_request, ev::pp_failed);
  }
  void start_push_pull(const swim::address& to, swim::exchange_id id, swim::push_pull&& request,
                       time_point deadline) override {
    start_exchange(to, id, sim_.pack(std::move(request)), deadline, ev::pp_request, ev::pp_failed);
  }
  void start_tcp_ping(const swim::address& to, swim::exchange_id id, const swim::ping& request,
                      time_point deadline) override {
    table_payload p;
    swim::encode_stream_body(request, p.data);
    p.size = p.data.size();
    start_exchange(to, id, std::move(p), deadline, ev::ping_request, ev::ping_result);
  }
  void member_changed(const swim::member_event& e) override {
    sim_.mix(static_cast<std::uint64_t>(e.kind) + 16 * (sim_.id_of(e.member.name) + 1));
    auto& self = sim_.nodes_[id_];
    const node_id subject = sim_.id_of(e.member.name);
    if (subject < sim_.nodes_.size()) {
      auto it = std::find(self.failed.begin(), self.failed.end(), subject);
      if (e.kind == swim::member_event_kind::failed) {
        if (it == self.failed.end()) self.failed.push_back(subject);
      } else if (it != self.failed.end()) {
        self.failed.erase(it);
      }
    }
    if (sim_.opt_.record_trace)
      sim_.trace_.push_back(std::to_string(sim_.now_.time_since_epoch().count()) + " " + name_of(id_) + " event " +
                            swim::to_string(e.kind) + " " + e.member.name +
                            " inc=" + std::to_string(e.member.incarnation));
    if (sim_.on_member_event) sim_.on_member_event(sim_.now_, id_, e);
  }
  void member_suspected(const swim::member_info& m, std::string_view from) override {
    (void)from;
    if (sim_.on_suspect) sim_.on_suspect(sim_.now_, id_, sim_.id_of(m.name));
  }
  void user_message(std::span<const std::uint8_t> payload) override {
    if (sim_.on_user_message) sim_.on_user_message(sim_.now_, id_, payload);
  }

 private:
  void start_exchange(const swim::address& to, swim::exchange_id id, table_payload payload, time_point deadline,
                      ev request_kind, ev fail_kind) {
    auto& t = sim_.totals_;
    ++t.tcp_exchanges;
    t.tcp_bytes += payload.size;
    const node_id dst = sim_.id_of_address(to);
    const std::uint32_t epoch = sim_.nodes_[id_].epoch;
    if (dst >= sim_.nodes_.size() || !sim_.nodes_[dst].up || sim_.net_.blocked(id_, dst) ||
        sim_.net_.blocked(dst, id_)) {
      // No answer to the SYN: the connect times out at the deadline.
      ++t.tcp_failed;
      sim_.push({deadline, 0, fail_kind, id_, dst, epoch, id, deadline, {}});
      return;
    }
    const duration d =
        sim_.net_.tcp_connect(id_, dst, sim_.net_rng_) + sim_.net_.tcp_transfer(id_, dst, payload.size, sim_.net_rng_);
    if (sim_.now_ + d > deadline) {
      ++t.tcp_failed;
      sim_.push({deadline, 0, fail_kind, id_, dst, epoch, id, deadline, {}});
      return;
    }
    sim_.push({sim_.now_ + d, 0, request_kind, dst, id_, epoch, id, deadline, std::move(payload.data),
               std::move(payload.table), payload.size});
  }

  simulator& sim_;
  node_id id_;
};

simulator::simulator(options opt) : opt_(std::move(opt)), root_rng_(opt_.seed), net_rng_(root_rng_.fork_seed()) {}
simulator::~simulator() = default;

swim::address simulator::address_of(node_id n) {
  return swim::address::v4(10, static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 8),
                           static_cast<std::uint8_t>(n), 7946);
}

node_id simulator::id_of_address(const swim::address& a) const {
  if (a.ip_len != 4 || a.ip[0] != 10 || a.port != 7946) return static_cast<node_id>(nodes_.size());
  return (node_id{a.ip[1]} << 16) | (node_id{a.ip[2]} << 8) | a.ip[3];
}

node_id simulator::id_of(std::string_view name) const {
  node_id v = 0;
  if (name.size() < 2 || name[0] != 'n') return static_cast<node_id>(nodes_.size());
  auto [p, ec] = std::from_chars(name.data() + 1, name.data() + name.size(), v);
  if (ec != std::errc{} || p != name.data() + name.size() || v >= nodes_.size())
    return static_cast<node_id>(nodes_.size());
  return v;
}

swim::config simulator::make_config(node_id n) const {
  swim::config c = opt_.profile == "wan"     ? swim::config::wan(name_of(n), address_of(n))
                   : opt_.profile == "local" ? swim::config::local(name_of(n), address_of(n))
                                             : swim::config::lan(name_of(n), address_of(n));
  c.lifeguard = opt_.lifeguard;
  c.dead_node_reclaim_time = opt_.dead_node_reclaim_time;
  c.max_broadcasts = opt_.max_broadcasts;
  return c;
}

void simulator::make_core(node_id n) {
  auto& nd = nodes_[n];
  nd.core = std::make_unique<swim::core>(make_config(n), root_rng_.fork_seed());
  if (!nd.rt) nd.rt = std::make_unique<node_runtime>(*this, n);
  nd.core->start(now_, *nd.rt);
  if (opt_.reconnect) {
    const auto first = now_ + duration{static_cast<std::int64_t>(
                                  root_rng_.below(static_cast<std::uint64_t>(opt_.reconnect_interval.count())))};
    push({first, 0, ev::reconnect, n, n, nd.epoch, 0, {}, {}});
  }
}

node_id simulator::add_node() {
  const node_id n = static_cast<node_id>(nodes_.size());
  nodes_.emplace_back();
  make_core(n);
  return n;
}

void simulator::join(node_id n, const std::vector<node_id>& seeds) {
  std::vector<swim::address> addrs;
  for (auto s : seeds) addrs.push_back(address_of(s));
  if (nodes_[n].up) nodes_[n].core->join(now_, addrs, *nodes_[n].rt);
}

void simulator::restore_full_membership() {
  std::vector<swim::push_node_state> all;
  all.reserve(nodes_.size());
  for (node_id n = 0; n < nodes_.size(); ++n) {
    if (!nodes_[n].up) continue;
    swim::push_node_state s;
    s.name = name_of(n);
    s.addr = address_of(n).ip_bytes();
    s.port = address_of(n).port;
    s.incarnation = nodes_[n].core->incarnation();
    s.vsn = nodes_[n].core->cfg().vsn;
    all.push_back(std::move(s));
  }
  for (auto& nd : nodes_)
    if (nd.up) nd.core->restore(now_, all, *nd.rt);
}

void simulator::at(time_point t, std::function<void()> fn) {
  actions_.push_back(std::move(fn));
  push({t, 0, ev::action, 0, 0, 0, actions_.size() - 1, {}, {}});
}

void simulator::crash(node_id n) {
  auto& nd = nodes_[n];
  if (!nd.up) return;
  nd.up = false;
  ++nd.epoch;  // its pending timers and exchange results die with it
  nd.failed.clear();
}

void simulator::restart(node_id n) {
  auto& nd = nodes_[n];
  if (nd.up) return;
  nd.up = true;
  nd.stalled_until = {};
  nd.backlog_bytes = 0;
  make_core(n);
  std::vector<node_id> live;
  for (node_id i = 0; i < nodes_.size(); ++i)
    if (i != n && nodes_[i].up) live.push_back(i);
  if (!live.empty()) join(n, {live[root_rng_.below(live.size())]});
}

void simulator::stall(node_id n, duration d, stall_mode mode) {
  nodes_[n].stalled_until = std::max(nodes_[n].stalled_until, now_ + d);
  nodes_[n].stall_kind = mode;
}

void simulator::queue_user_broadcast(node_id n, std::span<const std::uint8_t> payload) {
  nodes_[n].core->queue_user_broadcast(now_, payload, *nodes_[n].rt);
}

void simulator::leave(node_id n) {
  if (nodes_[n].up) nodes_[n].core->leave(now_, *nodes_[n].rt);
}

std::optional<swim::member_state> simulator::state_in(node_id observer, node_id subject) const {
  const auto& t = nodes_[observer].core->members();
  auto idx = t.find(name_of(subject));
  if (!idx) return std::nullopt;
  return t.at(*idx).state;
}

void simulator::push(event e) {
  // Nothing is scheduled in the past: a deadline that expired while the
  // node was stalled is reported now, not back in time (which would rewind
  // the virtual clock for everyone).
  e.at = std::max(e.at, now_);
  e.seq = seq_++;
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slab_.size());
    slab_.emplace_back();
  }
  if (slot >> slot_bits) throw std::length_error("simulator: more than 2^24 pending events");
  heap_push({e.at.time_since_epoch().count(), (e.seq << slot_bits) | slot});
  slab_[slot] = std::move(e);
}

void simulator::heap_push(queued q) {
  // Sift up from the new leaf, moving parents down into the hole.
  heap_.push_back(q);
  std::size_t i = heap_.size() - 1 - heap_pad;
  while (i > 0) {
    const std::size_t parent = (i - 1) / 4;
    if (!q.before(heap_[parent + heap_pad])) break;
    heap_[i + heap_pad] = heap_[parent + heap_pad];
    i = parent;
  }
  heap_[i + heap_pad] = q;
}

void simulator::heap_pop() {
  // Move the last element into the root's hole and sift it down.
  const queued last = heap_.back();
  heap_.pop_back();
  const std::size_t n = heap_.size() - heap_pad;
  if (n == 0) return;
  queued* h = heap_.data() + heap_pad;
  std::size_t i = 0;
  for (;;) {
    const std::size_t first = 4 * i + 1;
    if (first >= n) break;
    std::size_t best = first;
    const std::size_t end = std::min(first + 4, n);
    for (std::size_t c = first + 1; c < end; ++c)
      if (h[c].before(h[best])) best = c;
    if (!h[best].before(last)) break;
    h[i] = h[best];
    i = best;
  }
  h[i] = last;
}

void simulator::mix(std::uint64_t v) {
  for (int i = 0; i < 8; ++i) trace_hash_ = (trace_hash_ ^ ((v >> (8 * i)) & 0xff)) * 1099511628211ULL;
}
void simulator::mix_bytes(std::span<const std::uint8_t> b) {
  // FNV-style over 8-byte words (push/pull bodies are hundreds of KB; a
  // byte-serial FNV of them cost more than decoding them), then the tail.
  std::size_t i = 0;
  for (; i + 8 <= b.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, b.data() + i, 8);
    trace_hash_ = (trace_hash_ ^ w) * 1099511628211ULL;
    trace_hash_ ^= trace_hash_ >> 32;
  }
  for (; i < b.size(); ++i) trace_hash_ = (trace_hash_ ^ b[i]) * 1099511628211ULL;
}

void simulator::mix_table(std::size_t size, const swim::push_pull* t) {
  mix(size);
  if (!t) return;
  // What the receiving core reads: name length, state, incarnation, port
  // per node (names and addresses follow from the node ids in a simulation).
  auto word = [this](std::uint64_t w) {
    trace_hash_ = (trace_hash_ ^ w) * 1099511628211ULL;
    trace_hash_ ^= trace_hash_ >> 32;
  };
  word(t->nodes.size() << 1 | (t->join ? 1 : 0));
  for (const auto& n : t->nodes)
    word(std::uint64_t{n.incarnation} | (std::uint64_t{static_cast<std::uint8_t>(n.state)} << 32) |
         (std::uint64_t{n.port} << 40) | (std::uint64_t{n.name.size() & 0xff} << 56));
  mix_bytes(t->user_state);
}

simulator::table_payload simulator::pack(swim::push_pull&& p) {
  table_payload out;
  out.size = swim::stream_body_size(p);
  ++totals_.push_pull_tables;
  if (opt_.wire_every != 0 && tables_sent_++ % opt_.wire_every == 0) {
    ++totals_.push_pull_tables_encoded;
    swim::encode_stream_body(p, out.data);
    if (out.data.size() != out.size) ++totals_.decode_errors;  // the codec and stream_body_size disagree
    out.size = out.data.size();
  } else {
    out.table = std::make_unique<swim::push_pull>(std::move(p));
  }
  return out;
}

void simulator::run_until(time_point t) {
  const std::int64_t end = t.time_since_epoch().count();
  while (heap_.size() > heap_pad && heap_[heap_pad].at <= end) {
    const auto slot = static_cast<std::uint32_t>(heap_[heap_pad].seq_slot & ((1u << slot_bits) - 1));
    heap_pop();
    event e = std::move(slab_[slot]);
    slab_[slot].data = swim::bytes{};  // the slab keeps no payloads alive
    free_slots_.push_back(slot);
    now_ = e.at;
    dispatch(e);
  }
  now_ = std::max(now_, t);
}

bool simulator::run_until_true(const std::function<bool()>& pred, duration timeout, duration step) {
  const time_point end = now_ + timeout;
  while (!pred()) {
    if (now_ >= end) return false;
    run_until(std::min(end, now_ + step));
  }
  return true;
}

void simulator::dispatch(event& e) {
  if (e.kind == ev::action) {
    ++totals_.events;
    auto fn = std::move(actions_[e.token]);
    actions_[e.token] = nullptr;
    fn();
    return;
  }
  auto& nd = nodes_[e.node];
  if (!nd.up) {
    // A crashed node processes nothing. A TCP exchange aimed at it fails
    // for the initiator at its deadline.
    if (e.kind == ev::pp_request || e.kind == ev::ping_request) {
      ++totals_.tcp_failed;
      push({e.deadline,
            0,
            e.kind == ev::pp_request ? ev::pp_failed : ev::ping_result,
            e.from,
            e.node,
            e.epoch,
            e.token,
            e.deadline,
            {}});
    }
    return;
  }
  const bool own = e.kind == ev::timer || e.kind == ev::pp_response || e.kind == ev::pp_failed ||
                   e.kind == ev::ping_result || e.kind == ev::reconnect;
  if (own && e.epoch != nd.epoch) return;  // from a previous life of this node
  const bool runs_while_stalled =
      nd.stall_kind == stall_mode::receive && (e.kind == ev::timer || e.kind == ev::reconnect);
  if (nd.stalled_until > now_ && !runs_while_stalled) {
    // Handled when it wakes up, in arrival order, overdue timers first: a
    // process resuming from a pause sees its expired deadlines before it has
    // read the socket backlog (the acks that did arrive in time). The
    // backlog of datagrams is bounded like a socket receive buffer; what
    // does not fit is lost.
    if (e.kind == ev::packet) {
      if (nd.backlog_bytes + e.data.size() > stall_backlog_bytes) {
        ++totals_.udp_dropped;
        ++totals_.stall_dropped;
        return;
      }
      nd.backlog_bytes += e.data.size();
    }
    e.at = nd.stalled_until + (e.kind == ev::timer ? duration::zero() : 1us);
    push(std::move(e));
    return;
  }
  if (e.kind == ev::packet && nd.backlog_bytes > 0) nd.backlog_bytes -= std::min(nd.backlog_bytes, e.data.size());
  ++totals_.events;
  mix(static_cast<std::uint64_t>(now_.time_since_epoch().count()));
  mix((std::uint64_t{e.node} << 8) | static_cast<std::uint64_t>(e.kind));
  // A push/pull table is hashed as a table (whether it came as bytes or as
  // a struct); everything else as its bytes.
  const bool table_event = e.kind == ev::pp_request || e.kind == ev::pp_response;
  swim::opened_stream opened;
  const swim::push_pull* table = e.table.get();
  if (table_event && !table) {
    opened = swim::decode_stream(e.data, bare_stream());
    table = opened.ok() ? std::get_if<swim::push_pull>(&opened.msg) : nullptr;
  }
  if (table_event)
    mix_table(e.size(), table);
  else
    mix_bytes(e.data);
  if (opt_.record_trace)
    trace_.push_back(std::to_string(now_.time_since_epoch().count()) + " " + name_of(e.node) +
                     " kind=" + std::to_string(static_cast<int>(e.kind)) + " from=" + name_of(e.from) +
                     " bytes=" + std::to_string(e.size()));
  swim::core& c = *nd.core;
  swim::runtime& rt = *nd.rt;
  switch (e.kind) {
    case ev::packet: {
      const auto before = c.stats().decode_errors;
      c.handle_packet(now_, address_of(e.from), e.data, rt);
      totals_.decode_errors += c.stats().decode_errors - before;
      break;
    }
    case ev::timer:
      c.handle_timer(now_, e.token, rt);
      break;
    case ev::pp_request: {
      if (!table) {
        ++totals_.decode_errors;
        push({e.deadline, 0, ev::pp_failed, e.from, e.node, e.epoch, e.token, e.deadline, {}});
        break;
      }
      table_payload reply = pack(c.handle_push_pull(now_, address_of(e.from), *table, rt));
      totals_.tcp_bytes += reply.size;
      const duration d = net_.tcp_transfer(e.node, e.from, reply.size, net_rng_);
      if (now_ + d > e.deadline) {
        ++totals_.tcp_failed;
        push({e.deadline, 0, ev::pp_failed, e.from, e.node, e.epoch, e.token, e.deadline, {}});
      } else {
        push({now_ + d, 0, ev::pp_response, e.from, e.node, e.epoch, e.token, e.deadline, std::move(reply.data),
              std::move(reply.table), reply.size});
      }
      break;
    }
    case ev::pp_response: {
      if (!table) {
        ++totals_.decode_errors;
        c.push_pull_failed(now_, e.token, rt);
      } else {
        c.push_pull_completed(now_, e.token, *table, rt);
      }
      break;
    }
    case ev::pp_failed:
      c.push_pull_failed(now_, e.token, rt);
      break;
    case ev::ping_request: {
      auto req = swim::decode_stream(e.data, bare_stream());
      auto* p = req.ok() ? std::get_if<swim::ping>(&req.msg) : nullptr;
      std::optional<swim::ack> a = p ? c.handle_stream_ping(*p) : std::nullopt;
      if (!a) {
        push({e.deadline, 0, ev::ping_result, e.from, e.node, e.epoch, e.token, e.deadline, {}});
        break;
      }
      swim::bytes data;
      swim::encode_stream_body(*a, data);
      totals_.tcp_bytes += data.size();
      const duration d = net_.tcp_transfer(e.node, e.from, data.size(), net_rng_);
      push({std::min(now_ + d, e.deadline), 0, ev::ping_result, e.from, e.node, e.epoch, e.token, e.deadline,
            now_ + d <= e.deadline ? std::move(data) : swim::bytes{}});
      break;
    }
    case ev::ping_result: {
      bool ok = false;
      if (!e.data.empty()) {
        auto resp = swim::decode_stream(e.data, bare_stream());
        ok = resp.ok() && std::holds_alternative<swim::ack>(resp.msg);
      }
      c.tcp_ping_completed(now_, e.token, ok, rt);
      break;
    }
    case ev::reconnect: {
      push({now_ + opt_.reconnect_interval, 0, ev::reconnect, e.node, e.node, nd.epoch, 0, {}, {}});
      if (!nd.failed.empty()) {
        // Serf's reconnect: try with probability failed / alive ("we
        // probabilistically expand our reconnect attempts as the number of
        // failed members increases"), so one crashed node in 10,000 costs
        // ~one join attempt per 30 s cluster-wide, not 10,000 full-table
        // joins. Alive = table size - failed (left members, which Serf also
        // subtracts, are rare here).
        const std::size_t members = nd.core->members().size();
        const double alive =
            std::max<double>(1.0, static_cast<double>(members) - static_cast<double>(nd.failed.size()));
        const double prob = static_cast<double>(nd.failed.size()) / alive;
        const double draw = static_cast<double>(root_rng_.below(1u << 24)) / static_cast<double>(1u << 24);
        if (draw <= prob) {
          const node_id target = nd.failed[root_rng_.below(nd.failed.size())];
          join(e.node, {target});
        }
      }
      break;
    }
    case ev::action:
      break;
  }
}

}  // namespace chorus::sim
