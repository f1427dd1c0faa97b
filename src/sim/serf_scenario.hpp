#pragma once
// A scripted simulation of Serf nodes with the measurements chorus-sim
// prints (--layer serf): bootstrap (a join storm, or a formed cluster whose
// gossip is left to settle), then, in one measurement window,
// the news Serf adds to memberlist and how fast it reaches every node:
//   at 0      a user event from n0            (delivered at each other node)
//   at 1/6    a query from n1, with acks,     (acks and responses back at n1)
//             answered by every node
//   at 1/2    a tag update at n2              (member-update at each other node)
//   at 2/3    a graceful leave of n3          (its leave intent: status
//             leaving or left at each other node; then member-leave)
// of the window (60 s by default: 0, 10, 30, 40 s). The query's default
// timeout is 16 gossip intervals * ceil(log10 N): 12.8 s at N = 1,000, so
// its responses are in before the tag update.
#include <cstdint>
#include <string>

#include "sim/measure.hpp"
#include "sim/simulator.hpp"

namespace chorus::sim {

struct serf_scenario_params : run_params {
  // With warm_start: time for the formed cluster's gossip to settle (each
  // node re-gossips every member it learned, ~40 s at N = 1,000), so the
  // window starts in a quiet cluster.
  duration settle = 60s;
  bool seal = false;  // the packet layer (options::seal)
};

struct query_spread {
  std::size_t expected = 0;  // up nodes when it started: each one answers
  spread acks, responses;    // at the originator, seconds after the query started
  double timeout_s = 0;      // the query's deadline, seconds after it started
};

// The totals are the whole run's (warm-up included), the load the window's.
struct serf_scenario_result : totals, window_load {
  bool converged = false;
  double warmup_s = 0;  // virtual seconds until every node held every member alive
  spread user_event;    // seconds after it was sent
  query_spread query;
  spread tag_update;    // seconds after set_tags
  spread leave_intent;  // seconds after leave(), polled every 50 ms
  spread leave;         // seconds after leave(), member-leave events
  std::uint64_t trace_hash = 0;
  double wall_s = 0;
  double peak_rss_mib = 0;
};

serf_scenario_result run_serf_scenario(const serf_scenario_params& p);

}  // namespace chorus::sim
