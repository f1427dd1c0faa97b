// Probing (memberlist.md 13.3, 13.4): the probe round, ping-req helpers,
// the TCP fallback, and answering other nodes' pings and ping-reqs.
#include <algorithm>

#include "swim/codec.hpp"
#include "swim/core.hpp"

namespace chorus::swim {

void core::probe_tick(time_point now, core_sink rt) {
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
  // dead; left entries stay unless config::purge_left_nodes), then shuffle.
  members_.reset(rng_, [&](const member_entry& e) {
    const bool gone = e.state == member_state::dead || (cfg_.purge_left_nodes && e.state == member_state::left);
    return gone && now - e.state_change() > cfg_.gossip_to_the_dead_time;
  });
}

void core::probe_node(time_point now, std::size_t idx, core_sink rt) {
  const member_entry e = members_.at(idx);
  const std::string target{members_.name(e)};
  ++stats_.probes;
  probe_ = probe_state{};
  probe_.active = true;
  probe_.seq = ++seq_no_;
  probe_.target = target;
  probe_.target_addr = members_.addr(e);
  probe_.sent = now;

  probe_.send_failed = send_probe_ping(probe_.seq, e, target, probe_.target_addr, rt) == send_result::unreachable;
  if (probe_.send_failed) ++stats_.probe_send_errors;
  // No ack can come for a ping that was never sent: ask the others now
  // instead of after probe_timeout (memberlist #242).
  const bool indirect_now = probe_.send_failed && cfg_.probe_indirectly_on_send_error;
  const duration window = awareness_.scale(cfg_.probe_interval);
  probe_.direct_due = now + cfg_.probe_timeout;
  probe_.window_due = now + window;
  if (!indirect_now) probe_direct_timer_ = arm(probe_.direct_due, {timer_kind::probe_direct, probe_.seq}, rt);
  probe_window_timer_ = arm(probe_.window_due, {timer_kind::probe_window, probe_.seq}, rt);
  if (indirect_now) probe_direct_timeout(now, probe_.seq, rt);
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

send_result core::send_probe_ping(std::uint32_t seq, const member_entry& e, const std::string& target,
                                  const address& to, core_sink rt) {
  const ping p = make_ping(seq, target);
  if (e.state == member_state::alive || !cfg_.lifeguard.buddy_system) {
    return send_message(to, p, rt);
  } else {
    // Buddy system: tell the suspect directly, so it can refute now.
    bytes parts[2];
    encode(p, parts[0]);
    encode(suspect{e.incarnation, target, cfg_.name}, parts[1]);
    bytes packet;
    encode_compound(parts, packet);
    return send_raw(to, std::move(packet), members_.pmax(e) >= 5, rt);
  }
}

std::vector<std::size_t> core::send_ping_reqs(std::uint32_t seq, const std::string& target, const member_entry& te,
                                              bool want_nacks, int& expected_nacks, core_sink rt) {
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
                                                const address& to, time_point deadline, core_sink rt) {
  if (cfg_.disable_tcp_pings || members_.pmax(te) < 3) return std::nullopt;
  const ping p = make_ping(seq, target);
  const exchange_id id = next_exchange_++;
  exchanges_[id] = exchange{0, true, 0, to};
  ++stats_.tcp_pings;
  rt.out.start_tcp_ping(to, id, p, deadline);
  return id;
}

void core::note_lateness(time_point now, time_point due) {
  if (now - due > cfg_.probe_timeout / 2) probe_.late = true;
}

void core::probe_direct_timeout(time_point now, std::uint32_t seq, core_sink rt) {
  if (!probe_.active || probe_.seq != seq) return;
  note_lateness(now, probe_.direct_due);
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

void core::probe_window_end(time_point now, std::uint32_t seq, core_sink rt) {
  if (!probe_.active || probe_.seq != seq) return;
  note_lateness(now, probe_.window_due);
  if (probe_.tcp_pending && !probe_.window_over) {
    // tcp_ping_completed decides; a runtime that never reports (it should,
    // by the deadline) must not stop probing forever: give it one probe
    // timeout of grace, then count the TCP ping as failed.
    probe_.window_over = true;
    probe_.window_due = now + cfg_.probe_timeout;
    probe_window_timer_ = arm(probe_.window_due, {timer_kind::probe_window, seq}, rt);
    return;
  }
  probe_.window_over = true;
  probe_finish(now, probe_.tcp_ok, rt);
}

void core::probe_finish(time_point now, bool ok, core_sink rt) {
  probe_.active = false;
  // Starved, not evidence (lifeguard.late_timers_are_local): unless we are
  // already as patient as we can be.
  const bool excused =
      !ok && probe_.late && cfg_.lifeguard.late_timers_are_local && awareness_.enabled() && !awareness_.at_max();
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
    r.late = excused;
    r.send_failed = probe_.send_failed;
    rt.on.probe_finished(r);
  }
  disarm(probe_direct_timer_, rt);
  disarm(probe_window_timer_, rt);
  if (probe_.tcp_pending) {
    exchanges_.erase(probe_.tcp_id);
    probe_.tcp_pending = false;
  }
  if (ok) {
    awareness_.apply_delta(-1);
    return;
  }
  if (excused) {
    ++stats_.probes_late;
    awareness_.apply_delta(1);
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

void core::on_ping(time_point now, const address& from, const ping& p, core_sink rt) {
  (void)now;
  if (!p.node.empty() && !is_self(p.node)) return;  // meant for a previous owner of this address
  ack a{p.seq_no, delegate_ ? delegate_->ack_payload() : bytes{}};
  const address to =
      (!p.source_addr.empty() && p.source_port != 0) ? address::from(p.source_addr, p.source_port) : from;
  send_message(to, a, rt);
}

void core::on_indirect_ping(time_point now, const address& from, const indirect_ping& ind, core_sink rt) {
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

void core::relay_timeout(std::uint32_t seq, core_sink rt) {
  auto it = relays_.find(seq);
  if (it == relays_.end()) return;
  const relay_state r = it->second;
  relays_.erase(it);
  if (r.want_nack) send_message(r.requester, nack{r.requester_seq}, rt);
}

void core::on_ack(time_point now, const ack& a, core_sink rt) {
  if (auto it = relays_.find(a.seq_no); it != relays_.end()) {
    relay_state r = it->second;
    relays_.erase(it);
    disarm(r.timer, rt);
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
  if (probe_.direct_stage) rt.on.ping_complete(probe_.target, now - probe_.sent, a.payload);
  probe_finish(now, true, rt);
}

void core::on_nack(const nack& n) {
  if (probe_.active && probe_.seq == n.seq_no) ++probe_.nacks;
}

}  // namespace chorus::swim
