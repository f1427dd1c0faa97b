#pragma once
// The Serf layer's output: every effect of agent::serf (serf.hpp) leaves
// through it, synchronously, after the state transition that caused it.
// Two halves, as for the core (swim/runtime.hpp):
//   swim::io        datagrams, timers, TCP exchanges: the Serf layer and the
//                   core under it write to the same io (the daemon's is the
//                   transport itself, the simulator's its network)
//   serf_listener   events, query results and log lines for the agent
// The entry points take a serf_sink, the two together; a serf_runtime is one
// object implementing both (simulators, test recorders). Must not re-enter
// the serf object from a callback.
#include <span>
#include <string_view>

#include "agent/serf/types.hpp"
#include "swim/io.hpp"

namespace chorus::agent {

// ---------------------------------------------------------------------------
// What the agent hears.

class serf_listener {
 public:
  virtual ~serf_listener() = default;

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

// A driver that does its own I/O and hears the events too.
class serf_runtime : public swim::io, public serf_listener {};

// What the serf's entry points write to: serf_runtime& converts to it; the
// daemon builds it from the transport and itself.
using serf_sink = swim::sink<serf_listener>;

}  // namespace chorus::agent
