#pragma once
// The Serf layer (../shared/protocol/serf.md sections 3-11, 14) as a
// deterministic, sans-I/O state machine on top of swim::core.
//
// What it adds to memberlist: a member table with Serf statuses (alive,
// leaving, left, failed) decided by Lamport-clocked join/leave *intents*;
// cluster-wide user events and queries (with responses collected by the
// originator); internal queries for key rotation, reachability and name
// conflicts; anti-entropy of all that through push/pull user state; Vivaldi
// coordinates carried on acks; the agent's event coalescing.
//
// Shape (STYLE.md): `serf` owns a swim::core and acts as its runtime and
// delegate. Every entry point takes `now` and an output sink `serf_runtime`;
// all effects (packets, timers, TCP exchanges, events for the agent, log
// lines) leave through that sink, synchronously, after the state transition
// that caused them is complete. Randomness comes from a seeded PRNG. No
// clock, thread, socket or lock inside.
//
// Driving it (the daemon or a simulator):
//   * UDP datagram in (after the packet layer) -> handle_packet
//   * a timer asked for with set_timer fires   -> handle_timer (core's and
//     Serf's timers share one token space; stale tokens are ignored)
//   * TCP: a peer's push/pull -> handle_push_pull; our exchanges finish ->
//     push_pull_completed / push_pull_failed / tcp_ping_completed; a peer's
//     TCP ping -> handle_stream_ping
//   * commands: start, join, leave, force_leave, user_event, query, respond,
//     set_tags, key operations.
// Point-to-point Serf messages (query acks, responses, relays) leave as
// ordinary `send_packet(to, 0x08 + serf message, crc=false)` calls: one user
// message per datagram, no CRC, as Serf sends them.
//
// Threading: single-threaded. The sink must not re-enter the serf object from
// inside a callback (queue the work instead).
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/messages.hpp"
#include "swim/address.hpp"
#include "swim/config.hpp"
#include "swim/runtime.hpp"
#include "swim/time.hpp"
#include "vivaldi/config.hpp"
#include "vivaldi/coordinate.hpp"

namespace chorus::swim {
class core;
class keyring;
}  // namespace chorus::swim

namespace chorus::agent {

using swim::address;
using swim::duration;
using swim::time_point;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------
// Configuration (serf.md 6.5, 14). Defaults are the agent's.

struct serf_config {
  swim::config memberlist;  // name, advertise address, profile (lan/wan/local)
  tag_map tags;
  std::uint8_t protocol = 5;  // Serf (delegate) protocol, 2..5

  std::size_t event_buffer = 512;  // user-event de-dup slots
  std::size_t query_buffer = 512;  // query de-dup slots
  int query_timeout_mult = 16;
  std::size_t query_response_size_limit = 1024;
  std::size_t query_size_limit = 1024;
  std::size_t user_event_size_limit = 512;

  std::size_t max_queue_depth = 4096;
  std::size_t min_queue_depth = 0;  // > 0: limit = max(2 * members, this)
  std::size_t queue_depth_warning = 128;
  duration queue_check_interval = 30s;

  duration reap_interval = 15s;
  duration reconnect_interval = 30s;
  duration reconnect_timeout = 24h;
  duration tombstone_timeout = 24h;
  duration recent_intent_timeout = 5min;
  duration broadcast_timeout = 5s;
  duration leave_propagate_delay = 1s;
  // Serf's queries and events are sent at least this many times by each
  // node that queues them. memberlist's limit, retransmit_mult *
  // ceil(log10(N + 1)), is only 4 below N = 10, where each node then gets
  // ~4 copies and misses one query in a few hundred; queries have no
  // anti-entropy, so a missed key query leaves a rotation half done.
  int min_user_transmits = 8;

  // Agent coalescing (serf.md 7, 8). 0 periods = deliver at once.
  duration coalesce_period = 3s, quiescent_period = 1s;            // member events
  duration user_coalesce_period = 3s, user_quiescent_period = 1s;  // user events with CC
  // 0.9.4 re-emits member-update for every member whose latest event was an
  // update at every later flush (a bug). Off = each update reported once.
  bool repeat_member_updates = false;

