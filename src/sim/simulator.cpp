// Building a cluster, the node_sink the runtime adapters call, faults and
// observers. The event loop's dispatch is in dispatch.cpp.
#include "sim/simulator.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <tuple>

namespace chorus::sim {

options options_for(const run_params& p, node_layer layer) {
  options o;
  o.layer = layer;
  std::tie(o.seed, o.profile, o.record_trace, o.wire_every) = std::tie(p.seed, p.profile, p.record_trace, p.wire_every);
  return o;
}

simulator::simulator(options opt)
    : opt_(std::move(opt)),
      root_rng_(opt_.seed),
      net_rng_(root_rng_.fork_seed()),
      wire_(wire_options{opt_.seal, opt_.compress, opt_.wire_every}),
      trace_(opt_.record_trace) {}
simulator::~simulator() = default;

// ---------------------------------------------------------------------------
// Names and addresses.

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

const swim::keyring* simulator::keys_of(node_id n) const {
  if (n >= nodes_.size() || nodes_[n].keys->empty()) return nullptr;
  return nodes_[n].keys.get();
}

// ---------------------------------------------------------------------------
// Building a cluster.

swim::config simulator::make_config(node_id n) const {
  swim::config c = opt_.profile == "wan"     ? swim::config::wan(name_of(n), address_of(n))
                   : opt_.profile == "local" ? swim::config::local(name_of(n), address_of(n))
                                             : swim::config::lan(name_of(n), address_of(n));
  c.lifeguard = opt_.lifeguard;
  c.dead_node_reclaim_time = opt_.dead_node_reclaim_time;
  c.max_broadcasts = opt_.max_broadcasts;
  c.suspicion_confirmed_min_scale = opt_.suspicion_confirmed_min_scale;
  c.refuted_floor_window = opt_.refuted_floor_window;
  return c;
}

void simulator::make_node(node_id n) {
  auto& nd = nodes_[n];
  node_sink& sink = *this;  // a private base: converted here, where it is accessible
  if (opt_.layer == node_layer::serf) {
    agent::serf_config cfg;
    cfg.memberlist = make_config(n);
    cfg.tags = nd.tags;
    if (configure_serf) configure_serf(cfg, n);
    nd.machine = std::make_unique<serf_host>(std::move(cfg), root_rng_.fork_seed(), nd.keys.get(), n, sink, serf_events,
                                             opt_.record_serf);
  } else {
    nd.machine = std::make_unique<core_host>(make_config(n), root_rng_.fork_seed(), n, sink);
  }
  nd.machine->start(now_);
  if (opt_.reconnect && opt_.layer == node_layer::swim) {
    const auto first = now_ + duration{static_cast<std::int64_t>(
                                  root_rng_.below(static_cast<std::uint64_t>(opt_.reconnect_interval.count())))};
    push({first, 0, ev::reconnect, n, n, nd.epoch, 0, {}, {}});
  }
}

node_id simulator::add_node(const node_spec& spec) {
  const node_id n = static_cast<node_id>(nodes_.size());
  nodes_.emplace_back();
  nodes_[n].tags = spec.tags;
  if (spec.keys) *nodes_[n].keys = *spec.keys;
  make_node(n);
  return n;
}

core_host& simulator::bare_of(node_id n) {
  if (opt_.layer != node_layer::swim) throw std::logic_error("simulator: a bare-core command on a Serf node");
  return static_cast<core_host&>(*nodes_[n].machine);
}

serf_host& simulator::serf_of(node_id n) {
  if (opt_.layer != node_layer::serf) throw std::logic_error("simulator: a Serf command on a bare core");
  return static_cast<serf_host&>(*nodes_[n].machine);
}

void simulator::join(node_id n, const std::vector<node_id>& seeds, bool replay) {
  std::vector<swim::address> addrs;
  for (auto s : seeds) addrs.push_back(address_of(s));
  if (nodes_[n].up) nodes_[n].machine->join(now_, addrs, replay);
}

void simulator::restore_full_membership() {
  std::vector<swim::push_node_state> all;
  all.reserve(nodes_.size());
  for (node_id n = 0; n < nodes_.size(); ++n) {
    if (!nodes_[n].up) continue;
    swim::push_node_state s;
    s.name = core(n).name();
    s.addr = address_of(n).ip_bytes();
    s.port = address_of(n).port;
    s.meta = core(n).cfg().meta;  // a Serf node's tags
    s.incarnation = core(n).incarnation();
    s.vsn = core(n).cfg().vsn;
    all.push_back(std::move(s));
  }
  if (opt_.layer == node_layer::swim) {
    for (node_id n = 0; n < nodes_.size(); ++n)
      if (nodes_[n].up) bare_of(n).restore(now_, all);
    return;
  }
  // A Serf node learns the table as from one push/pull with a node that knows
  // everyone (its Serf state: a valid one, node 0's), so its Serf members
  // exist too; memberlist then gossips each member it learned once, as after
  // any join of a formed cluster.
  swim::push_pull table;
  table.nodes = std::move(all);
  table.user_state = core(0).local_state(false).user_state;
  for (node_id n = 0; n < nodes_.size(); ++n)
    if (nodes_[n].up) nodes_[n].machine->handle_push_pull(now_, address_of(0), table);
}

void simulator::at(time_point t, std::function<void()> fn) {
  actions_.push_back(std::move(fn));
  push({t, 0, ev::action, 0, 0, 0, actions_.size() - 1, {}, {}});
}

// ---------------------------------------------------------------------------
// node_sink: every effect of a node becomes an event in the queue.

swim::send_result simulator::send_packet(node_id from, const swim::address& to, swim::bytes packet, bool crc) {
  auto& t = totals_;
  ++t.udp_packets;
  // The core's budget is for the payload; the packet layer adds its overhead.
  if (packet.size() > core(from).cfg().udp_buffer_size) ++t.udp_oversize;
  auto datagram = wire_.seal_packet(std::move(packet), crc, keys_of(from));
  if (!datagram) {
    ++t.udp_dropped;
    return swim::send_result::dropped;
  }
  t.udp_bytes += datagram->size();
  const node_id dst = id_of_address(to);
  // Lost on the way: the sender cannot tell.
  if (dst >= nodes_.size() || net_.drop_datagram(from, dst, net_rng_)) {
    ++t.udp_dropped;
    return swim::send_result::sent;
  }
  push({now_ + net_.one_way(from, dst), 0, ev::packet, dst, from, 0, 0, {}, std::move(*datagram)});
  return swim::send_result::sent;
}

void simulator::set_timer(node_id n, time_point at, swim::timer_token token) {
  push({std::max(at, now_), 0, ev::timer, n, n, nodes_[n].epoch, token, {}, {}});
}

void simulator::start_push_pull(node_id from, const swim::address& to, swim::exchange_id id,
                                const swim::push_pull& request, time_point deadline) {
  start_exchange(from, to, id, wire_.encode(request, keys_of(from)), deadline, ev::pp_request, ev::pp_failed);
}

void simulator::start_push_pull(node_id from, const swim::address& to, swim::exchange_id id, swim::push_pull&& request,
                                time_point deadline) {
  start_exchange(from, to, id, wire_.pack(std::move(request), keys_of(from)), deadline, ev::pp_request, ev::pp_failed);
}

void simulator::start_tcp_ping(node_id from, const swim::address& to, swim::exchange_id id, const swim::ping& request,
                               time_point deadline) {
  start_exchange(from, to, id, wire_.encode(swim::stream_message{request}, keys_of(from)), deadline, ev::ping_request,
                 ev::ping_result);
}

void simulator::start_exchange(node_id from, const swim::address& to, swim::exchange_id id, stream_payload payload,
                               time_point deadline, ev request_kind, ev fail_kind) {
  auto& t = totals_;
  ++t.tcp_exchanges;
  t.tcp_bytes += payload.size;
  const node_id dst = id_of_address(to);
  const std::uint32_t epoch = nodes_[from].epoch;
  if (dst >= nodes_.size() || !nodes_[dst].up || net_.blocked(from, dst) || net_.blocked(dst, from)) {
    // No answer to the SYN: the connect times out at the deadline.
    ++t.tcp_failed;
    push({deadline, 0, fail_kind, from, dst, epoch, id, deadline, {}});
    return;
  }
  const duration d = net_.tcp_connect(from, dst, net_rng_) + net_.tcp_transfer(from, dst, payload.size, net_rng_);
  if (now_ + d > deadline) {
    ++t.tcp_failed;
    push({deadline, 0, fail_kind, from, dst, epoch, id, deadline, {}});
    return;
  }
  push({now_ + d, 0, request_kind, dst, from, epoch, id, deadline, std::move(payload.data), std::move(payload.table),
        payload.size});
}

void simulator::defer(node_id n, std::function<void()> fn) {
  actions_.push_back(std::move(fn));
  push({now_, 0, ev::node_action, n, n, nodes_[n].epoch, actions_.size() - 1, {}, {}});
}

void simulator::member_changed(node_id n, const swim::member_event& e) {
  const node_id subject = id_of(e.member.name);
  trace_.mix(static_cast<std::uint64_t>(e.kind) + 16 * (subject + 1));
  auto& self = nodes_[n];
  if (subject < nodes_.size()) {
    auto it = std::find(self.failed.begin(), self.failed.end(), subject);
    if (e.kind == swim::member_event_kind::failed) {
      if (it == self.failed.end()) self.failed.push_back(subject);
    } else if (it != self.failed.end()) {
      self.failed.erase(it);
    }
  }
  if (trace_.recording())
    trace_.line(std::to_string(now_.time_since_epoch().count()) + " " + name_of(n) + " event " +
                swim::to_string(e.kind) + " " + e.member.name + " inc=" + std::to_string(e.member.incarnation));
  if (on_member_event) on_member_event(now_, n, e);
}

void simulator::member_suspected(node_id n, const swim::member_info& m) {
  if (on_suspect) on_suspect(now_, n, id_of(m.name));
}

void simulator::user_message(node_id n, std::span<const std::uint8_t> payload) {
  if (on_user_message) on_user_message(now_, n, payload);
}

// ---------------------------------------------------------------------------
// Running.

void simulator::push(event e) {
  // Nothing is scheduled in the past: a deadline that expired while the
  // node was stalled is reported now, not back in time (which would rewind
  // the virtual clock for everyone).
  e.at = std::max(e.at, now_);
  queue_.push(std::move(e));
}

void simulator::run_until(time_point t) {
  while (queue_.due(t)) {
    event e = queue_.pop();
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

// ---------------------------------------------------------------------------
// Faults.

void simulator::crash(node_id n) {
  auto& nd = nodes_[n];
  if (!nd.up) return;
  nd.up = false;
  ++nd.epoch;  // its pending timers, exchange results and deferred work die with it
  nd.failed.clear();
}

void simulator::revive(node_id n) {
  auto& nd = nodes_[n];
  nd.up = true;
  nd.stalled_until = {};
  nd.backlog_bytes = 0;
  make_node(n);
}

void simulator::restart(node_id n) {
  if (nodes_[n].up) return;
  revive(n);
  std::vector<node_id> live;
  for (node_id i = 0; i < nodes_.size(); ++i)
    if (i != n && nodes_[i].up) live.push_back(i);
  if (!live.empty()) join(n, {live[root_rng_.below(live.size())]});
}

void simulator::restart(node_id n, node_id seed) {
  if (nodes_[n].up) return;
  revive(n);
  join(n, {seed});
}

void simulator::stall(node_id n, duration d, stall_mode mode) {
  nodes_[n].stalled_until = std::max(nodes_[n].stalled_until, now_ + d);
  nodes_[n].stall_kind = mode;
}

void simulator::leave(node_id n) {
  if (nodes_[n].up) nodes_[n].machine->leave(now_);
}

// ---------------------------------------------------------------------------
// Observing.

void simulator::queue_user_broadcast(node_id n, std::span<const std::uint8_t> payload) {
  bare_of(n).queue_user_broadcast(now_, payload);
}

std::optional<swim::member_state> simulator::state_in(node_id observer, node_id subject) const {
  const auto& t = core(observer).members();
  auto idx = t.find(name_of(subject));
  if (!idx) return std::nullopt;
  return t.at(*idx).state;
}

agent::member_status simulator::status_in(node_id observer, node_id subject) {
  auto m = serf(observer).find_member(name_of(subject));
  return m ? m->status : agent::member_status::none;
}

bool simulator::status_everywhere(node_id subject, agent::member_status s) {
  for (node_id i = 0; i < nodes_.size(); ++i) {
    if (i == subject || !nodes_[i].up) continue;
    if (status_in(i, subject) != s) return false;
  }
  return true;
}

totals simulator::stats() const {
  totals t = totals_;
  t.push_pull_tables = wire_.counts().push_pull_tables;
  t.push_pull_tables_encoded = wire_.counts().push_pull_tables_encoded;
  t.decode_errors += wire_.counts().mismatched_sizes;  // the codec and stream_body_size disagree
  return t;
}

}  // namespace chorus::sim
