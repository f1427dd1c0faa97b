#pragma once
// A scripted simulation of bare SWIM cores with the measurements chorus-sim
// prints (--layer swim) and the
// simulation tests assert: bootstrap by joins, then faults (crashes, stalls,
// a partition) over a measurement window, with dissemination times,
// failure-detection times, false failures and message load.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/faults.hpp"
#include "sim/measure.hpp"
#include "sim/simulator.hpp"

namespace chorus::sim {

struct scenario_params : run_params {
  bool lifeguard = true;
  bool corroborate_dead = true;  // lifeguard_config::corroborate_dead (chorus; off = memberlist's rule)
  bool tell_stale = true;        // lifeguard_config::tell_stale (chorus; off = memberlist's rule)
  // config::suspicion_confirmed_min_scale (swim::memberlist_confirmed_min_scale = memberlist's)
  double confirmed_min_scale = swim::chorus_confirmed_min_scale;
  // config::refuted_floor_window (0: no guard)
  duration refuted_floor_window = swim::config{}.refuted_floor_window;
  duration crash_every = 0s;     // 0: no crashes
  bool restart_crashed = false;  // crashed nodes come back after restart_after
  duration restart_after = 60s;
  duration stall_every = 0s;  // 0: no stalls
  duration stall_for = 3s;
  simulator::stall_mode stall_mode = simulator::stall_mode::freeze;
  std::optional<duration> partition_at, heal_at;  // relative to the window start
  duration dead_node_reclaim_time = 0s;
  std::size_t max_broadcasts = 1024;
  bool chain_join = false;  // node i joins i-1 (else a random earlier node)
  fault_plan fault;         // one of issue 15's hard faults (faults.hpp)
};

// The totals are the whole run's (warm-up included), the load the window's.
struct scenario_result : totals, window_load {
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
  // Observers are the healthy nodes; what a faulty node (fault_plan) itself
  // declares about healthy ones is counted apart: a deaf or lossy node's own
  // view, which no protocol can keep right.
  std::size_t false_failures_at_faulty = 0;
  std::map<node_id, std::size_t> false_failures_by_observer;
  // Who declared each falsely failed node dead, counted ("accuser -> count"):
  // the dead message's sender, or the observer itself when its own
  // suspicion timer expired.
  std::map<node_id, std::size_t> false_failure_accusers;
  // --- the fault plan's faulty nodes (faults.hpp) ---
  std::size_t faulty_failed = 0;  // failed events about them, summed over observers
  std::size_t flaps = 0;          // alive again after failed, summed over observers
  std::size_t flaps_max_per_observer = 0;
  summary faulty_detection;  // fault start -> each observer's first failed event about a faulty node
  // Mass crash: restart -> each live observer holds the restarted node alive.
  summary rejoin;
  std::size_t not_rejoined = 0;  // (restarted node, observer) pairs not alive by the end
  std::size_t stalls = 0;
  double healed_s = -1;  // after heal: all up nodes alive everywhere (-1: not within the window)
  std::uint64_t trace_hash = 0;
  std::vector<std::string> trace;
  double wall_s = 0;
  double peak_rss_mib = 0;
  std::size_t member_table_bytes = 0;  // summed over nodes
  std::size_t member_entries = 0;      // summed over nodes
};

scenario_result run_scenario(const scenario_params& p);

}  // namespace chorus::sim
