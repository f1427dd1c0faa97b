// State transitions by incarnation (memberlist.md 13.5, 13.6) and the
// push/pull merge (10.2). The ordering rule in one line: news about a node
// wins if it carries a higher incarnation; at equal incarnation dead beats
// suspect beats alive; only the node itself can raise its incarnation, which
// is how it refutes.
#include <algorithm>

#include "swim/codec.hpp"
#include "swim/core.hpp"

namespace chorus::swim {

namespace {
bool same_bytes(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}
}  // namespace

member_info core::info(std::size_t idx) const {
  const auto& e = members_.at(idx);
  member_info m;
  m.name = std::string{members_.name(e)};
  m.addr = members_.addr(e);
  const auto meta = members_.meta(e);
  m.meta.assign(meta.begin(), meta.end());
  const auto vsn = members_.vsn(e);
  m.vsn.assign(vsn.begin(), vsn.end());
  m.incarnation = e.incarnation;
  m.state = e.state;
  return m;
}

std::optional<member_info> core::member(std::string_view n) const {
  auto idx = members_.find(n);
  if (!idx) return std::nullopt;
  return info(*idx);
}

void core::notify(member_event_kind kind, member_state previous, std::size_t idx, core_sink rt) {
  rt.on.member_changed(member_event{kind, previous, info(idx), {}});
}

void core::broadcast(time_point now, std::string key, const message& m, core_sink rt, std::uint64_t token) {
  bytes msg;
  encode(m, msg);
  broadcasts_.push(std::move(key), std::move(msg), token, finished_);
  wake_gossip(now, rt);
}

void core::alive_node(time_point now, const alive& a, bool bootstrap, core_sink rt) {
  const bool about_us = is_self(a.node);
  if (leaving_ && about_us) return;  // 1
  // 2 (Vsn sanity) and usable names: admission.hpp, checked on receipt.
  const address addr = address::from(a.addr, a.port ? a.port : cfg_.advertise.port);

  auto found = members_.find(a.node);
  bool new_address = false;
  const bool first_news = !found;
  if (!found) {  // 3: dead, incarnation 0
    const std::size_t idx = members_.insert(a.node, rng_);
    auto& e = members_.at(idx);
    members_.set_addr(e, addr);
    e.state = member_state::dead;
    e.incarnation = 0;
    e.set_state_change(now);
    members_.set_meta(e, a.meta);
    members_.set_vsn(e, a.vsn);
    found = idx;
  } else if (!(members_.addr(members_.at(*found)) == addr)) {  // 4
    const auto& e = members_.at(*found);
    const bool can_reclaim =
        cfg_.dead_node_reclaim_time > duration::zero() && now - e.state_change() > cfg_.dead_node_reclaim_time;
    if (e.state == member_state::left || (e.state == member_state::dead && can_reclaim)) {
      new_address = true;
    } else {
      ++stats_.conflicts;
      member_info other;
      other.name = a.node;
      other.addr = addr;
      other.meta = a.meta;
      other.vsn = a.vsn;
      other.incarnation = a.incarnation;
      rt.on.name_conflict(info(*found), other);
      return;
    }
  }
  const std::size_t idx = *found;
  {
    const auto& e = members_.at(idx);
    if (!about_us && a.incarnation <= e.incarnation && !new_address) {  // 5
      if (e.dead_or_left() && cfg_.lifeguard.tell_stale) tell_stale(now, idx, addr, rt);
      return;
    }
    if (about_us && a.incarnation < e.incarnation) return;
  }
  if (auto s = suspicions_.find(a.node); s != suspicions_.end()) drop_suspicion(s);  // 6
  auto& e = members_.at(idx);
  if (!bootstrap && about_us) {  // 7
    if (a.incarnation == e.incarnation && same_bytes(a.meta, members_.meta(e)) && same_bytes(a.vsn, members_.vsn(e)))
      return;
    refute(now, idx, a.incarnation, rt);
    return;
  }
  // 8
  const member_state old_state = e.state;
  const std::uint32_t old_incarnation = e.incarnation;
  const bool meta_changed = !same_bytes(members_.meta(e), a.meta);
  broadcast(now, a.node, a, rt, about_us ? meta_token_ : 0);
  members_.set_vsn(e, a.vsn);
  e.incarnation = a.incarnation;
  members_.set_meta(e, a.meta);
  members_.set_addr(e, addr);
  if (e.state != member_state::alive) {
    e.state = member_state::alive;
    e.set_state_change(now);
  }
  if (about_us) incarnation_ = std::max(incarnation_, a.incarnation);
  // It refuted a suspicion: one we held, or anyone's (its incarnation rose
  // with the same meta; a tags update raises it too, with new meta).
  const bool refuted = old_state != member_state::alive || (a.incarnation > old_incarnation && !meta_changed);
  if (refuted && !about_us && !first_news) note_refuted(now, a.node);
  if (old_state == member_state::suspect) rt.on.suspicion_refuted(info(idx));
  if (old_state == member_state::dead || old_state == member_state::left)
    notify(member_event_kind::join, old_state, idx, rt);
  else if (meta_changed)
    notify(member_event_kind::update, old_state, idx, rt);
}

void core::suspect_node(time_point now, const suspect& s, core_sink rt) {
  auto found = members_.find(s.node);
  if (!found) return;  // 1
  if (s.incarnation < members_.at(*found).incarnation) return;
  if (auto it = suspicions_.find(s.node); it != suspicions_.end()) {  // 2
    if (it->second.s.confirm(s.from)) {
      rt.on.suspicion_confirmed(s.node, s.from);
      broadcast(now, s.node, s, rt);
      // Re-arm at the shrunken deadline (fires at once if already past).
      // Not while a re-check runs: its timer is the probe window or the
      // reprieve, and a late confirmation of a stale incarnation must not
      // cut them short (the suspect has just answered, or may yet).
      if (it->second.stage == suspicion_stage::waiting) {
        suspicion_state& st = it->second;
        disarm(st.timer, rt);
        st.timer = arm(std::max(now, st.s.deadline()), {timer_kind::suspicion, 0, s.node}, rt);
        // Confirmed: dead at the deadline as in memberlist, no re-check
        // after it (a crash must not be detected later). But the same probe
        // (ping, then ping-reqs; no TCP) run in the last probe interval
        // before it costs no time and still saves a node that we alone hold
        // stale (it refuted, we missed the alive, and the confirmers
        // suspected it before they heard the refutation).
        if (cfg_.lifeguard.recheck_unconfirmed && st.s.confirmations() >= st.s.expected() &&
            st.recheck_direct_timer == 0 && st.recheck_seq == 0 && st.s.deadline() - cfg_.probe_timeout > now)
          st.recheck_direct_timer =
              arm(std::max(now, st.s.deadline() - cfg_.probe_interval), {timer_kind::precheck, 0, s.node}, rt);
      }
    }
    return;
  }
  auto& e = members_.at(*found);
  if (e.state != member_state::alive) return;  // 3
  if (is_self(s.node)) {                       // 4
    refute(now, *found, s.incarnation, rt);
    return;
  }
  broadcast(now, s.node, s, rt);  // 5
  e.incarnation = s.incarnation;
  e.state = member_state::suspect;
  e.set_state_change(now);

  const std::size_t n = members_.size();
  const int k = cfg_.lifeguard.dynamic_suspicion ? suspicion_confirmations_expected(cfg_.suspicion_mult, n) : 0;
  const duration memberlist_min = suspicion_timeout_min(cfg_.suspicion_mult, n, cfg_.probe_interval);
  const duration max = memberlist_min * cfg_.suspicion_max_timeout_mult;
  const duration min = k > 0 ? confirmed_floor(now, s.node, memberlist_min) : memberlist_min;
  suspicion_state st{suspicion{now, min, max, k, s.from}, s.incarnation, now, 0};
  st.timer = arm(st.s.deadline(), {timer_kind::suspicion, 0, s.node}, rt);
  suspicions_.insert_or_assign(s.node, std::move(st));
  rt.on.member_suspected(info(*found), s.from);
}

void core::drop_suspicion(std::unordered_map<std::string, suspicion_state>::iterator it) {
  suspicion_state& st = it->second;
  disarm(st.timer);
  disarm(st.recheck_direct_timer);
  if (st.recheck_seq != 0) rechecks_.erase(st.recheck_seq);
  if (st.recheck_tcp_pending) exchanges_.erase(st.recheck_tcp_id);
  suspicions_.erase(it);
}

bool core::uncorroborated(const dead& d) const {
  if (!cfg_.lifeguard.corroborate_dead || d.from == d.node || d.from == cfg_.name || is_self(d.node)) return false;
  auto s = suspicions_.find(d.node);
  return s == suspicions_.end() || !s->second.s.accused_by_other_than(d.from);
}

void core::dead_node(time_point now, const dead& d, core_sink rt) {
  auto found = members_.find(d.node);
  if (!found) return;  // 1
  if (d.incarnation < members_.at(*found).incarnation) {
    if (is_self(d.node) && !leaving_ && cfg_.lifeguard.tell_stale) answer_stale(now, *found, d.from, rt);
    return;
  }
  if (uncorroborated(d)) {  // chorus: one party's word is a suspicion (config.hpp, corroborate_dead)
    suspect_node(now, suspect{d.incarnation, d.node, d.from}, rt);
    return;
  }
  if (auto s = suspicions_.find(d.node); s != suspicions_.end()) drop_suspicion(s);  // 2
  auto& e = members_.at(*found);
  if (e.dead_or_left()) return;
  if (is_self(d.node)) {  // 3
    if (!leaving_) {
      refute(now, *found, d.incarnation, rt);
      if (cfg_.lifeguard.tell_stale) announce_return(now, *found, rt);
      return;
    }
    broadcast(now, d.node, d, rt, leave_token_);
  } else {
    broadcast(now, d.node, d, rt);  // 4
  }
  const member_state old_state = e.state;
  e.incarnation = d.incarnation;  // 5
  e.state = d.node == d.from ? member_state::left : member_state::dead;
  e.set_state_change(now);
  rt.on.member_changed(
      member_event{e.state == member_state::left ? member_event_kind::leave : member_event_kind::failed, old_state,
                   info(*found), d.from});
}

alive core::self_alive(std::size_t idx) const {
  alive a;
  a.incarnation = incarnation_;
  a.node = cfg_.name;
  a.addr = cfg_.advertise.ip_bytes();
  a.port = cfg_.advertise.port;
  const auto meta = members_.meta(members_.at(idx));
  a.meta.assign(meta.begin(), meta.end());
  a.vsn = cfg_.vsn;
  return a;
}

void core::refute(time_point now, std::size_t idx, std::uint32_t accused, core_sink rt) {
  ++incarnation_;
  if (accused >= incarnation_) incarnation_ = accused + 1;
  ++stats_.refutations;
  awareness_.apply_delta(1);
  members_.at(idx).incarnation = incarnation_;
  alive a = self_alive(idx);
  // memberlist 0.2.2 keys this broadcast by our IP string, not our name (14.8).
  const address self = cfg_.advertise;
  address ip_only = self;
  ip_only.port = 0;
  std::string key = ip_only.to_string();
  key.resize(key.size() - 2);  // drop ":0"
  broadcast(now, std::move(key), a, rt);
}

// chorus, not memberlist (config.hpp, lifeguard.tell_stale): a restarted
// node announces itself at incarnation 1 and learns that it was declared
// dead only from a push/pull with someone who still holds the dead record.
// When it joined another restarted node (which never heard of it), nobody
// tells it until its next push/pull: up to a push/pull interval in which
// every survivor drops its alive (rule 5). The dead message we send it
// directly is the one it would have got by gossip; it refutes (13.6, rule
// 3) with a higher incarnation, which everyone accepts.
void core::tell_stale(time_point now, std::size_t idx, const address& to, core_sink rt) {
  const auto& e = members_.at(idx);
  std::string name{members_.name(e)};
  if (stale_told_recently(stale_subjects_told_, now, name)) return;
  ++stats_.stale_told;
  const dead d{e.incarnation, name, e.state == member_state::left ? name : cfg_.name};
  send_message(to, d, rt);
}

// The other half of tell_stale: a dead message about us below our
// incarnation means its sender still holds a record we have refuted (it
// missed the refuting alive, whose gossip ran out of transmits). We send it
// our alive directly, once per probe interval per sender, instead of
// waiting for a push/pull to repair it.
void core::answer_stale(time_point now, std::size_t self_idx, const std::string& from, core_sink rt) {
  auto sender = members_.find(from);
  if (!sender || is_self(from) || members_.at(*sender).dead_or_left()) return;
  if (stale_told_recently(stale_senders_answered_, now, from)) return;
  ++stats_.stale_told;
  send_message(members_.addr(members_.at(*sender)), self_alive(self_idx), rt);
}

// The third part of tell_stale: we refuted a dead record about us (we
// restarted, or were declared failed). Every member that holds that record
// neither probes us nor pushes to us, so one that misses the refutation's
// gossip (8 transmits per holder; about one survivor in a thousand after a
// mass crash at N = 50) keeps us dead until a push/pull, 40 s and more. The
// alive goes to every member we hold alive directly, at most once per
// push/pull interval.
void core::announce_return(time_point now, std::size_t self_idx, core_sink rt) {
  if (announced_at_ && now - *announced_at_ < cfg_.push_pull_interval) return;
  announced_at_ = now;
  const alive a = self_alive(self_idx);
  for (std::size_t i = 0; i < members_.size(); ++i) {
    const auto& e = members_.at(i);
    if (i == self_idx || e.dead_or_left()) continue;
    ++stats_.stale_told;
    send_message(members_.addr(e), a, rt);
  }
}

bool core::stale_told_recently(std::unordered_map<std::string, time_point>& last_told, time_point now,
                               const std::string& key) const {
  if (auto it = last_told.find(key); it != last_told.end() && now - it->second < cfg_.probe_interval) return true;
  // Bounded: entries older than a probe interval no longer hold anyone back.
  if (last_told.size() >= 64)
    std::erase_if(last_told, [&](const auto& kv) { return now - kv.second >= cfg_.probe_interval; });
  last_told[key] = now;
  return false;
}

// ---------------------------------------------------------------------------
// Push/pull.

push_pull core::local_state(bool join) const {
  push_pull p;
  p.join = join;
  p.nodes.reserve(members_.size());
  for (std::size_t i = 0; i < members_.size(); ++i) {
    const auto& e = members_.at(i);
    push_node_state s;
    s.name = std::string{members_.name(e)};
    s.addr = members_.addr(e).ip_bytes();
    s.port = e.port;
    const auto meta = members_.meta(e);
    s.meta.assign(meta.begin(), meta.end());
    s.incarnation = e.incarnation;
    s.state = static_cast<node_state>(e.state);
    const auto vsn = members_.vsn(e);
    s.vsn.assign(vsn.begin(), vsn.end());
    p.nodes.push_back(std::move(s));
  }
  if (delegate_) p.user_state = delegate_->local_state(join);
  return p;
}

bool core::refuse(const address& from, std::string_view node, refusal why, core_sink rt) {
  if (why == refusal::none) return false;
  ++stats_.refused;
  rt.on.refused(from, node, to_string(why));
  return true;
}

std::vector<bool> core::refused_entries(const address& from, const push_pull& remote, core_sink rt) {
  std::vector<bool> refused;
  for (std::size_t i = 0; i < remote.nodes.size(); ++i) {
    const auto& r = remote.nodes[i];
    if (!refuse(from, r.name, check(r, admission()), rt)) continue;
    if (refused.empty()) refused.resize(remote.nodes.size());
    refused[i] = true;
  }
  return refused;
}

bool core::accept_remote(time_point now, const address& from, const push_pull& remote, core_sink rt) {
  const std::vector<bool> refused = refused_entries(from, remote, rt);
  if (!verify_protocol(remote, refused)) {
    ++stats_.push_pulls_refused;
    return false;
  }
  merge_remote(now, remote, refused, rt);
  if (!remote.user_state.empty()) rt.on.remote_state(remote.user_state, remote.join);
  return true;
}

bool core::verify_protocol(const push_pull& remote, const std::vector<bool>& refused) const {
  // Ranges over the alive nodes of both tables (10.2).
  int pmin = 0, pmax = 255, dmin = 0, dmax = 255;
  auto widen = [&](std::span<const std::uint8_t> v) {
    if (v.size() < 6) return;
    pmin = std::max<int>(pmin, v[0]);
    pmax = std::min<int>(pmax, v[1]);
    dmin = std::max<int>(dmin, v[3]);
    dmax = std::min<int>(dmax, v[4]);
  };
  for (std::size_t i = 0; i < members_.size(); ++i)
    if (members_.at(i).state == member_state::alive) widen(members_.vsn(members_.at(i)));
  auto admitted = [&](std::size_t i) { return refused.empty() || !refused[i]; };
  for (std::size_t i = 0; i < remote.nodes.size(); ++i)
    if (admitted(i) && remote.nodes[i].state == node_state::alive) widen(remote.nodes[i].vsn);
  auto inside = [&](std::span<const std::uint8_t> v) {
    const int pcur = v.size() >= 3 ? v[2] : 0, dcur = v.size() >= 6 ? v[5] : 0;
    return pcur >= pmin && pcur <= pmax && dcur >= dmin && dcur <= dmax;
  };
  for (std::size_t i = 0; i < members_.size(); ++i)
    if (const auto v = members_.vsn(members_.at(i)); v.size() >= 6 && !inside(v)) return false;
  for (std::size_t i = 0; i < remote.nodes.size(); ++i)
    if (admitted(i) && !inside(remote.nodes[i].vsn)) return false;
  return true;
}

void core::restore(time_point now, std::span<const push_node_state> nodes, core_sink rt) {
  members_.reserve(members_.size() + nodes.size());
  for (const auto& r : nodes) {
    if (is_self(r.name) || r.name.empty() || r.name.size() > 0xffff || members_.find(r.name)) continue;
    const std::size_t idx = members_.insert(r.name, rng_);
    auto& e = members_.at(idx);
    members_.set_addr(e, address::from(r.addr, r.port ? r.port : cfg_.advertise.port));
    e.state = static_cast<member_state>(r.state);
    e.incarnation = r.incarnation;
    e.set_state_change(now);
    members_.set_meta(e, r.meta);
    members_.set_vsn(e, r.vsn);
  }
  // A node of a long-formed cluster is at a random phase of its (scaled)
  // push/pull interval. start() staggered it over the unscaled one, which
  // would put every node's first push/pull of the full table in the first
  // interval: at 10,000 nodes a storm of 10x the steady rate.
  restagger_push_pull(now, rt);
}

void core::merge_remote(time_point now, const push_pull& remote, const std::vector<bool>& refused, core_sink rt) {
  for (std::size_t i = 0; i < remote.nodes.size(); ++i) {
    if (!refused.empty() && refused[i]) continue;
    const auto& r = remote.nodes[i];
    switch (r.state) {
      case node_state::alive: {
        // Fast path for the common case in a converged cluster: nothing new
        // (rule 5 of 13.5 would ignore it), so skip building an alive.
        if (auto idx = members_.find(r.name); idx && !is_self(r.name)) {
          const auto& e = members_.at(*idx);
          if (r.incarnation <= e.incarnation && !e.dead_or_left() &&
              members_.addr(e) == address::from(r.addr, r.port ? r.port : cfg_.advertise.port))
            break;
        }
        alive a;
        a.incarnation = r.incarnation;
        a.node = r.name;
        a.addr = r.addr;
        a.port = r.port;
        a.meta = r.meta;
        a.vsn = r.vsn;
        alive_node(now, a, false, rt);
        break;
      }
      case node_state::left:
        dead_node(now, dead{r.incarnation, r.name, r.name}, rt);
        break;
      // A remote "dead" is only a suspicion here (14.6).
      case node_state::dead:
      case node_state::suspect: {
        const std::uint32_t before = incarnation_;
        suspect_node(now, suspect{r.incarnation, r.name, cfg_.name}, rt);
        if (r.state == node_state::dead && is_self(r.name) && incarnation_ != before && cfg_.lifeguard.tell_stale)
          announce_return(now, *members_.find(r.name), rt);
        break;
      }
    }
  }
}

}  // namespace chorus::swim
