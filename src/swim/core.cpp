// Entry points, probing and gossip. State transitions (alive/suspect/dead,
// refutation, push/pull merge) are in core_state.cpp.
#include "swim/core.hpp"

#include <algorithm>
#include <cmath>

#include "swim/codec.hpp"

namespace chorus::swim {

namespace {
// Per part: the u16 length in the compound header (5).
constexpr std::size_t part_overhead = compound_overhead_per_part;
// AES-GCM version 1 envelope: version + nonce + tag (8.2).
constexpr std::size_t encryption_overhead = 29;
// One packet carries at most this many messages (5: 0.2.2 mis-parses >= 128).
constexpr std::size_t max_parts = max_compound_parts;
}  // namespace

const char* to_string(member_event_kind k) {
  switch (k) {
    case member_event_kind::join:
      return "join";
    case member_event_kind::update:
      return "update";
    case member_event_kind::leave:
      return "leave";
    case member_event_kind::failed:
      return "failed";
  }
  return "?";
}

core::core(config cfg, std::uint64_t seed, delegate* d)
    : cfg_(std::move(cfg)),
      rng_(seed),
      delegate_(d),
      awareness_(cfg_.awareness_max_multiplier, cfg_.lifeguard.local_health),
      broadcasts_(cfg_.max_broadcasts),
      user_broadcasts_(cfg_.max_user_broadcasts) {}

timer_token core::arm(time_point at, pending_timer t, runtime& rt) {
  const timer_token token = next_token_++;
  timers_.emplace(token, std::move(t));
  rt.set_timer(at, token);
  return token;
}

// A random point in [0, interval): memberlist staggers its tickers so that
// nodes started together do not probe and gossip in lockstep.
static duration stagger(random_source& rng, duration interval) {
  return duration{
      static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(std::max<std::int64_t>(1, interval.count()))))};
}

void core::start(time_point now, runtime& rt) {
  if (started_) return;
  started_ = true;
  incarnation_ = 1;
  alive a;
  a.incarnation = incarnation_;
  a.node = cfg_.name;
  a.addr = cfg_.advertise.ip_bytes();
  a.port = cfg_.advertise.port;
  a.vsn = cfg_.vsn;
  a.meta = cfg_.meta;
  alive_node(now, a, true, rt);
  probe_timer_ = arm(now + stagger(rng_, cfg_.probe_interval), {timer_kind::probe_tick}, rt);
  gossip_timer_ = arm(now + stagger(rng_, cfg_.gossip_interval), {timer_kind::gossip_tick}, rt);
  if (cfg_.push_pull_interval > duration::zero())
    push_pull_timer_ = arm(now + stagger(rng_, cfg_.push_pull_interval), {timer_kind::push_pull_tick}, rt);
}

std::uint64_t core::join(time_point now, std::span<const address> seeds, runtime& rt) {
  static_assert(sizeof(std::uint64_t) >= sizeof(exchange_id));
  const std::uint64_t join_id = next_exchange_;  // unique, shares the counter
  join_state& js = joins_[join_id];
  const push_pull state = local_state(true);
  for (const auto& to : seeds) {
    const exchange_id id = next_exchange_++;
    exchanges_[id] = exchange{join_id, false, 0, to};
    ++js.pending;
    ++push_pulls_in_flight_;
    ++stats_.push_pulls_started;
    rt.start_push_pull(to, id, state, now + cfg_.tcp_timeout);
  }
  if (js.pending == 0) {
    joins_.erase(join_id);
    rt.join_finished(join_id, 0, 0);
  }
  return join_id;
}

void core::leave(time_point now, runtime& rt) {
  if (leaving_) return;
  leaving_ = true;
  auto idx = members_.find(cfg_.name);
  if (!idx) return;
  leave_token_ = next_broadcast_token_++;
  dead d{incarnation_, cfg_.name, cfg_.name};
  dead_node(now, d, rt);
  // Nobody to tell: done at once (13.11).
  bool anyone = false;
  for (std::size_t i = 0; i < members_.size(); ++i)
    if (!is_self(members_.name(i)) && members_.at(i).state == member_state::alive) anyone = true;
  if (!anyone) {
    leave_token_ = 0;
    rt.leave_finished();
  }
}

