#pragma once
// The agent's event coalescers (../shared/protocol/serf.md sections 7, 8):
// pure logic, no timers. The owner starts a flush deadline with the first
// coalescable event (`coalesce_period`) and pushes a quiescence deadline
// forward with every one (`quiescent_period`); whichever comes first calls
// flush().
//
// Member events: per member only the latest event type counts; a flush emits
// one event per type, listing members whose latest type differs from what
// was last emitted for them (member-update is always emitted again). 0.9.4
// never clears its "latest" map, so every later flush repeats member-update
// for all members whose latest event was an update; `repeat_updates`
// reproduces that, off by default (each update reported once).
//
// User events (CC set): per event name only those with the highest LTime
// seen since the last flush survive (several with that LTime all do).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "agent/serf/types.hpp"

namespace chorus::agent {

class member_coalescer {
 public:
  explicit member_coalescer(bool repeat_updates = false) : repeat_updates_(repeat_updates) {}
  // member-reap is never coalesced (Serf passes it straight through).
  static bool handles(const member_event& e) { return e.type != member_event_type::reap; }
  void add(const member_event& e);
  bool empty() const { return latest_.empty(); }
  // Events in type order (join, leave, failed, update), members by name.
  std::vector<member_event> flush();

 private:
  struct latest {
    member_event_type type;
    member m;
  };
  bool repeat_updates_;
  std::map<std::string, latest> latest_;
  std::map<std::string, member_event_type> last_emitted_;
};

class user_coalescer {
 public:
  static bool handles(const user_event_data& e) { return e.coalesce; }
  void add(const user_event_data& e);
  bool empty() const { return by_name_.empty(); }
  // By name, then in arrival order.
  std::vector<user_event_data> flush();

 private:
  struct latest {
    std::uint64_t ltime = 0;
    std::vector<user_event_data> events;
  };
  std::map<std::string, latest> by_name_;
};

}  // namespace chorus::agent
