#pragma once
// Serf's member table and intent rules (../shared/protocol/serf.md 6.1-6.5).
//
// memberlist says who is reachable; Serf decides what that means from its own
// Lamport-clocked intents: a member that disappears after announcing a leave
// has *left*, one that disappears without is *failed*. Each member carries
// the member-clock time of the last intent applied to it (statusLTime), so
// stale intents arriving late or twice change nothing. Intents about names
// not known yet are buffered as "recent intents" so that the join
// notification that follows can apply them.
//
// Pure logic: the caller witnesses clocks, rebroadcasts, and delivers the
// events returned here.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/serf/messages.hpp"
#include "agent/serf/types.hpp"
#include "swim/runtime.hpp"

namespace chorus::agent {

enum class intent_kind : std::uint8_t { join, leave };

struct recent_intent {
  intent_kind kind;
  std::uint64_t ltime = 0;
  time_point at{};
};

struct member_entry {
  member m;
  time_point leave_time{};  // when it became failed or left
};

// What applying an intent did.
struct intent_outcome {
  bool rebroadcast = false;
  bool refute = false;  // a leave intent about ourselves while alive: answer with a join intent
  bool prune = false;   // erase the member now (force-leave -prune)
  std::vector<member_event> events;
};

class serf_members {
 public:
  explicit serf_members(std::string self) : self_(std::move(self)) {}

  // memberlist notifications (6.1). Return the member event to emit, if any.
  std::optional<member_event> on_join(const swim::member_info& n, time_point now);
  // `graceful`: memberlist's *left* (the node's own dead message, From ==
  // Node): the node announced its departure, so an alive member becomes left,
  // not failed, even when its leave intent has not arrived (yet) or was
  // shadowed (see docs/serf-layer.md, "graceful leave without its intent").
  std::optional<member_event> on_leave(const swim::member_info& n, time_point now, bool graceful = false);
  std::optional<member_event> on_update(const swim::member_info& n);

  // Intents (6.2); the caller has witnessed the LTime. `self_leaving`: our
  // own Serf state is leaving (or left), so a leave about us is not refuted.
  intent_outcome join_intent(const join_intent& j, time_point now);
  intent_outcome leave_intent(const leave_intent& l, bool self_leaving, time_point now);

  // Erase (prune, reap): the member-reap event.
  std::optional<member_event> erase(const std::string& name);
  // Failed members older than reconnect_timeout, left older than
  // tombstone_timeout (6.5); expired recent intents dropped.
  std::vector<member_event> reap(time_point now, duration reconnect_timeout, duration tombstone_timeout,
                                 duration intent_timeout);

  const std::map<std::string, member_entry>& all() const { return members_; }
  member_entry* find(const std::string& name);
  const member_entry* find(const std::string& name) const;
  const std::vector<std::string>& failed() const { return failed_; }
  const std::vector<std::string>& left() const { return left_; }
  std::optional<recent_intent> intent(const std::string& name) const;
  std::size_t size() const { return members_.size(); }
  // Any member other than us with status alive.
  bool any_other_alive() const;

 private:
  bool upsert_intent(const std::string& name, intent_kind k, std::uint64_t ltime, time_point now);
  static void remove_name(std::vector<std::string>& v, const std::string& name);
  void refresh(member& m, const swim::member_info& n);

  std::string self_;
  std::map<std::string, member_entry> members_;
  std::vector<std::string> failed_, left_;  // in the order they got there
  std::map<std::string, recent_intent> intents_;
};

}  // namespace chorus::agent