bool core::set_meta(time_point now, bytes meta, runtime& rt) {
  if (meta.size() > cfg_.meta_max_size) return false;
  auto idx = members_.find(cfg_.name);
  if (!idx) return false;
  ++incarnation_;
  alive a;
  a.incarnation = incarnation_;
  a.node = cfg_.name;
  a.addr = cfg_.advertise.ip_bytes();
  a.port = cfg_.advertise.port;
  a.meta = std::move(meta);
  a.vsn = cfg_.vsn;
  meta_token_ = next_broadcast_token_++;
  alive_node(now, a, true, rt);
  return true;
}

void core::queue_user_broadcast(time_point now, std::span<const std::uint8_t> payload, runtime& rt, std::string name) {
  bytes msg;
  msg.reserve(payload.size() + 1);
  msg.push_back(static_cast<std::uint8_t>(message_type::user));
  msg.insert(msg.end(), payload.begin(), payload.end());
  user_broadcasts_.push(std::move(name), std::move(msg), 0, finished_);
  finished_.clear();  // user items carry no tokens
  wake_gossip(now, rt);
}

// ---------------------------------------------------------------------------
// Inputs.

void core::handle_packet(time_point now, const address& from, std::span<const std::uint8_t> data, runtime& rt) {
  if (data.empty()) return;  // memberlist ignores 0-byte datagrams
  ++stats_.packets_received;
  stats_.bytes_received += data.size();
  if (data[0] == static_cast<std::uint8_t>(message_type::compound)) {
    auto split = split_compound(data);
    if (!split.ok()) {
      ++stats_.decode_errors;
      return;
    }
    if (split.value.truncated) ++stats_.decode_errors;
    for (auto part : split.value.parts) {
      auto m = decode(part);
      if (!m.ok()) {
        ++stats_.decode_errors;
        continue;
      }
      handle_message(now, from, m.value, rt);
    }
    return;
  }
  auto m = decode(data);
  if (!m.ok()) {
    ++stats_.decode_errors;
    return;
  }
  handle_message(now, from, m.value, rt);
}

void core::handle_message(time_point now, const address& from, const message& m, runtime& rt) {
  if (!started_) return;
  std::visit(
      [&](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, ping>)
          on_ping(now, from, msg, rt);
        else if constexpr (std::is_same_v<T, indirect_ping>)
          on_indirect_ping(now, from, msg, rt);
        else if constexpr (std::is_same_v<T, ack>)
          on_ack(now, msg, rt);
        else if constexpr (std::is_same_v<T, nack>)
          on_nack(msg);
        else if constexpr (std::is_same_v<T, suspect>) {
          if (!refuse(from, msg.node, check_accusation(msg.incarnation), rt)) suspect_node(now, msg, rt);
        } else if constexpr (std::is_same_v<T, alive>) {
          if (!refuse(from, msg.node, check(msg, cfg_.meta_max_size), rt)) alive_node(now, msg, false, rt);
        } else if constexpr (std::is_same_v<T, dead>) {
          if (!refuse(from, msg.node, check_accusation(msg.incarnation), rt)) dead_node(now, msg, rt);
        } else if constexpr (std::is_same_v<T, user>)
          rt.user_message(msg.payload);
        // err only answers TCP requests; nothing to do on UDP.
      },
      m);
  finish_tokens(rt);
}

void core::handle_timer(time_point now, timer_token token, runtime& rt) {
  auto taken = timers_.take(token);
  if (!taken) return;  // stale: cancelled or replaced
  pending_timer t = std::move(*taken);
  switch (t.kind) {
    case timer_kind::probe_tick:
      probe_timer_ = arm(now + cfg_.probe_interval, {timer_kind::probe_tick}, rt);
      probe_tick(now, rt);
      break;
    case timer_kind::gossip_tick:
      gossip_timer_ = 0;
      gossip_tick(now, rt);
      if (has_gossip()) {
        gossip_timer_ = arm(now + cfg_.gossip_interval, {timer_kind::gossip_tick}, rt);
      } else {
        gossip_parked_at_ = now;
      }
      break;
    case timer_kind::push_pull_tick:
      push_pull_timer_ = arm(now + push_pull_interval(), {timer_kind::push_pull_tick}, rt);
      push_pull_tick(now, rt);
      break;
    case timer_kind::probe_direct:
      probe_direct_timer_ = 0;
      probe_direct_timeout(now, t.seq, rt);
      break;
    case timer_kind::probe_window:
      probe_window_timer_ = 0;
      probe_window_end(now, t.seq, rt);
      break;
    case timer_kind::relay_timeout:
      relay_timeout(t.seq, rt);
      break;
    case timer_kind::suspicion:
      suspicion_fired(now, t.node, rt);
      break;
    case timer_kind::recheck_direct:
      recheck_direct_timeout(now, t.node, t.seq, rt);
      break;
    case timer_kind::precheck:
      precheck(now, t.node, rt);
      break;
  }
  finish_tokens(rt);
}

