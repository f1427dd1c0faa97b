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
// Shape (STYLE.md): `serf` owns a swim::core and is its listener and
// delegate. Every entry point takes `now` and an output sink `serf_sink`
// (runtime.hpp): packets, timers and TCP exchanges, the core's and ours, go
// straight to its io; events for the agent and log lines to its listener;
// synchronously, after the state transition that caused them is complete. Randomness comes from a seeded PRNG. No
// clock, thread, socket or lock inside.
//
// Driving it (the daemon or a simulator):
//   * a message in (the datagram opened and decoded by the driver, or a TCP
//     stream's user message) -> handle_message; raw bytes after the packet
//     layer -> handle_packet
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
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/serf/runtime.hpp"
#include "agent/serf/types.hpp"
#include "vivaldi/coordinate.hpp"

namespace chorus::swim {
class core;
class keyring;
}  // namespace chorus::swim

namespace chorus::agent {

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
  void start(time_point now, serf_sink rt, const std::optional<restored_clocks>& restored = std::nullopt);
  // Push/pull join; with replay == false old user events are not replayed.
  // The join intent is broadcast once a peer answered (join_done reports).
  std::uint64_t join(time_point now, std::span<const address> addrs, bool replay, serf_sink rt);
  // Graceful leave; leave_done reports the end (after the broadcast waits).
  void leave(time_point now, serf_sink rt);
  // Leave intent for another member; error text or empty.
  std::string force_leave(time_point now, std::string_view node, bool prune, serf_sink rt);
  // Error text or empty.
  std::string user_event(time_point now, std::string_view name, std::span<const std::uint8_t> payload, bool coalesce,
                         serf_sink rt);
  query_started query(time_point now, const query_params& params, serf_sink rt);
  // Error text or empty ("failed to respond to key query: response already sent", ...).
  std::string respond(time_point now, query_handle h, std::span<const std::uint8_t> payload, serf_sink rt);
  // Error text or empty (tags too long).
  std::string set_tags(time_point now, tag_map tags, serf_sink rt);
  // Cluster-wide key operation; result via serf_listener::key_operation_done.
  // `key` is raw bytes (empty for list). Returns the operation id (0 and the
  // result delivered at once when the query could not start).
  std::uint64_t key_operation(time_point now, key_op op, std::span<const std::uint8_t> key, serf_sink rt);
  // Replaces our Vivaldi coordinate (restored from a snapshot). False if
  // refused (invalid, wrong dimensionality, coordinates disabled).
  bool restore_coordinate(const vivaldi::coordinate& c);

  // --- inputs ---------------------------------------------------------------
  void handle_message(time_point now, const address& from, const swim::message& m, serf_sink rt);
  void handle_packet(time_point now, const address& from, std::span<const std::uint8_t> data, serf_sink rt);
  void handle_timer(time_point now, swim::timer_token token, serf_sink rt);
  swim::push_pull handle_push_pull(time_point now, const address& from, const swim::push_pull& remote, serf_sink rt);
  std::optional<swim::ack> handle_stream_ping(const swim::ping& p) const;
  void push_pull_completed(time_point now, swim::exchange_id id, const swim::push_pull& remote, serf_sink rt);
  // `why`: the driver's reason (reported per address by join_done).
  void push_pull_failed(time_point now, swim::exchange_id id, serf_sink rt, const swim::exchange_error& why = {});
  void tcp_ping_completed(time_point now, swim::exchange_id id, bool ok, serf_sink rt);

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