  bool enable_name_resolution = true;  // _serf_conflict on a name conflict about us
  bool disable_coordinates = false;
  vivaldi::config coordinates;
};

// ---------------------------------------------------------------------------
// What the agent sees.

// Why we consider a member suspect/failed ("failure detection that explains
// itself"), from our own point of view.
struct probe_outcome {
  time_point at{};
  bool ok = false;
  bool direct = false;         // acked directly (UDP) within the probe timeout
  int indirect_asked = 0;      // ping-req helpers asked
  int nacks = 0;               // nacks received from them
  bool tcp_attempted = false;  // fallback TCP ping tried
  bool tcp_ok = false;
};

struct failure_report {
  std::optional<time_point> suspected_at;  // first suspicion we heard of
  std::string suspected_by;                // who accused it (us: our own name)
  std::vector<std::string> confirmed_by;   // further independent accusers we heard of
  std::optional<time_point> failed_at;     // when we declared/learned it failed
  std::string failed_by;                   // who declared it dead, when known
  std::vector<probe_outcome> our_probes;   // our last few probes of it (newest last)
  bool refuted = false;                    // it came back alive after a suspicion
};

// A member as the agent and RPC see it (Serf's Member + chorus extras).
struct member {
  std::string name;
  address addr;
  tag_map tags;
  member_status status = member_status::none;
  // memberlist Vsn: protocol min/max/cur, delegate (Serf) min/max/cur.
  std::array<std::uint8_t, 6> vsn{};
  std::uint64_t status_ltime = 0;
  failure_report failure;  // empty while nothing went wrong
};

enum class member_event_type : std::uint8_t { join, leave, failed, update, reap };
const char* to_string(member_event_type t);  // "member-join", ...

struct member_event {
  member_event_type type;
  std::vector<member> members;
};

struct user_event_data {
  std::uint64_t ltime = 0;
  std::string name;
  bytes payload;
  bool coalesce = false;
};

// A query we received and may answer once with respond(handle, ...).
using query_handle = std::uint64_t;
struct query_event {
  query_handle handle = 0;
  std::uint64_t ltime = 0;
  std::uint32_t id = 0;
  std::string name;
  bytes payload;
  std::string source_node;
  time_point deadline{};
};

// A query we started (query()).
struct query_params {
  std::string name;
  bytes payload;
  std::vector<std::string> filter_nodes;
  std::map<std::string, std::string> filter_tags;  // tag -> regex
  bool request_ack = false;
  std::uint8_t relay_factor = 0;
  duration timeout{0};  // 0 = default formula (serf.md 9.1)
};

struct query_started {
  query_handle handle = 0;  // 0 on error
  time_point deadline{};
  std::string error;
  bool ok() const { return error.empty(); }
};

enum class key_op : std::uint8_t { install, use, remove, list };

// Result of a cluster-wide key operation (RPC install-key etc.).
struct key_result {
  int num_nodes = 0;  // live members when the query started
  int num_resp = 0;
  int num_err = 0;
  std::map<std::string, std::string> messages;  // node -> error/warning
  std::map<std::string, int> keys;              // list: base64 key -> nodes having it
  std::map<std::string, int> primary_keys;      // list: base64 key -> nodes using it as primary
  std::string error;                            // "N/M nodes reported failure" / "... success", or empty
};

enum class log_level : std::uint8_t { trace, debug, info, warn, error };

// Clocks and minimums restored from a snapshot (serf.md 12).
struct restored_clocks {
  std::uint64_t member_clock = 0;
  std::uint64_t event_clock = 0;
  std::uint64_t query_clock = 0;
};

// How a join() went: one entry per address that failed, in the order the
// addresses were given (memberlist reports them in that order).
struct join_failure {
  std::size_t index = 0;  // into join()'s addrs
  address addr;
  std::string reason;  // the driver's reason (push_pull_failed), raw
};
struct join_result {
  int ok = 0, failed = 0;
  std::vector<join_failure> failures;
};

// ---------------------------------------------------------------------------
// The output sink.

class serf_runtime {
 public:
  virtual ~serf_runtime() = default;

  // --- transport (see swim::runtime for the contracts) --------------------
  virtual void send_packet(const address& to, bytes packet, bool crc) = 0;
  // Call serf::handle_timer(at or later, token).
  virtual void set_timer(time_point at, swim::timer_token token) = 0;
  virtual void start_push_pull(const address& to, swim::exchange_id id, const swim::push_pull& request,
                               time_point deadline) = 0;
  virtual void start_tcp_ping(const address& to, swim::exchange_id id, const swim::ping& request,
                              time_point deadline) = 0;