std::optional<ack> core::handle_stream_ping(const ping& p) const {
  if (!p.node.empty() && !is_self(p.node)) return std::nullopt;
  return ack{p.seq_no, {}};  // TCP acks carry no payload (10.3)
}

void core::tcp_ping_completed(time_point now, exchange_id id, bool ok, runtime& rt) {
  auto it = exchanges_.find(id);
  if (it == exchanges_.end()) return;
  const std::uint32_t recheck_seq = it->second.recheck_seq;
  exchanges_.erase(it);
  if (recheck_seq != 0) {
    if (auto r = rechecks_.find(recheck_seq); r != rechecks_.end()) {
      const std::string node = r->second;
      if (auto s = suspicions_.find(node); s != suspicions_.end() && s->second.recheck_seq == recheck_seq) {
        s->second.recheck_tcp_pending = false;
        if (ok)
          recheck_answered(now, node, recheck_seq, rt);
        else if (s->second.recheck_window_over)
          suspicion_fired(now, node, rt);  // the grace wait is over: decide now
      }
    }
    finish_tokens(rt);
    return;
  }
  if (!probe_.active || probe_.tcp_id != id) return;
  probe_.tcp_pending = false;
  probe_.tcp_ok = ok;
  if (probe_.window_over) probe_finish(now, ok, rt);
  finish_tokens(rt);
}

// ---------------------------------------------------------------------------
// Probing (13.3, 13.4).

void core::probe_tick(time_point now, runtime& rt) {
  // memberlist's probe ticker drops ticks while a probe is still running.
  if (probe_.active) return;
  std::size_t checked = 0;
  while (checked < members_.size()) {
    if (probe_index_ >= members_.size()) {
      reset_members(now);
      probe_index_ = 0;
      ++checked;
      continue;
    }
    const std::size_t idx = probe_index_++;
    const auto& e = members_.at(idx);
    if (is_self(members_.name(e)) || e.dead_or_left()) {
      ++checked;
      continue;
    }
    probe_node(now, idx, rt);
    return;
  }
}

void core::reset_members(time_point now) {
  // Purge nodes dead for longer than gossip_to_the_dead_time (0.2.2: only
  // dead; left entries stay), then shuffle.
  members_.reset(rng_, [&](const member_entry& e) {
    return e.state == member_state::dead && now - e.state_change() > cfg_.gossip_to_the_dead_time;
  });
}

void core::probe_node(time_point now, std::size_t idx, runtime& rt) {
  const member_entry e = members_.at(idx);
  const std::string target{members_.name(e)};
  ++stats_.probes;
  probe_ = probe_state{};
  probe_.active = true;
  probe_.seq = ++seq_no_;
  probe_.target = target;
  probe_.target_addr = members_.addr(e);
  probe_.sent = now;

  send_probe_ping(probe_.seq, e, target, probe_.target_addr, rt);
  const duration window = awareness_.scale(cfg_.probe_interval);
  probe_direct_timer_ = arm(now + cfg_.probe_timeout, {timer_kind::probe_direct, probe_.seq}, rt);
  probe_window_timer_ = arm(now + window, {timer_kind::probe_window, probe_.seq}, rt);
}

ping core::make_ping(std::uint32_t seq, const std::string& target) const {
  ping p;
  p.seq_no = seq;
  p.node = target;
  p.source_addr = cfg_.advertise.ip_bytes();
  p.source_port = cfg_.advertise.port;
  p.source_node = cfg_.name;
  return p;
}

