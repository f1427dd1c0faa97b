#pragma once
// The Serf layer's value types: configuration, members and their events,
// user events, queries, key operations, statistics. Plain data, shared by the
// facade (serf.hpp), the output sink (runtime.hpp) and the pure rules
// (members, coalescer, failure text, key queries), so none of those has to
// include the facade.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/serf/messages.hpp"
#include "swim/address.hpp"
#include "swim/config.hpp"
#include "swim/errors.hpp"
#include "swim/time.hpp"
#include "vivaldi/config.hpp"

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
  bool send_failed = false;  // the ping itself could not be sent (no route, firewall)
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

// Spreads a Vsn over the six fields that Serf's wire and RPC member structs
// (member_info, rpc::member) spell out one by one, in one place so the two
// cannot disagree on the order.
template <class Fields>
void set_vsn_fields(Fields& out, const std::array<std::uint8_t, 6>& vsn) {
  out.protocol_min = vsn[0];
  out.protocol_max = vsn[1];
  out.protocol_cur = vsn[2];
  out.delegate_min = vsn[3];
  out.delegate_max = vsn[4];
  out.delegate_cur = vsn[5];
}

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
  // The driver's reason (push_pull_failed), or exchange_fault::incompatible
  // when the core refused the reply's protocol range.
  swim::exchange_error reason;
};
struct join_result {
  int ok = 0, failed = 0;
  std::vector<join_failure> failures;
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

}  // namespace chorus::agent
