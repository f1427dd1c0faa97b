#include "agent/serf/coalescer.hpp"

namespace chorus::agent {

void member_coalescer::add(const member_event& e) {
  for (const auto& m : e.members) latest_.insert_or_assign(m.name, latest{e.type, m});
}

std::vector<member_event> member_coalescer::flush() {
  std::map<member_event_type, member_event> out;
  for (const auto& [name, l] : latest_) {
    auto prev = last_emitted_.find(name);
    if (prev != last_emitted_.end() && prev->second == l.type && l.type != member_event_type::update) continue;
    last_emitted_[name] = l.type;
    auto [it, fresh] = out.try_emplace(l.type, member_event{l.type, {}});
    (void)fresh;
    it->second.members.push_back(l.m);
  }
  if (!repeat_updates_) latest_.clear();
  std::vector<member_event> events;
  for (auto& [type, e] : out) events.push_back(std::move(e));
  return events;
}

void user_coalescer::add(const user_event_data& e) {
  auto it = by_name_.find(e.name);
  if (it == by_name_.end() || it->second.ltime < e.ltime) {
    by_name_.insert_or_assign(e.name, latest{e.ltime, {e}});
    return;
  }
  if (it->second.ltime == e.ltime) it->second.events.push_back(e);
}

std::vector<user_event_data> user_coalescer::flush() {
  std::vector<user_event_data> out;
  for (auto& [name, l] : by_name_)
    for (auto& e : l.events) out.push_back(std::move(e));
  by_name_.clear();
  return out;
}

}  // namespace chorus::agent
