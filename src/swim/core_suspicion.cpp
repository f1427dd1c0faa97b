// Suspicion timing: how short a fully confirmed suspicion may get (chorus's
// confirmed floor and the guard for members that refuted lately) and what
// happens when a suspicion's timer fires (re-check, reprieve, dead).
// core_state.cpp starts suspicions and applies their outcomes.
#include <algorithm>

#include "swim/codec.hpp"
#include "swim/core.hpp"

namespace chorus::swim {

// chorus (config.hpp, suspicion_confirmed_min_scale): a fully confirmed
// suspicion ends at a fraction of memberlist's min, so a crash is seen
// sooner. A member we saw refute a suspicion (ours or anyone's) or come back
// from dead within config::refuted_floor_window keeps memberlist's floor: it
// answered after looking dead, which is what a paused or starved process
// does (frozen 4 s of every 5 s, issue 15's starved node, would otherwise be
// declared failed at every pause at N = 20) and what a lossy one does; a
// crashed one does not answer, so a node that was quiet before it crashed is
// detected at the shorter floor.
duration core::confirmed_floor(time_point now, const std::string& node, duration memberlist_min) const {
  const auto it = refuted_at_.find(node);
  const bool answered_lately = it != refuted_at_.end() && now - it->second < cfg_.refuted_floor_window;
  const double scale = answered_lately ? std::max(cfg_.suspicion_confirmed_min_scale, memberlist_confirmed_min_scale)
                                       : cfg_.suspicion_confirmed_min_scale;
  return std::chrono::duration_cast<duration>(memberlist_min * scale);
}

void core::note_refuted(time_point now, const std::string& node) {
  if (cfg_.suspicion_confirmed_min_scale >= memberlist_confirmed_min_scale) return;  // memberlist's floor anyway
  if (cfg_.refuted_floor_window <= duration::zero()) return;                         // no guard
  if (refuted_at_.size() >= 64) {
    std::erase_if(refuted_at_, [&](const auto& kv) { return now - kv.second >= cfg_.refuted_floor_window; });
  }
  refuted_at_[node] = now;
}

// The suspicion timer: the timeout, then (re-check) the probe window's end,
// then (reprieve) the reprieve's end.
//
// Why the re-check (lifeguard.recheck_unconfirmed; memberlist declares dead
// here at once). A suspicion that reaches its timeout without its k
// independent confirmations rests on one accuser's failed probe, and was
// mostly not shared: either the suspect refuted and the others heard it, or
// the others could still reach it. If we alone missed the refutation (its
// alive, sent 4 x log10 N times per holder, can miss a node under loss), our
// dead message is ignored by everyone else but is still a false failure here
// (a member-failed event in Serf). One more probe costs one probe window and
// tells the cases apart: an answer means the suspect lives and our
// incarnation for it is stale, so we pull its state with a push/pull, which
// merges its refuting alive by the normal rules. A confirmed suspicion (the
// usual crash: several probers fail independently) dies at once as before;
// it was probed in its last probe interval instead (precheck, armed in
// suspect_node), so an answer there also ends in a push/pull, not dead.
void core::suspicion_fired(time_point now, const std::string& node, core_sink rt) {
  auto it = suspicions_.find(node);
  if (it == suspicions_.end()) return;
  suspicion_state& st = it->second;
  disarm(st.timer, rt);  // fired, or decided early (a failed re-check TCP ping after the window)
  auto found = members_.find(node);
  // Still the same suspicion? (no refutation or other change since)
  if (!found || members_.at(*found).state != member_state::suspect ||
      members_.at(*found).incarnation != st.incarnation || members_.at(*found).state_change() != st.state_change) {
    drop_suspicion(it);
    return;
  }
  switch (st.stage) {
    case suspicion_stage::waiting:
      if (cfg_.lifeguard.recheck_unconfirmed && st.s.confirmations() < st.s.expected()) {
        start_recheck(now, node, st, rt);
        return;
      }
      break;
    case suspicion_stage::rechecking:
      if (st.recheck_tcp_pending && !st.recheck_window_over) {
        // As for a normal probe: the TCP ping reports by its deadline (the
        // window's end); one probe timeout of grace if the runtime is late.
        st.recheck_window_over = true;
        st.timer = arm(now + cfg_.probe_timeout, {timer_kind::suspicion, 0, node}, rt);
        return;
      }
      break;
    case suspicion_stage::reprieve:
      break;
  }
  const dead d{st.incarnation, node, cfg_.name};
  drop_suspicion(it);
  dead_node(now, d, rt);
}

void core::precheck(time_point now, const std::string& node, core_sink rt) {
  auto it = suspicions_.find(node);
  if (it == suspicions_.end() || it->second.stage != suspicion_stage::waiting) return;
  suspicion_state& st = it->second;
  st.recheck_direct_timer = 0;
  const auto idx = members_.find(node);
  if (!idx) return;
  const member_entry e = members_.at(*idx);
  if (e.state != member_state::suspect || e.incarnation != st.incarnation) return;
  ++stats_.suspicion_prechecks;
  st.recheck_seq = ++seq_no_;
  rechecks_[st.recheck_seq] = node;
  send_probe_ping(st.recheck_seq, e, node, members_.addr(e), rt);
  if (now + cfg_.probe_timeout < st.s.deadline())
    st.recheck_direct_timer = arm(now + cfg_.probe_timeout, {timer_kind::recheck_direct, st.recheck_seq, node}, rt);
}

// A normal probe out of turn (the regular probe, if one runs, is untouched):
// a ping with the accusation attached (buddy system), ping-reqs through k
// members after probe_timeout, and the TCP fallback; the suspicion timer
// becomes the probe window's end.
void core::start_recheck(time_point now, const std::string& node, suspicion_state& st, core_sink rt) {
  const auto idx = members_.find(node);
  if (!idx) return;
  const member_entry e = members_.at(*idx);
  ++stats_.suspicion_rechecks;
  st.stage = suspicion_stage::rechecking;
  st.recheck_seq = ++seq_no_;
  rechecks_[st.recheck_seq] = node;
  send_probe_ping(st.recheck_seq, e, node, members_.addr(e), rt);
  st.recheck_direct_timer = arm(now + cfg_.probe_timeout, {timer_kind::recheck_direct, st.recheck_seq, node}, rt);
  st.timer = arm(now + awareness_.scale(cfg_.probe_interval), {timer_kind::suspicion, 0, node}, rt);
}

void core::recheck_direct_timeout(time_point now, const std::string& node, std::uint32_t seq, core_sink rt) {
  auto it = suspicions_.find(node);
  if (it == suspicions_.end() || it->second.stage == suspicion_stage::reprieve || it->second.recheck_seq != seq) return;
  suspicion_state& st = it->second;
  st.recheck_direct_timer = 0;
  const auto idx = members_.find(node);
  if (!idx) return;
  const member_entry e = members_.at(*idx);
  // No nacks asked: a re-check's outcome does not feed our health score
  // (the regular probes do that).
  int no_nacks = 0;
  (void)send_ping_reqs(seq, node, e, false, no_nacks, rt);
  if (st.stage != suspicion_stage::rechecking) return;  // a precheck: ends at the deadline, no TCP
  // The window's end: the suspicion timer armed by start_recheck.
  const time_point deadline = now - cfg_.probe_timeout + awareness_.scale(cfg_.probe_interval);
  if (auto id = start_tcp_ping(seq, node, e, members_.addr(e), deadline, rt)) {
    exchanges_[*id].recheck_seq = seq;
    st.recheck_tcp_id = *id;
    st.recheck_tcp_pending = true;
  }
}

// The suspect answered the re-check (directly, through a helper or over
// TCP): it is alive and our view of it is stale. Pull its state: its own
// entry (alive, the refuting incarnation) merges by the normal rules and
// clears the suspicion. Until then the suspicion stays, with a bounded
// reprieve: one more maximum suspicion timeout (never less than a TCP
// exchange's deadline). That is as long again as a lone accusation is ever
// given, ample for the push/pull (tcp_timeout) or a refutation by gossip;
// a suspect we can ping but whose state we cannot obtain for that long is
// then declared dead as memberlist would have, rather than held forever.
void core::recheck_answered(time_point now, const std::string& node, std::uint32_t seq, core_sink rt) {
  auto it = suspicions_.find(node);
  if (it == suspicions_.end() || it->second.stage == suspicion_stage::reprieve || it->second.recheck_seq != seq) return;
  suspicion_state& st = it->second;
  const auto idx = members_.find(node);
  if (!idx) return;
  ++stats_.rechecks_answered;
  rechecks_.erase(seq);
  st.recheck_seq = 0;
  disarm(st.recheck_direct_timer, rt);
  disarm(st.timer, rt);
  if (st.recheck_tcp_pending) {
    exchanges_.erase(st.recheck_tcp_id);
    st.recheck_tcp_pending = false;
  }
  st.stage = suspicion_stage::reprieve;
  st.timer = arm(now + std::max(st.s.max_timeout(), cfg_.tcp_timeout), {timer_kind::suspicion, 0, node}, rt);
  start_sync(now, members_.addr(members_.at(*idx)), rt);  // if skipped (cap), the reprieve's end decides
}

}  // namespace chorus::swim
