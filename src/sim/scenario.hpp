#pragma once
// A scripted simulation with the measurements chorus-sim prints and the
// simulation tests assert: bootstrap by joins, then faults (crashes, stalls,
// a partition) over a measurement window, with dissemination times,
// failure-detection times, false failures and message load.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/simulator.hpp"

namespace chorus::sim {

struct scenario_params {
  std::size_t nodes = 100;
  duration measure = 60s;  // measurement window after warm-up
  std::uint64_t seed = 1;
  std::string profile = "lan";
  double loss = 0;
  bool lifeguard = true;
  std::string latency_matrix;    // empty: constant latency
  duration latency = 500us;      // one-way, when no matrix
  duration crash_every = 0s;     // 0: no crashes
  bool restart_crashed = false;  // crashed nodes come back after restart_after
  duration restart_after = 60s;
  duration stall_every = 0s;  // 0: no stalls
  duration stall_for = 3s;
  simulator::stall_mode stall_mode = simulator::stall_mode::freeze;
  std::optional<duration> partition_at, heal_at;  // relative to the window start
  duration dead_node_reclaim_time = 0s;
  std::size_t max_broadcasts = 1024;
  // Start from a formed cluster (simulator::restore_full_membership) instead
  // of joins: for large N, where the join storm would dominate the run.
  bool warm_start = false;
  bool chain_join = false;       // node i joins i-1 (else a random earlier node)
  duration join_spacing = 10ms;  // between successive joins at bootstrap
  duration max_warmup = 600s;    // give up waiting for convergence after this
  bool record_trace = false;
  // options::wire_every: every Nth push/pull table through the codec, the
  // others handed over as structs (1: all through the codec).
  std::uint32_t wire_every = 1;
};

struct summary {
  std::size_t count = 0;
  double median = 0, p99 = 0, max = 0;  // seconds
};
summary summarize(std::vector<double> v);

struct spread {
  double t50 = -1, t99 = -1, t100 = -1;  // seconds until that share of nodes had it; -1: never
  std::size_t reached = 0, of = 0;
};

struct scenario_result {
  bool converged = false;
  double warmup_s = 0;  // virtual seconds until full membership everywhere
  spread join;          // a probe node joining after warm-up
  spread broadcast;     // a user broadcast from node 0 after warm-up
  std::size_t crashes = 0;
  summary first_suspect;               // crash -> first node suspects it (one value per crash)
  summary detection;                   // crash -> each live node marks it failed (one value per node and crash)
  summary detection_all;               // crash -> the last live node marks it failed (one per crash)
  std::size_t undetected = 0;          // (crash, live node) pairs not failed by the end
  std::size_t false_failures = 0;      // failed events about nodes that were up and not stalled
  std::size_t false_failed_nodes = 0;  // distinct such nodes
  // Most observers that declared one healthy node failed at one incarnation:
  // 1 = every false failure stayed one stale node's view, the cluster never
  // agreed on it (the others held the node's refutation).
  std::size_t false_failure_max_observers = 0;
  std::size_t false_suspicions = 0;  // suspicions of such nodes
  std::size_t stalls = 0;
  double healed_s = -1;  // after heal: all up nodes alive everywhere (-1: not within the window)
  double msgs_per_node_s = 0, bytes_per_node_s = 0;  // UDP, measurement window
  double tcp_bytes_per_node_s = 0;
  std::uint64_t events = 0, decode_errors = 0, udp_oversize = 0;
  std::uint64_t push_pull_tables = 0, push_pull_tables_encoded = 0;  // whole run
  std::uint64_t stall_dropped = 0;  // datagrams lost to a stalled node's full receive buffer
  std::uint64_t trace_hash = 0;
  std::vector<std::string> trace;
  double wall_s = 0;
  double peak_rss_mib = 0;
  std::size_t member_table_bytes = 0;  // summed over nodes
  std::size_t member_entries = 0;      // summed over nodes
};

scenario_result run_scenario(const scenario_params& p);

// Peak resident set size of this process (VmHWM), MiB; 0 if unknown.
double peak_rss_mib();

}  // namespace chorus::sim
