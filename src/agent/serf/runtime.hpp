#pragma once
// The Serf layer's output sink: every effect of agent::serf (serf.hpp)
// leaves through it, synchronously, after the state transition that caused
// it. The daemon implements it over the Asio transport, the simulator over
// its virtual network. Must not re-enter the serf object from a callback.
#include <span>
#include <string_view>

#include "agent/serf/types.hpp"
#include "swim/runtime.hpp"

namespace chorus::agent {

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

}  // namespace chorus::agent