void core::send_probe_ping(std::uint32_t seq, const member_entry& e, const std::string& target, const address& to,
                           runtime& rt) {
  const ping p = make_ping(seq, target);
  if (e.state == member_state::alive || !cfg_.lifeguard.buddy_system) {
    send_message(to, p, rt);
  } else {
    // Buddy system: tell the suspect directly, so it can refute now.
    bytes parts[2];
    encode(p, parts[0]);
    encode(suspect{e.incarnation, target, cfg_.name}, parts[1]);
    bytes packet;
    encode_compound(parts, packet);
    send_raw(to, std::move(packet), members_.pmax(e) >= 5, rt);
  }
}

std::vector<std::size_t> core::send_ping_reqs(std::uint32_t seq, const std::string& target, const member_entry& te,
                                              bool want_nacks, int& expected_nacks, runtime& rt) {
  indirect_ping ind;
  ind.seq_no = seq;
  ind.target = members_.addr(te).ip_bytes();
  ind.port = te.port;
  ind.node = target;
  ind.source_addr = cfg_.advertise.ip_bytes();
  ind.source_port = cfg_.advertise.port;
  ind.source_node = cfg_.name;
  const auto helpers = random_members(static_cast<std::size_t>(std::max(0, cfg_.indirect_checks)),
                                      [&](const member_entry& m, std::string_view n) {
                                        return is_self(n) || n == target || m.state != member_state::alive;
                                      });
  std::vector<address> helper_addrs;
  for (auto h : helpers) helper_addrs.push_back(members_.addr(members_.at(h)));
  for (std::size_t i = 0; i < helpers.size(); ++i) {
    ind.nack = want_nacks && members_.pmax(members_.at(helpers[i])) >= 4;
    if (ind.nack) ++expected_nacks;
    ++stats_.indirect_probes;
    send_message(helper_addrs[i], ind, rt);
  }
  return helpers;
}

std::optional<exchange_id> core::start_tcp_ping(std::uint32_t seq, const std::string& target, const member_entry& te,
                                                const address& to, time_point deadline, runtime& rt) {
  if (cfg_.disable_tcp_pings || members_.pmax(te) < 3) return std::nullopt;
  const ping p = make_ping(seq, target);
  const exchange_id id = next_exchange_++;
  exchanges_[id] = exchange{0, true, 0, to};
  ++stats_.tcp_pings;
  rt.start_tcp_ping(to, id, p, deadline);
  return id;
}

void core::probe_direct_timeout(time_point now, std::uint32_t seq, runtime& rt) {
  if (!probe_.active || probe_.seq != seq) return;
  probe_.direct_stage = false;
  auto idx = members_.find(probe_.target);
  if (!idx) return;
  const member_entry target = members_.at(*idx);
  const std::string name = probe_.target;
  for (auto h : send_ping_reqs(seq, name, target, cfg_.lifeguard.nacks, probe_.expected_nacks, rt))
    probe_.helpers.emplace_back(members_.name(h));
  if (auto id = start_tcp_ping(seq, name, target, probe_.target_addr,
                               probe_.sent + awareness_.scale(cfg_.probe_interval), rt)) {
    probe_.tcp_pending = true;
    probe_.tcp_id = *id;
  }
  (void)now;
}

void core::probe_window_end(time_point now, std::uint32_t seq, runtime& rt) {
  if (!probe_.active || probe_.seq != seq) return;
  if (probe_.tcp_pending && !probe_.window_over) {
    // tcp_ping_completed decides; a runtime that never reports (it should,
    // by the deadline) must not stop probing forever: give it one probe
    // timeout of grace, then count the TCP ping as failed.
    probe_.window_over = true;
    probe_window_timer_ = arm(now + cfg_.probe_timeout, {timer_kind::probe_window, seq}, rt);
    return;
  }
  probe_.window_over = true;
  probe_finish(now, probe_.tcp_ok, rt);
}

