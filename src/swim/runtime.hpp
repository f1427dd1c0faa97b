#pragma once
// Everything the core asks of the world (STYLE #1, after foca's Runtime). The
// core never performs I/O: it calls these, and the driver (Asio transport,
// simulator, a test) does the work and later feeds results back through
// core's entry points. Two halves:
//   io (io.hpp)   datagrams, timers, TCP exchanges: the driver's, whoever
//                 sits above the core
//   listener      what happened in the protocol (member events, user
//                 messages, ...): the layer above (Serf), or the driver
//                 of a bare core
// The core's entry points take a core_sink, the two together; a `runtime`
// is one object implementing both (the simulator's nodes, test recorders).
//
// Threading and ownership: the core calls the sink synchronously from
// inside its entry points, on the caller's thread, after finishing the state
// transition that produced the effect (a member event is emitted only once
// the table is consistent). A sink must not re-enter the core from these
// calls; queue the work instead.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "swim/address.hpp"
#include "swim/io.hpp"
#include "swim/member_table.hpp"
#include "swim/messages.hpp"
#include "swim/time.hpp"

namespace chorus::swim {

// A member as reported in events: a copy, independent of the table.
struct member_info {
  std::string name;
  address addr;
  bytes meta;
  bytes vsn;
  std::uint32_t incarnation = 0;
  member_state state = member_state::alive;
};

enum class member_event_kind : std::uint8_t {
  join,    // first seen alive, or alive again after dead/left (see previous)
  update,  // meta (tags) changed
  leave,   // left gracefully (dead with From == Node)
  failed,  // declared dead by the failure detector
};
const char* to_string(member_event_kind k);

struct member_event {
  member_event_kind kind;
  member_state previous;  // state before; join with previous dead/left = "alive again"
  member_info member;
  // failed/leave: who declared it (the dead message's From; our own name when
  // our suspicion timer expired). Empty for the other kinds.
  std::string from;
};

// How one of our probes went (for failure explanations; the core keeps no
// history itself).
struct probe_report {
  std::string target;
  time_point started{};
  bool ok = false;
  bool direct = false;               // acked within the probe timeout
  std::vector<std::string> helpers;  // ping-req helpers asked (indirect stage)
  int expected_nacks = 0, nacks = 0;
  bool tcp_attempted = false, tcp_ok = false;
  bool late = false;         // our timers fired late: no accusation (lifeguard.late_timers_are_local)
  bool send_failed = false;  // the ping could not be sent (send_result::unreachable)
};

// The protocol half: what the core tells the layer above it. All optional
// but member_changed.
class listener {
 public:
  virtual ~listener() = default;

  // Membership changed.
  virtual void member_changed(const member_event& e) = 0;
  // We started suspecting `member` (accused by `from`): not a membership
  // change yet, but what failure-detection metrics measure.
  virtual void member_suspected(const member_info& member, std::string_view from) { (void)member, (void)from; }

  // One of our probes finished (successfully or not).
  virtual void probe_finished(const probe_report& r) { (void)r; }
  // A member we suspected is alive again (it refuted the suspicion with a
  // higher incarnation) before being declared dead.
  virtual void suspicion_refuted(const member_info& member) { (void)member; }
  // Another member independently confirmed a suspicion we hold.
  virtual void suspicion_confirmed(std::string_view member, std::string_view from) { (void)member, (void)from; }

  // --- hooks for the layer above (Serf) ---------------------------------
  // A user (type 8) message arrived: the payload after the type byte.
  virtual void user_message(std::span<const std::uint8_t> payload) { (void)payload; }
  // The user state of a completed push/pull (Serf's MergeRemoteState).
  virtual void remote_state(std::span<const std::uint8_t> state, bool join) { (void)state, (void)join; }
  // A direct probe was acked: RTT and the peer's ack payload (Serf: Vivaldi).
  virtual void ping_complete(std::string_view node, duration rtt, std::span<const std::uint8_t> payload) {
    (void)node, (void)rtt, (void)payload;
  }
  // A message or push/pull entry about `node` from `from` was refused for
  // its fields (admission.hpp) and dropped; the core counts it in
  // core_stats::refused. For logs: a flood calls this once per message.
  virtual void refused(const address& from, std::string_view node, std::string_view why) {
    (void)from, (void)node, (void)why;
  }
  // An alive for a known name came from a different address (13.12).
  virtual void name_conflict(const member_info& existing, const member_info& other) { (void)existing, (void)other; }
  // All push/pulls of one join() finished; `ok` of them succeeded.
  virtual void join_finished(std::uint64_t join_id, int ok, int failed) { (void)join_id, (void)ok, (void)failed; }
  // Our leave announcement has been gossiped its full retransmit count.
  virtual void leave_finished() {}
  // Our meta update has been gossiped its full retransmit count.
  virtual void meta_update_finished() {}
};

// A driver of a bare core: does the I/O and hears the protocol news itself.
class runtime : public io, public listener {};

// What the core's entry points write to: runtime& converts to it, and a
// layer above the core (Serf) builds it from its driver's io and itself.
using core_sink = sink<listener>;

// What the core pulls from the layer above while building packets. Optional
// (nullptr = memberlist without a delegate). Called synchronously; must not
// re-enter the core.
class delegate {
 public:
  virtual ~delegate() = default;
  // Serf's push/pull user state (LocalState).
  virtual bytes local_state(bool join) {
    (void)join;
    return {};
  }
  // Payload for our acks (Serf: 0x01 + Vivaldi coordinate).
  virtual bytes ack_payload() { return {}; }
  // Serf's own broadcast queues (GetBroadcasts), drawn after the core's:
  // append encoded user messages (0x08 + Serf message) whose `overhead` +
  // size fit in `limit` bytes in total; return the bytes used.
  virtual std::size_t broadcasts(std::size_t overhead, std::size_t limit, std::vector<bytes>& out) {
    (void)overhead, (void)limit, (void)out;
    return 0;
  }
  // Whether broadcasts() has anything queued (lets gossip rounds skip early).
  virtual bool has_broadcasts() const { return false; }
  // Messages users sent (Serf's events and queries, not its intents) are
  // waiting: they are owed a share of every packet even while membership
  // news fills the rest (config::user_packet_share).
  virtual bool has_user_broadcasts() const { return false; }
};

}  // namespace chorus::swim
