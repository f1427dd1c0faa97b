#pragma once
// Internal: the state behind agent::serf (serf.hpp). serf.cpp holds
// membership, intents, events, push/pull, leave and timers; queries.cpp
// holds queries, internal queries and key operations. The pure rules live in
// members.hpp, event_buffer, query_rules, key_queries and coalescer.
//
// serf_impl is the swim::core's listener and delegate: the core calls it
// synchronously while one of serf's entry points runs; `io_`, `rt_` and
// `now_` are the io, listener and time of that call. The core's I/O goes to
// `io_` directly (sink()), not through this object.
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "agent/serf/coalescer.hpp"
#include "agent/serf/event_buffer.hpp"
#include "agent/serf/lamport_clock.hpp"
#include "agent/serf/members.hpp"
#include "agent/serf/query_rules.hpp"
#include "agent/serf/runtime.hpp"
#include "agent/serf/types.hpp"
#include "common/random.hpp"
#include "swim/broadcast_queue.hpp"
#include "swim/core.hpp"
#include "swim/keyring.hpp"
#include "vivaldi/client.hpp"

namespace chorus::agent {

// Serf's timers share the driver's token space with the core's; the core
// counts up from 1, ours carry this bit.
inline constexpr swim::timer_token serf_timer_bit = 1ULL << 62;
// Probe outcomes remembered per member for failure reports.
inline constexpr std::size_t probe_history = 5;

enum class serf_state : std::uint8_t { alive, leaving, left };

class serf_impl final : public swim::listener, public swim::delegate {
 public:
  serf_impl(serf_config cfg, std::uint64_t seed, swim::keyring* ring);

  // Sets the sink and time for one entry point; finish() runs the work the
  // core's callbacks left (finished broadcast tokens).
  void enter(time_point now, serf_sink rt) {
    now_ = now;
    io_ = &rt.out;
    rt_ = &rt.on;
  }
  void finish();
  // What the core writes to during this call: our io, and us.
  swim::core_sink sink() { return {*io_, *this}; }

  // --- swim::listener -----------------------------------------------------
  void member_changed(const swim::member_event& e) override;
  void member_suspected(const swim::member_info& m, std::string_view from) override;
  void suspicion_confirmed(std::string_view member, std::string_view from) override;
  void suspicion_refuted(const swim::member_info& m) override;
  void probe_finished(const swim::probe_report& r) override;
  void user_message(std::span<const std::uint8_t> payload) override;
  void remote_state(std::span<const std::uint8_t> state, bool join) override;
  void ping_complete(std::string_view node, duration rtt, std::span<const std::uint8_t> payload) override;
  void name_conflict(const swim::member_info& existing, const swim::member_info& other) override;
  void refused(const address& from, std::string_view node, std::string_view why) override;
  void join_finished(std::uint64_t join_id, int ok, int failed) override;
  void leave_finished() override;

  // --- swim::delegate -----------------------------------------------------
  bytes local_state(bool join) override;
  bytes ack_payload() override;
  std::size_t broadcasts(std::size_t overhead, std::size_t limit, std::vector<bytes>& out) override;
  bool has_broadcasts() const override { return !intents_q_.empty() || !queries_q_.empty() || !events_q_.empty(); }
  bool has_user_broadcasts() const override { return !queries_q_.empty() || !events_q_.empty(); }

  // --- commands (serf.cpp) ------------------------------------------------
  void start(const std::optional<restored_clocks>& restored);
  std::uint64_t join(std::span<const address> addrs, bool replay);
  void leave();
  std::string force_leave(std::string_view node, bool prune);
  std::string user_event(std::string_view name, std::span<const std::uint8_t> payload, bool coalesce);
  std::string set_tags(tag_map tags);
  void handle_timer(swim::timer_token token);

  // --- queries (queries.cpp) -----------------------------------------
  enum class query_purpose : std::uint8_t { user, key_op, conflict };
  query_started start_query(const query_params& p, query_purpose purpose, std::uint64_t op = 0);
  std::string respond(query_handle h, std::span<const std::uint8_t> payload);
  std::uint64_t key_operation(key_op op, std::span<const std::uint8_t> key);

  // --- observers ----------------------------------------------------------
  member with_report(const member& m) const;
  serf_stats stats() const;

  // State (public inside the implementation: serf.cpp and queries.cpp).
  serf_config cfg_;
  chorus::random_source rng_;
  swim::keyring* keyring_;
  std::unique_ptr<swim::core> core_;
  swim::io* io_ = nullptr;
  serf_listener* rt_ = nullptr;
  time_point now_{};
  serf_state state_ = serf_state::alive;
  tag_map tags_;

  lamport_clock member_clock_, event_clock_, query_clock_;
  serf_members members_;
  event_buffer events_;
  query_buffer queries_;
  swim::broadcast_queue intents_q_, queries_q_, events_q_;
  std::vector<std::uint64_t> finished_tokens_;
  // A query or event was queued during this call: finish() asks the core
  // for a gossip round at once (core::gossip_now), outside the core's call.
  bool gossip_now_ = false;
  std::uint64_t next_broadcast_token_ = 1;

  vivaldi::client coord_client_;
  std::map<std::string, vivaldi::coordinate> coord_cache_;