void core::probe_finish(time_point now, bool ok, runtime& rt) {
  probe_.active = false;
  {
    probe_report r;
    r.target = probe_.target;
    r.started = probe_.sent;
    r.ok = ok;
    r.direct = ok && probe_.direct_stage;
    r.helpers = std::move(probe_.helpers);
    r.expected_nacks = probe_.expected_nacks;
    r.nacks = probe_.nacks;
    r.tcp_attempted = probe_.tcp_id != 0;
    r.tcp_ok = probe_.tcp_ok;
    rt.probe_finished(r);
  }
  disarm(probe_direct_timer_);
  disarm(probe_window_timer_);
  if (probe_.tcp_pending) {
    exchanges_.erase(probe_.tcp_id);
    probe_.tcp_pending = false;
  }
  if (ok) {
    awareness_.apply_delta(-1);
    return;
  }
  ++stats_.probe_failures;
  // Missing nacks say the helpers could not reach us either: evidence that
  // we are the sick one (13.9).
  if (probe_.expected_nacks > 0)
    awareness_.apply_delta(probe_.expected_nacks - probe_.nacks);
  else
    awareness_.apply_delta(1);
  auto idx = members_.find(probe_.target);
  if (!idx) return;
  ++stats_.suspicions_raised;
  suspect_node(now, suspect{members_.at(*idx).incarnation, probe_.target, cfg_.name}, rt);
}

void core::on_ping(time_point now, const address& from, const ping& p, runtime& rt) {
  (void)now;
  if (!p.node.empty() && !is_self(p.node)) return;  // meant for a previous owner of this address
  ack a{p.seq_no, delegate_ ? delegate_->ack_payload() : bytes{}};
  const address to =
      (!p.source_addr.empty() && p.source_port != 0) ? address::from(p.source_addr, p.source_port) : from;
  send_message(to, a, rt);
}

void core::on_indirect_ping(time_point now, const address& from, const indirect_ping& ind, runtime& rt) {
  const std::uint32_t local = ++seq_no_;
  relay_state r;
  r.requester =
      (!ind.source_addr.empty() && ind.source_port != 0) ? address::from(ind.source_addr, ind.source_port) : from;
  r.requester_seq = ind.seq_no;
  r.want_nack = ind.nack;
  r.timer = arm(now + cfg_.probe_timeout, {timer_kind::relay_timeout, local}, rt);
  relays_[local] = r;
  const ping p = make_ping(local, ind.node);
  send_message(address::from(ind.target, ind.port ? ind.port : cfg_.advertise.port), p, rt);
}

void core::relay_timeout(std::uint32_t seq, runtime& rt) {
  auto it = relays_.find(seq);
  if (it == relays_.end()) return;
  const relay_state r = it->second;
  relays_.erase(it);
  if (r.want_nack) send_message(r.requester, nack{r.requester_seq}, rt);
}

void core::on_ack(time_point now, const ack& a, runtime& rt) {
  if (auto it = relays_.find(a.seq_no); it != relays_.end()) {
    relay_state r = it->second;
    relays_.erase(it);
    disarm(r.timer);
    send_message(r.requester, ack{r.requester_seq, {}}, rt);  // forwarded acks carry no payload
    return;
  }
  if (!rechecks_.empty()) {
    if (auto r = rechecks_.find(a.seq_no); r != rechecks_.end()) {
      const std::string node = r->second;
      recheck_answered(now, node, a.seq_no, rt);
      return;
    }
  }
  if (!probe_.active || probe_.seq != a.seq_no) return;  // late or unknown: ignored
  if (probe_.direct_stage) rt.ping_complete(probe_.target, now - probe_.sent, a.payload);
  probe_finish(now, true, rt);
}

void core::on_nack(const nack& n) {
  if (probe_.active && probe_.seq == n.seq_no) ++probe_.nacks;
}

// ---------------------------------------------------------------------------
// Gossip (13.7) and push/pull (13.10).

template <class F>
std::vector<std::size_t> core::random_members(std::size_t k, F exclude) {
  std::vector<std::size_t> out;
  const std::size_t n = members_.size();
  for (std::size_t i = 0; i < 3 * n && out.size() < k; ++i) {
    const std::size_t idx = rng_.below(n);
    if (exclude(members_.at(idx), members_.name(idx))) continue;
    if (std::find(out.begin(), out.end(), idx) != out.end()) continue;
    out.push_back(idx);
  }
  return out;
}

