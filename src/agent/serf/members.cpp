#include "agent/serf/members.hpp"

#include <algorithm>

#include "agent/serf/tags.hpp"

namespace chorus::agent {

void serf_members::refresh(member& m, const swim::member_info& n) {
  m.addr = n.addr;
  auto t = decode_tags(n.meta);
  m.tags = t.ok() ? std::move(t.value) : tag_map{};
  m.vsn = {};
  std::copy_n(n.vsn.begin(), std::min<std::size_t>(n.vsn.size(), 6), m.vsn.begin());
}

void serf_members::remove_name(std::vector<std::string>& v, const std::string& name) {
  v.erase(std::remove(v.begin(), v.end(), name), v.end());
}

std::optional<member_event> serf_members::on_join(const swim::member_info& n, time_point now) {
  (void)now;
  auto it = members_.find(n.name);
  member_status old = member_status::none;
  if (it == members_.end()) {
    member_entry e;
    e.m.name = n.name;
    e.m.status = member_status::alive;
    // The intent buffer holds at most one intent per name: the newest wins.
    if (auto ri = intent(n.name)) {
      e.m.status_ltime = ri->ltime;
      if (ri->kind == intent_kind::leave) e.m.status = member_status::leaving;
    }
    it = members_.emplace(n.name, std::move(e)).first;
  } else {
    old = it->second.m.status;
    it->second.m.status = member_status::alive;
    it->second.leave_time = {};
  }
  refresh(it->second.m, n);
  if (old == member_status::failed || old == member_status::left) {
    remove_name(failed_, n.name);
    remove_name(left_, n.name);
  }
  return member_event{member_event_type::join, {it->second.m}};
}

std::optional<member_event> serf_members::on_leave(const swim::member_info& n, time_point now, bool graceful) {
  auto it = members_.find(n.name);
  if (it == members_.end()) return std::nullopt;
  auto& e = it->second;
  member_event_type type;
  switch (e.m.status) {
    case member_status::leaving:
      e.m.status = member_status::left;
      left_.push_back(n.name);
      type = member_event_type::leave;
      break;
    case member_status::alive:
      if (graceful) {
        e.m.status = member_status::left;
        left_.push_back(n.name);
        type = member_event_type::leave;
        break;
      }
      e.m.status = member_status::failed;
      failed_.push_back(n.name);
      type = member_event_type::failed;
      break;
    default:
      return std::nullopt;  // Serf: "Bad state when leave"
  }
  e.leave_time = now;
  return member_event{type, {e.m}};
}

std::optional<member_event> serf_members::on_update(const swim::member_info& n) {
  auto it = members_.find(n.name);
  if (it == members_.end()) return std::nullopt;
  refresh(it->second.m, n);
  return member_event{member_event_type::update, {it->second.m}};
}

bool serf_members::upsert_intent(const std::string& name, intent_kind k, std::uint64_t ltime, time_point now) {
  auto it = intents_.find(name);
  if (it == intents_.end() || ltime > it->second.ltime) {
    intents_.insert_or_assign(name, recent_intent{k, ltime, now});
    return true;
  }
  return false;
}

std::optional<recent_intent> serf_members::intent(const std::string& name) const {
  auto it = intents_.find(name);
  if (it == intents_.end()) return std::nullopt;
  return it->second;
}

intent_outcome serf_members::join_intent(const agent::join_intent& j, time_point now) {
  intent_outcome out;
  auto it = members_.find(j.node);
  if (it == members_.end()) {
    out.rebroadcast = upsert_intent(j.node, intent_kind::join, j.ltime, now);
    return out;
  }
  auto& m = it->second.m;
  if (j.ltime <= m.status_ltime) return out;
  m.status_ltime = j.ltime;
  if (m.status == member_status::leaving) m.status = member_status::alive;
  out.rebroadcast = true;
  return out;
}

intent_outcome serf_members::leave_intent(const agent::leave_intent& l, bool self_leaving, time_point now) {
  intent_outcome out;
  auto it = members_.find(l.node);
  if (it == members_.end()) {
    out.rebroadcast = upsert_intent(l.node, intent_kind::leave, l.ltime, now);
    return out;
  }
  auto& e = it->second;
  if (l.ltime <= e.m.status_ltime) return out;
  if (l.node == self_ && !self_leaving) {
    out.refute = true;
    return out;
  }
  e.m.status_ltime = l.ltime;
  switch (e.m.status) {
    case member_status::alive:
      e.m.status = member_status::leaving;
      break;
    case member_status::failed:
      e.m.status = member_status::left;
      e.leave_time = e.leave_time == time_point{} ? now : e.leave_time;
      remove_name(failed_, l.node);
      left_.push_back(l.node);
      out.events.push_back(member_event{member_event_type::leave, {e.m}});  // "forced"
      break;
    case member_status::leaving:
    case member_status::left:
      break;
    default:
      return out;
  }
  out.prune = l.prune;
  out.rebroadcast = true;
  return out;
}

std::optional<member_event> serf_members::erase(const std::string& name) {
  auto it = members_.find(name);
  if (it == members_.end()) return std::nullopt;
  member m = std::move(it->second.m);
  members_.erase(it);
  remove_name(failed_, name);
  remove_name(left_, name);
  return member_event{member_event_type::reap, {std::move(m)}};
}

std::vector<member_event> serf_members::reap(time_point now, duration reconnect_timeout, duration tombstone_timeout,
                                             duration intent_timeout) {
  std::vector<member_event> out;
  auto sweep = [&](std::vector<std::string> names, duration timeout) {
    for (const auto& n : names) {
      auto* e = find(n);
      if (e == nullptr || now - e->leave_time <= timeout) continue;
      if (auto ev = erase(n)) out.push_back(std::move(*ev));
    }
  };
  sweep(failed_, reconnect_timeout);
  sweep(left_, tombstone_timeout);
  for (auto it = intents_.begin(); it != intents_.end();) {
    if (now - it->second.at > intent_timeout)
      it = intents_.erase(it);
    else
      ++it;
  }
  return out;
}

member_entry* serf_members::find(const std::string& name) {
  auto it = members_.find(name);
  return it == members_.end() ? nullptr : &it->second;
}
const member_entry* serf_members::find(const std::string& name) const {
  auto it = members_.find(name);
  return it == members_.end() ? nullptr : &it->second;
}

bool serf_members::any_other_alive() const {
  for (const auto& [name, e] : members_)
    if (name != self_ && e.m.status == member_status::alive) return true;
  return false;
}

}  // namespace chorus::agent
