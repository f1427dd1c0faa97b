#pragma once
// What both scripted runs share (scenario.hpp for bare cores,
// serf_scenario.hpp for Serf nodes): the cluster and network they set up,
// and the figures they report (distributions of times, how far news spread,
// load, what the run cost the process).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "swim/time.hpp"

namespace chorus::sim {

using namespace std::chrono_literals;

struct run_params {
  std::size_t nodes = 100;
  swim::duration measure = 60s;  // measurement window after warm-up
  std::uint64_t seed = 1;
  std::string profile = "lan";
  double loss = 0;                     // from the window's start
  std::string latency_matrix;          // empty: constant latency
  swim::duration latency = 500us;      // one-way, when no matrix
  swim::duration join_spacing = 10ms;  // between successive joins at bootstrap
  swim::duration max_warmup = 600s;    // give up waiting for convergence after this
  // Start from a formed cluster (simulator::restore_full_membership) instead
  // of joins: for large N, where the join storm would dominate the run.
  bool warm_start = false;
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
// `times`: seconds at which each node that got it got it; `of`: how many
// should have.
spread make_spread(std::vector<double> times, std::size_t of);

// What a run cost and what went wrong on the wire, summed over all nodes.
struct totals {
  std::uint64_t events = 0;
  std::uint64_t udp_packets = 0, udp_bytes = 0, udp_dropped = 0, udp_oversize = 0;
  std::uint64_t tcp_exchanges = 0, tcp_bytes = 0, tcp_failed = 0;
  std::uint64_t decode_errors = 0;  // includes encoded sizes that disagreed with stream_body_size
  std::uint64_t push_pull_tables = 0, push_pull_tables_encoded = 0;
  std::uint64_t stall_dropped = 0;  // datagrams beyond a stalled node's receive buffer
};

// UDP and TCP load per node and second over a measurement window.
struct window_load {
  double msgs_per_node_s = 0, bytes_per_node_s = 0;  // UDP
  double tcp_bytes_per_node_s = 0;
};
window_load load_between(const totals& before, const totals& after, swim::duration window, std::size_t nodes);

inline double secs(swim::duration d) { return static_cast<double>(d.count()) / 1e6; }

// Peak resident set size of this process (VmHWM), MiB; 0 if unknown.
double peak_rss_mib();

// Runs `run` and fills in the result's wall_s and peak_rss_mib.
template <class Run>
auto timed(Run run) {
  const auto wall_start = std::chrono::steady_clock::now();
  auto r = run();
  r.peak_rss_mib = peak_rss_mib();
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return r;
}

}  // namespace chorus::sim