std::size_t core::take_broadcasts(std::size_t limit, std::vector<bytes>& parts, runtime& rt) {
  (void)rt;
  const int tl = transmit_limit();
  // Membership first, but hold back up to user_packet_share of the packet
  // for user messages when some are waiting: ours or the layer above's
  // (Serf's events and queries). Without the share, a user event sent just
  // after a join storm waits until every queued alive has been sent its
  // transmit limit (~1.5 s at N = 100).
  std::size_t reserve = 0;
  if (!user_broadcasts_.empty() || (delegate_ && delegate_->has_user_broadcasts()))
    reserve = static_cast<std::size_t>(static_cast<double>(limit) * cfg_.user_packet_share);
  std::size_t used = 0;
  if (!broadcasts_.empty()) used += broadcasts_.take(part_overhead, limit - reserve, tl, parts, finished_);
  if (!user_broadcasts_.empty() && limit > used + part_overhead + 1)
    used += user_broadcasts_.take(part_overhead, limit - used, tl, parts, finished_);
  // The layer above (Serf) keeps its own queues; they get the rest.
  if (delegate_ && delegate_->has_broadcasts() && limit > used + part_overhead + 1)
    used += delegate_->broadcasts(part_overhead, limit - used, parts);
  if (parts.size() > max_parts - 1) parts.resize(max_parts - 1);  // 1 slot kept for the carrier message
  return used;
}

void core::send_raw(const address& to, bytes packet, bool crc, runtime& rt) {
  ++stats_.packets_sent;
  stats_.bytes_sent += packet.size();
  rt.send_packet(to, std::move(packet), crc);
}

void core::send_message(const address& to, const message& m, runtime& rt) {
  bytes msg;
  encode(m, msg);
  const std::size_t budget = cfg_.udp_buffer_size - (cfg_.encryption ? encryption_overhead : 0);
  std::vector<bytes> parts;
  if (budget > msg.size() + part_overhead + compound_header_len)
    take_broadcasts(budget - msg.size() - part_overhead - compound_header_len, parts, rt);
  if (parts.empty()) {
    send_raw(to, std::move(msg), false, rt);
    return;
  }
  parts.insert(parts.begin(), std::move(msg));
  bytes packet;
  encode_compound(parts, packet);
  send_raw(to, std::move(packet), false, rt);
}

void core::gossip_now(time_point now, runtime& rt) {
  if (last_eager_gossip_ && now - *last_eager_gossip_ < cfg_.gossip_interval / 4) return;
  last_eager_gossip_ = now;
  gossip_tick(now, rt);
}

bool core::has_gossip() const {
  return !broadcasts_.empty() || !user_broadcasts_.empty() || (delegate_ && delegate_->has_broadcasts());
}

void core::wake_gossip(time_point now, runtime& rt) {
  if (!gossip_parked_at_ || gossip_timer_ != 0 || !has_gossip()) return;
  // The next tick of the parked timer's phase, as if it had kept ticking.
  const auto ticks = (now - *gossip_parked_at_) / cfg_.gossip_interval + 1;
  gossip_timer_ = arm(*gossip_parked_at_ + ticks * cfg_.gossip_interval, {timer_kind::gossip_tick}, rt);
  gossip_parked_at_.reset();
}

void core::gossip_tick(time_point now, runtime& rt) {
  if (!has_gossip()) return;
  const auto targets = random_members(static_cast<std::size_t>(std::max(0, cfg_.gossip_nodes)),
                                      [&](const member_entry& m, std::string_view n) {
                                        if (is_self(n)) return true;
                                        switch (m.state) {
                                          case member_state::alive:
                                          case member_state::suspect:
                                            return false;
                                          case member_state::dead:
                                            return now - m.state_change() > cfg_.gossip_to_the_dead_time;
                                          default:
                                            return true;
                                        }
                                      });
  std::vector<std::pair<address, bool>> to;
  for (auto idx : targets) to.emplace_back(members_.addr(members_.at(idx)), members_.pmax(members_.at(idx)) >= 5);
  const std::size_t budget = cfg_.udp_buffer_size - compound_header_len - (cfg_.encryption ? encryption_overhead : 0);
  for (const auto& [addr, crc] : to) {
    std::vector<bytes> parts;
    take_broadcasts(budget, parts, rt);
    if (parts.empty()) break;
    ++stats_.gossip_packets;
    if (parts.size() == 1) {
      send_raw(addr, std::move(parts[0]), crc, rt);
    } else {
      bytes packet;
      encode_compound(parts, packet);
      send_raw(addr, std::move(packet), crc, rt);
    }
  }
}

duration core::push_pull_interval() const {
  // Scale for big clusters so the total sync load stays bounded (13.10).
  const std::size_t n = members_.size();
  if (n <= 32) return cfg_.push_pull_interval;
  const double mult = std::ceil(std::log2(static_cast<double>(n)) - std::log2(32.0)) + 1.0;
  return cfg_.push_pull_interval * static_cast<std::int64_t>(mult);
}

