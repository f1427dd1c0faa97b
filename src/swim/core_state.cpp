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
bool vsn_sane(const bytes& vsn) {
  // An alive with >= 3 Vsn bytes and a broken protocol range is ignored (11).
  if (vsn.size() < 3) return true;
  return vsn[0] != 0 && vsn[1] != 0 && vsn[0] <= vsn[1];
}
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

void core::notify(member_event_kind kind, member_state previous, std::size_t idx, runtime& rt) {
  rt.member_changed(member_event{kind, previous, info(idx), {}});
}

void core::broadcast(std::string key, const message& m, std::uint64_t token) {
  bytes msg;
  encode(m, msg);
  broadcasts_.push(std::move(key), std::move(msg), token, finished_);
}

void core::alive_node(time_point now, const alive& a, bool bootstrap, runtime& rt) {
  const bool about_us = is_self(a.node);
  if (leaving_ && about_us) return;                      // 1
  if (!vsn_sane(a.vsn)) return;                          // 2
  if (a.node.empty() || a.node.size() > 0xffff) return;  // not a usable name
  const address addr = address::from(a.addr, a.port ? a.port : cfg_.advertise.port);

  auto found = members_.find(a.node);
  bool new_address = false;
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
      rt.name_conflict(info(*found), other);
      return;
    }
  }
  const std::size_t idx = *found;
  {
    const auto& e = members_.at(idx);
    if (!about_us && a.incarnation <= e.incarnation && !new_address) return;  // 5
    if (about_us && a.incarnation < e.incarnation) return;
  }
  if (auto s = suspicions_.find(a.node); s != suspicions_.end()) {  // 6
    disarm(s->second.timer);
    suspicions_.erase(s);
  }
  auto& e = members_.at(idx);
  if (!bootstrap && about_us) {  // 7
    if (a.incarnation == e.incarnation && same_bytes(a.meta, members_.meta(e)) && same_bytes(a.vsn, members_.vsn(e)))
      return;
    refute(idx, a.incarnation, rt);
    return;
  }
  // 8
  const member_state old_state = e.state;
  const bool meta_changed = !same_bytes(members_.meta(e), a.meta);
  broadcast(a.node, a, about_us ? meta_token_ : 0);
  if (!a.vsn.empty()) members_.set_vsn(e, a.vsn);
  e.incarnation = a.incarnation;
  members_.set_meta(e, a.meta);
  members_.set_addr(e, addr);
  if (e.state != member_state::alive) {
    e.state = member_state::alive;
    e.set_state_change(now);
  }
  if (about_us) incarnation_ = std::max(incarnation_, a.incarnation);
  if (old_state == member_state::suspect) rt.suspicion_refuted(info(idx));
  if (old_state == member_state::dead || old_state == member_state::left)
    notify(member_event_kind::join, old_state, idx, rt);
  else if (meta_changed)
    notify(member_event_kind::update, old_state, idx, rt);
}

void core::suspect_node(time_point now, const suspect& s, runtime& rt) {
  auto found = members_.find(s.node);
  if (!found) return;  // 1
  if (s.incarnation < members_.at(*found).incarnation) return;
  if (auto it = suspicions_.find(s.node); it != suspicions_.end()) {  // 2
    if (it->second.s.confirm(s.from)) {
      rt.suspicion_confirmed(s.node, s.from);
      broadcast(s.node, s);
      // Re-arm at the shrunken deadline (fires at once if already past).
      disarm(it->second.timer);
      it->second.timer = arm(std::max(now, it->second.s.deadline()), {timer_kind::suspicion, 0, s.node}, rt);
    }
    return;
  }
  auto& e = members_.at(*found);
  if (e.state != member_state::alive) return;  // 3
  if (is_self(s.node)) {                       // 4
    refute(*found, s.incarnation, rt);
    return;
  }
  broadcast(s.node, s);  // 5
  e.incarnation = s.incarnation;
  e.state = member_state::suspect;
  e.set_state_change(now);

  const std::size_t n = members_.size();
  const int k = cfg_.lifeguard.dynamic_suspicion ? suspicion_confirmations_expected(cfg_.suspicion_mult, n) : 0;
  const duration min = suspicion_timeout_min(cfg_.suspicion_mult, n, cfg_.probe_interval);
  const duration max = min * cfg_.suspicion_max_timeout_mult;
  suspicion_state st{suspicion{now, min, max, k, s.from}, s.incarnation, now, 0};
  st.timer = arm(st.s.deadline(), {timer_kind::suspicion, 0, s.node}, rt);
  suspicions_.insert_or_assign(s.node, std::move(st));
  rt.member_suspected(info(*found), s.from);
}