  // --- events for the agent -----------------------------------------------
  // After coalescing (serf.md 8).
  virtual void member_event(const agent::member_event& e) { (void)e; }
  // Before coalescing: what a snapshotter records (alive / not-alive).
  virtual void member_event_raw(const agent::member_event& e) { (void)e; }
  // After coalescing (serf.md 7). Internal `_serf_` queries never appear.
  virtual void user_event(const user_event_data& e) { (void)e; }
  // A query to answer (at most once, before e.deadline) via serf::respond.
  virtual void query(const query_event& e) { (void)e; }
  // For a query we started.
  virtual void query_ack(query_handle h, std::string_view from) { (void)h, (void)from; }
  virtual void query_response(query_handle h, std::string_view from, std::span<const std::uint8_t> payload) {
    (void)h, (void)from, (void)payload;
  }
  virtual void query_done(query_handle h) { (void)h; }
  // A key operation started with serf::key_operation finished.
  virtual void key_operation_done(std::uint64_t op, const key_result& r) { (void)op, (void)r; }
  // The keyring changed through an internal query: rewrite the keyring file.
  virtual void keyring_changed() {}
  // All push/pulls of join(id) finished; `r.ok` of them answered, and why
  // each other one failed.
  virtual void join_done(std::uint64_t id, const join_result& r) { (void)id, (void)r; }
  // leave() finished; error empty on success, else Serf's error text (the
  // leave still completed).
  virtual void leave_done(std::string_view error) { (void)error; }
  // force_leave() finished broadcasting.
  virtual void force_leave_done(std::string_view node, std::string_view error) { (void)node, (void)error; }
  // Name-conflict resolution lost: the agent must shut down.
  virtual void shutdown_requested(std::string_view reason) { (void)reason; }
  virtual void log(log_level level, std::string_view text) { (void)level, (void)text; }
  // Failure-detector news that is no membership change (logs, metrics): we
  // learned that `name` is suspected (accused by `by`), or a suspected
  // member refuted and is alive again (`suspected_by`: the accuser, if known).
  virtual void member_suspected(std::string_view name, const address& addr, std::string_view by) {
    (void)name, (void)addr, (void)by;
  }
  virtual void member_alive_again(std::string_view name, const address& addr, std::string_view suspected_by) {
    (void)name, (void)addr, (void)suspected_by;
  }
};

// ---------------------------------------------------------------------------

struct serf_stats {
  std::size_t members = 0, failed = 0, left = 0;
  int health_score = 0;
  std::uint64_t member_time = 0, event_time = 0, query_time = 0;
  std::size_t intent_queue = 0, event_queue = 0, query_queue = 0;
  bool encrypted = false;
  std::uint64_t coordinate_resets = 0;
  // Received events, queries and responses refused for exceeding this
  // agent's size limits (and events dropped from push/pull state for it).
  std::uint64_t oversized_refused = 0;
  // serf.md 14 keys -> values as `serf info` prints them.
  std::map<std::string, std::string> as_map() const;
};

class serf_impl;

class serf {
 public:
  // keyring: the transport's keyring (nullptr = encryption off); the key
  // queries act on it. Must outlive the serf object.
  serf(serf_config cfg, std::uint64_t seed, swim::keyring* keyring = nullptr);
  ~serf();
  serf(const serf&) = delete;
  serf& operator=(const serf&) = delete;

  // --- commands -------------------------------------------------------------
  // Clocks at 1 (or restored values witnessed), tags in Meta, core started.
  void start(time_point now, serf_runtime& rt, const std::optional<restored_clocks>& restored = std::nullopt);
  // Push/pull join; with replay == false old user events are not replayed.
  // The join intent is broadcast once a peer answered (join_done reports).
  std::uint64_t join(time_point now, std::span<const address> addrs, bool replay, serf_runtime& rt);
  // Graceful leave; leave_done reports the end (after the broadcast waits).
  void leave(time_point now, serf_runtime& rt);
  // Leave intent for another member; error text or empty.
  std::string force_leave(time_point now, std::string_view node, bool prune, serf_runtime& rt);
  // Error text or empty.
  std::string user_event(time_point now, std::string_view name, std::span<const std::uint8_t> payload, bool coalesce,
                         serf_runtime& rt);
  query_started query(time_point now, const query_params& params, serf_runtime& rt);
  // Error text or empty ("failed to respond to key query: response already sent", ...).
  std::string respond(time_point now, query_handle h, std::span<const std::uint8_t> payload, serf_runtime& rt);
  // Error text or empty (tags too long).
  std::string set_tags(time_point now, tag_map tags, serf_runtime& rt);
  // Cluster-wide key operation; result via serf_runtime::key_operation_done.
  // `key` is raw bytes (empty for list). Returns the operation id (0 and the
  // result delivered at once when the query could not start).
  std::uint64_t key_operation(time_point now, key_op op, std::span<const std::uint8_t> key, serf_runtime& rt);
  // Replaces our Vivaldi coordinate (restored from a snapshot). False if
  // refused (invalid, wrong dimensionality, coordinates disabled).
  bool restore_coordinate(const vivaldi::coordinate& c);

  // --- inputs ---------------------------------------------------------------
  void handle_packet(time_point now, const address& from, std::span<const std::uint8_t> data, serf_runtime& rt);
  void handle_timer(time_point now, swim::timer_token token, serf_runtime& rt);
  swim::push_pull handle_push_pull(time_point now, const address& from, const swim::push_pull& remote,
                                   serf_runtime& rt);
  std::optional<swim::ack> handle_stream_ping(const swim::ping& p) const;
  void push_pull_completed(time_point now, swim::exchange_id id, const swim::push_pull& remote, serf_runtime& rt);
  // `reason`: why the exchange failed (reported per address by join_done).
  void push_pull_failed(time_point now, swim::exchange_id id, serf_runtime& rt, std::string_view reason = {});
  void tcp_ping_completed(time_point now, swim::exchange_id id, bool ok, serf_runtime& rt);

  // --- observers ------------------------------------------------------------
  const std::string& name() const;
  const serf_config& cfg() const;
  const tag_map& tags() const;
  std::vector<member> members() const;
  std::optional<member> find_member(std::string_view name) const;
  member_status local_status() const;                                             // alive, leaving, left
  std::optional<vivaldi::coordinate> coordinate_of(std::string_view name) const;  // own name works too
  vivaldi::coordinate local_coordinate() const;
  restored_clocks clocks() const;  // current values (for the snapshotter)
  serf_stats stats() const;
  const swim::core& core() const;
  bool encrypted() const;

 private:
  std::unique_ptr<serf_impl> impl_;
};

}  // namespace chorus::agent