void core::restagger_push_pull(time_point now, runtime& rt) {
  if (push_pull_timer_ == 0) return;
  disarm(push_pull_timer_);
  push_pull_timer_ = arm(now + stagger(rng_, push_pull_interval()), {timer_kind::push_pull_tick}, rt);
}

void core::sync_soon_after_join(time_point now, runtime& rt) {
  if (push_pull_timer_ == 0) return;
  // The nodes of a join storm gossip each other's alives for about this
  // long; what we missed by then only a push/pull brings.
  const duration spent = cfg_.gossip_interval * transmit_limit();
  disarm(push_pull_timer_);
  push_pull_timer_ = arm(now + spent + stagger(rng_, spent), {timer_kind::push_pull_tick}, rt);
}

void core::push_pull_tick(time_point now, runtime& rt) {
  const auto peer = random_members(
      1, [&](const member_entry& m, std::string_view n) { return is_self(n) || m.state != member_state::alive; });
  if (peer.empty()) return;
  start_sync(now, members_.addr(members_.at(peer[0])), rt);
}

void core::start_sync(time_point now, const address& to, runtime& rt) {
  if (push_pulls_in_flight_ >= cfg_.max_concurrent_push_pulls) {
    ++stats_.push_pulls_skipped;
    return;
  }
  const exchange_id id = next_exchange_++;
  exchanges_[id] = exchange{0, false, 0, to};
  ++push_pulls_in_flight_;
  ++stats_.push_pulls_started;
  rt.start_push_pull(to, id, local_state(false), now + cfg_.tcp_timeout);
}

void core::push_pull_completed(time_point now, exchange_id id, const push_pull& remote, runtime& rt) {
  auto it = exchanges_.find(id);
  if (it == exchanges_.end() || it->second.tcp_ping) return;
  const std::uint64_t join_id = it->second.join_id;
  const address peer = it->second.peer;
  exchanges_.erase(it);
  --push_pulls_in_flight_;
  const bool ok = accept_remote(now, peer, remote, rt);
  if (join_id) join_exchange_ended(now, join_id, ok, rt);
  finish_tokens(rt);
}

void core::push_pull_failed(time_point now, exchange_id id, runtime& rt) {
  auto it = exchanges_.find(id);
  if (it == exchanges_.end() || it->second.tcp_ping) return;
  const std::uint64_t join_id = it->second.join_id;
  exchanges_.erase(it);
  --push_pulls_in_flight_;
  if (join_id) join_exchange_ended(now, join_id, false, rt);
}

void core::join_exchange_ended(time_point now, std::uint64_t join_id, bool ok, runtime& rt) {
  auto js = joins_.find(join_id);
  if (js == joins_.end()) return;
  if (ok && js->second.ok == 0 && cfg_.early_sync_after_join) sync_soon_after_join(now, rt);
  (ok ? js->second.ok : js->second.failed)++;
  if (--js->second.pending == 0) {
    const join_state done = js->second;
    joins_.erase(js);
    rt.join_finished(join_id, done.ok, done.failed);
  }
}

push_pull core::handle_push_pull(time_point now, const address& from, const push_pull& remote, runtime& rt) {
  push_pull reply = local_state(remote.join);
  accept_remote(now, from, remote, rt);
  finish_tokens(rt);
  return reply;
}

void core::finish_tokens(runtime& rt) {
  if (finished_.empty()) return;
  auto done = std::move(finished_);
  finished_.clear();
  for (auto t : done) {
    if (t == leave_token_ && t != 0) {
      leave_token_ = 0;
      rt.leave_finished();
    } else if (t == meta_token_ && t != 0) {
      meta_token_ = 0;
      rt.meta_update_finished();
    }
  }
}

std::size_t core::num_alive() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    const auto s = members_.at(i).state;
    if (s == member_state::alive || s == member_state::suspect) ++n;
  }
  return n;
}

std::size_t core::memory_bytes() const {
  return sizeof(*this) + members_.memory_bytes() + timers_.size() * 64 + suspicions_.size() * 160 +
         (broadcasts_.size() + user_broadcasts_.size()) * 160 + relays_.size() * 64;
}

}  // namespace chorus::swim