  // Received Serf messages over this agent's size limits (serf_stats).
  std::uint64_t oversized_refused_ = 0;
  // Whether a received Serf message of `size` bytes (type byte included) is
  // within the limit for its kind; counts and logs (sparingly) if not.
  bool within_limit(std::string_view what, std::size_t size, std::size_t limit);
  // Sources whose refused messages were logged: once per source, so a flood
  // is counted (core_stats::refused) but logged a bounded number of times.
  std::unordered_set<address, swim::address_hash> refused_sources_;

  // Failure explanations.
  std::map<std::string, failure_report> failures_;
  std::map<std::string, std::deque<probe_outcome>> probes_;

  // Timers.
  enum class timer_kind : std::uint8_t {
    reap,
    reconnect,
    queue_check,
    query_collect_end,  // a query we started: collection closes
    query_expire,       // a query we received: the response deadline passed
    member_flush,
    user_flush,
    leave_intent_timeout,
    leave_memberlist_timeout,
    leave_propagated,
    force_leave_timeout,
  };
  struct serf_timer {
    timer_kind kind;
    std::uint64_t arg = 0;
  };
  swim::timer_token arm(time_point at, timer_kind kind, std::uint64_t arg = 0);
  std::unordered_map<swim::timer_token, serf_timer> timers_;
  swim::timer_token next_token_ = serf_timer_bit | 1;

  // Coalescers (serf.md 8), each with its two flush timers: the quantum
  // bounds how long the first held event waits; the quiescent timer,
  // re-armed by every event, flushes as soon as events stop coming.
  template <class Coalescer>
  struct coalescing {
    Coalescer events;
    swim::timer_token quantum = 0, quiescent = 0;
  };
  coalescing<member_coalescer> member_coalescing_;
  coalescing<user_coalescer> user_coalescing_;
  // Holds `e` back (true) unless coalescing is off (`quantum` <= 0) or the
  // coalescer does not take its kind; both timers fire `kind` (inbound.cpp).
  template <class Coalescer, class Event>
  bool hold(coalescing<Coalescer>& c, const Event& e, duration quantum, duration quiescent, timer_kind kind);
  // The held events, in order; the timers are done.
  template <class Coalescer>
  auto release(coalescing<Coalescer>& c);

  // Joins: ids started by join() (broadcast a join intent on success) and
  // those that must not replay old events.
  std::set<std::uint64_t> user_joins_, ignore_old_joins_, reconnect_joins_;
  // Per-address outcome of user joins: the core starts one exchange per
  // address, in order, numbered from the join id (core::join).
  struct join_track {
    std::vector<address> seeds;
    std::vector<std::optional<swim::exchange_error>> reasons;  // set: that seed failed
  };
  std::map<std::uint64_t, join_track> join_tracks_;
  std::map<swim::exchange_id, std::pair<std::uint64_t, std::size_t>> join_exchanges_;  // -> join id, seed
  // The exchange whose completion is being processed and the core's refusal
  // count before it (a refused merge counts as a failed join address).
  std::optional<std::pair<swim::exchange_id, std::uint64_t>> completing_;
  void join_exchange_failed(swim::exchange_id id, const swim::exchange_error& why);
  void push_pull_completed(swim::exchange_id id, const swim::push_pull& remote);

  // Leave.
  std::uint64_t leave_token_ = 0;  // our leave intent's broadcast token
  int leave_stage_ = 0;            // 0 none, 1 intent broadcast, 2 memberlist leave, 3 propagate
  std::string leave_error_;
  swim::timer_token leave_timer_ = 0;
  std::map<std::uint64_t, std::string> force_leaves_;  // broadcast token -> node

  // Queries we started, by LTime.
  struct collector {
    response_collector c;
    query_handle handle;
    query_purpose purpose;
    std::uint64_t op;
  };
  std::map<std::uint64_t, collector> collectors_;
  // Queries we received and may answer.
  struct pending_query {
    query q;  // filters/payload dropped
    time_point deadline;
    bool responded = false;
  };
  std::map<query_handle, pending_query> pending_;
  query_handle next_handle_ = 1;
  // Key operations and conflict resolutions in flight.
  std::map<std::uint64_t, key_result> key_ops_;
  std::uint64_t next_op_ = 1;
  struct conflict_tally {
    int responses = 0, matching = 0;
  };
  std::map<std::uint64_t, conflict_tally> conflicts_;

  // Internals (serf.cpp).
  void emit_member_event(const member_event& e);
  void emit_user_event(const user_event_data& e);
  void flush_members();
  void flush_users();
  void queue_intent(bytes raw, std::uint64_t token = 0);
  void queue(swim::broadcast_queue& q, bytes raw, std::uint64_t token = 0);
  void broadcast_join(std::uint64_t ltime);
  bool handle_join_intent(const join_intent& j);
  bool handle_leave_intent(const leave_intent& l);
  bool handle_user_event(const agent::user_event& e);
  void prune(const std::string& name);
  void on_reap(const member_event& e);
  void reap_tick();
  void reconnect_tick();
  void queue_check_tick();
  void leave_stage(int stage);
  void log(log_level l, std::string text) { rt_->log(l, text); }

  // Internals (queries.cpp).
  bool handle_query(const query& q, bool local);
  void handle_query_response(const query_response& r);
  void handle_relay(const relay& r);
  void send_user_message(const address& to, const bytes& serf_msg);
  void relay_response(std::uint8_t relay_factor, const address& to, const std::string& dest_name,
                      const bytes& serf_msg);
  void internal_query(const query& q, query_handle h);
  void collection_ended(std::uint64_t ltime);
  void resolve_conflict();
  void process_serf_message(std::span<const std::uint8_t> payload);
};

}  // namespace chorus::agent
