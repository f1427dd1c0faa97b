// Entry points: commands, inputs and timer dispatch. Probing is in
// core_probe.cpp, gossip and push/pull in core_gossip.cpp, state transitions
// (alive/suspect/dead, refutation, push/pull merge) in core_state.cpp.
#include "swim/core.hpp"

#include <algorithm>
#include <cmath>

#include "common/enum_names.hpp"
#include "swim/codec.hpp"

namespace chorus::swim {

const char* to_string(member_event_kind k) {
  return enum_name<member_event_kind::failed>(k, {"join", "update", "leave", "failed"});
}

core::core(config cfg, std::uint64_t seed, delegate* d)
    : cfg_(std::move(cfg)),
      rng_(seed),
      delegate_(d),
      awareness_(cfg_.awareness_max_multiplier, cfg_.lifeguard.local_health),
      broadcasts_(cfg_.max_broadcasts),
      user_broadcasts_(cfg_.max_user_broadcasts) {}

timer_token core::arm(time_point at, pending_timer t, core_sink rt) {
  const timer_token token = next_token_++;
  timers_.emplace(token, std::move(t));
  rt.out.set_timer(at, token);
  return token;
}

void core::start(time_point now, core_sink rt) {
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

std::uint64_t core::join(time_point now, std::span<const address> seeds, core_sink rt) {
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
    rt.out.start_push_pull(to, id, state, now + cfg_.tcp_timeout);
  }
  if (js.pending == 0) {
    joins_.erase(join_id);
    rt.on.join_finished(join_id, 0, 0);
  }
  return join_id;
}

void core::leave(time_point now, core_sink rt) {
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
    rt.on.leave_finished();
  }
}

bool core::set_meta(time_point now, bytes meta, core_sink rt) {
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

void core::queue_user_broadcast(time_point now, std::span<const std::uint8_t> payload, core_sink rt, std::string name) {
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

void core::handle_packet(time_point now, const address& from, std::span<const std::uint8_t> data, core_sink rt) {
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

void core::handle_message(time_point now, const address& from, const message& m, core_sink rt) {
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
          if (!refuse(from, msg.node, check(msg, admission()), rt)) alive_node(now, msg, false, rt);
        } else if constexpr (std::is_same_v<T, dead>) {
          if (!refuse(from, msg.node, check_accusation(msg.incarnation), rt)) dead_node(now, msg, rt);
        } else if constexpr (std::is_same_v<T, user>)
          rt.on.user_message(msg.payload);
        // err only answers TCP requests; nothing to do on UDP.
      },
      m);
  finish_tokens(rt);
}

void core::handle_timer(time_point now, timer_token token, core_sink rt) {
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

void core::tcp_ping_completed(time_point now, exchange_id id, bool ok, core_sink rt) {
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

void core::finish_tokens(core_sink rt) {
  if (finished_.empty()) return;
  auto done = std::move(finished_);
  finished_.clear();
  for (auto t : done) {
    if (t == leave_token_ && t != 0) {
      leave_token_ = 0;
      rt.on.leave_finished();
    } else if (t == meta_token_ && t != 0) {
      meta_token_ = 0;
      rt.on.meta_update_finished();
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