void core::suspicion_fired(time_point now, const std::string& node, runtime& rt) {
  auto it = suspicions_.find(node);
  if (it == suspicions_.end()) return;
  const suspicion_state st = it->second;
  suspicions_.erase(it);
  auto found = members_.find(node);
  if (!found) return;
  const auto& e = members_.at(*found);
  // Still the same suspicion? (no refutation or other change since)
  if (e.state != member_state::suspect || e.incarnation != st.incarnation || e.state_change() != st.state_change)
    return;
  dead_node(now, dead{st.incarnation, node, cfg_.name}, rt);
}

void core::dead_node(time_point now, const dead& d, runtime& rt) {
  auto found = members_.find(d.node);
  if (!found) return;  // 1
  if (d.incarnation < members_.at(*found).incarnation) return;
  if (auto s = suspicions_.find(d.node); s != suspicions_.end()) {  // 2
    disarm(s->second.timer);
    suspicions_.erase(s);
  }
  auto& e = members_.at(*found);
  if (e.dead_or_left()) return;
  if (is_self(d.node)) {  // 3
    if (!leaving_) {
      refute(*found, d.incarnation, rt);
      return;
    }
    broadcast(d.node, d, leave_token_);
  } else {
    broadcast(d.node, d);  // 4
  }
  const member_state old_state = e.state;
  e.incarnation = d.incarnation;  // 5
  e.state = d.node == d.from ? member_state::left : member_state::dead;
  e.set_state_change(now);
  rt.member_changed(member_event{e.state == member_state::left ? member_event_kind::leave : member_event_kind::failed,
                                 old_state, info(*found), d.from});
}

void core::refute(std::size_t idx, std::uint32_t accused, runtime& rt) {
  (void)rt;
  ++incarnation_;
  if (accused >= incarnation_) incarnation_ = accused + 1;
  ++stats_.refutations;
  awareness_.apply_delta(1);
  auto& e = members_.at(idx);
  e.incarnation = incarnation_;
  alive a;
  a.incarnation = incarnation_;
  a.node = cfg_.name;
  a.addr = cfg_.advertise.ip_bytes();
  a.port = cfg_.advertise.port;
  const auto meta = members_.meta(e);
  a.meta.assign(meta.begin(), meta.end());
  a.vsn = cfg_.vsn;
  // memberlist 0.2.2 keys this broadcast by our IP string, not our name (14.8).
  const address self = cfg_.advertise;
  address ip_only = self;
  ip_only.port = 0;
  std::string key = ip_only.to_string();
  key.resize(key.size() - 2);  // drop ":0"
  broadcast(std::move(key), a);
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

bool core::verify_protocol(const push_pull& remote) const {
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
  for (const auto& r : remote.nodes)
    if (r.state == node_state::alive && !r.vsn.empty()) widen(r.vsn);
  auto inside = [&](std::span<const std::uint8_t> v) {
    const int pcur = v.size() >= 3 ? v[2] : 0, dcur = v.size() >= 6 ? v[5] : 0;
    return pcur >= pmin && pcur <= pmax && dcur >= dmin && dcur <= dmax;
  };
  for (std::size_t i = 0; i < members_.size(); ++i)
    if (const auto v = members_.vsn(members_.at(i)); v.size() >= 6 && !inside(v)) return false;
  for (const auto& r : remote.nodes)
    if (!inside(r.vsn)) return false;
  return true;
}

void core::restore(time_point now, std::span<const push_node_state> nodes, runtime& rt) {
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

void core::merge_remote(time_point now, const push_pull& remote, runtime& rt) {
  for (const auto& r : remote.nodes) {
    switch (r.state) {
      case node_state::alive: {
        // Fast path for the common case in a converged cluster: nothing new
        // (rule 5 of 13.5 would ignore it), so skip building an alive.
        if (auto idx = members_.find(r.name); idx && !is_self(r.name)) {
          const auto& e = members_.at(*idx);
          if (r.incarnation <= e.incarnation &&
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
      case node_state::suspect:
        suspect_node(now, suspect{r.incarnation, r.name, cfg_.name}, rt);
        break;
    }
  }
}

}  // namespace chorus::swim
