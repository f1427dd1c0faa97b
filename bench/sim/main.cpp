// chorus-sim: runs the SWIM core at N nodes in one process over virtual time
// and prints what it measured as JSON. See bench/README.md, "Simulation".
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "sim/scenario.hpp"

namespace {
using chorus::sim::duration;
duration seconds(double s) { return duration{static_cast<std::int64_t>(s * 1e6)}; }

nlohmann::json to_json(const chorus::sim::summary& s) {
  return {{"count", s.count}, {"median_s", s.median}, {"p99_s", s.p99}, {"max_s", s.max}};
}
nlohmann::json to_json(const chorus::sim::spread& s) {
  return {{"t50_s", s.t50}, {"t99_s", s.t99}, {"t100_s", s.t100}, {"reached", s.reached}, {"of", s.of}};
}

// glibc keeps at most 7 freed chunks per size in its thread cache; the rest
// go to fastbins that the next large allocation consolidates. A push/pull of
// a 10,000-node table frees tens of thousands of small buffers and then
// allocates a large one, so with the default the allocator took over half of
// the run time (N = 3,000: 21 s user CPU, 11.8 s with a large cache). The
// tunable is read only at process start: set it and re-execute ourselves
// once. CHORUS_SIM_DEFAULT_MALLOC=1 keeps glibc's default.
void tune_malloc(char** argv) {
  if (std::getenv("CHORUS_SIM_DEFAULT_MALLOC") || std::getenv("CHORUS_SIM_MALLOC_TUNED")) return;
  std::string t = "glibc.malloc.tcache_count=65535";
  if (const char* old = std::getenv("GLIBC_TUNABLES"); old && *old) t = std::string(old) + ":" + t;
  ::setenv("GLIBC_TUNABLES", t.c_str(), 1);
  ::setenv("CHORUS_SIM_MALLOC_TUNED", "1", 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: run untuned
}
}  // namespace

int main(int argc, char** argv) {
  tune_malloc(argv);
  CLI::App app{"chorus-sim: SWIM + Lifeguard at N nodes over virtual time"};
  chorus::sim::scenario_params p;
  double secs = 60, crash_every = 0, stall_every = 0, stall_for = 3, latency_ms = 0.5, reclaim = 0, spacing_ms = 10;
  double partition_at = -1, heal_at = -1;
  std::string lifeguard = "on";
  std::string stall_mode = "freeze";
  bool check_determinism = false;
  std::size_t repeat_seed_check = 0;
  p.wire_every = 16;  // 10,000 nodes: encoding and decoding every table was a sixth of the run
  app.add_option("--nodes", p.nodes, "number of nodes")->required();
  app.add_option("--seconds", secs, "virtual seconds measured after warm-up")->required();
  app.add_option("--seed", p.seed, "root seed");
  app.add_option("--profile", p.profile, "lan | wan | local")->check(CLI::IsMember({"lan", "wan", "local"}));
  app.add_option("--loss", p.loss, "uniform UDP loss probability")->check(CLI::Range(0.0, 1.0));
  app.add_option("--crash-every", crash_every, "crash a random node every S seconds");
  app.add_flag("--restart", p.restart_crashed, "restart crashed nodes after --restart-after seconds");
  app.add_option("--stall-every", stall_every, "stall a random node every S seconds");
  app.add_option("--stall-for", stall_for, "stall duration, seconds");
  app.add_option("--stall-mode", stall_mode,
                 "freeze (the whole process pauses) | receive (only the receive path starves)")
      ->check(CLI::IsMember({"freeze", "receive"}));
  app.add_option("--partition-at", partition_at, "split the cluster 50/50 at S seconds into the window");
  app.add_option("--heal-at", heal_at, "heal the partition at S seconds into the window");
  app.add_option("--lifeguard", lifeguard, "on | off")->check(CLI::IsMember({"on", "off"}));
  app.add_option("--latency-matrix", p.latency_matrix, "RTT matrix (ms), e.g. seattle99.rtt");
  app.add_option("--latency-ms", latency_ms, "constant one-way latency when no matrix");
  app.add_option("--reclaim", reclaim, "dead node reclaim time, seconds");
  app.add_option("--join-spacing-ms", spacing_ms, "time between bootstrap joins");
  app.add_option("--max-broadcasts", p.max_broadcasts, "broadcast queue cap per node");
  app.add_flag("--warm-start", p.warm_start, "start from a formed cluster (no join storm)");
  app.add_flag("--chain", p.chain_join, "bootstrap as a chain (node i joins i-1)");
  app.add_option("--wire-every", p.wire_every,
                 "encode and decode every Nth push/pull table; hand the others to the receiving core as structs, "
                 "charged at their exact encoded size (1: all through the codec, 0: none)");
  app.add_flag("--check-determinism", check_determinism, "run twice and assert identical traces");
  CLI11_PARSE(app, argc, argv);
  (void)repeat_seed_check;

  p.measure = seconds(secs);
  p.crash_every = seconds(crash_every);
  p.stall_every = seconds(stall_every);
  p.stall_for = seconds(stall_for);
  p.stall_mode = stall_mode == "receive" ? chorus::sim::simulator::stall_mode::receive
                                         : chorus::sim::simulator::stall_mode::freeze;
  p.latency = seconds(latency_ms / 1000.0);
  p.dead_node_reclaim_time = seconds(reclaim);
  p.join_spacing = seconds(spacing_ms / 1000.0);
  p.lifeguard = lifeguard == "on";
  if (partition_at >= 0) p.partition_at = seconds(partition_at);
  if (heal_at >= 0) p.heal_at = seconds(heal_at);

  chorus::sim::scenario_result r;
  try {
    r = chorus::sim::run_scenario(p);
  } catch (const std::exception& e) {
    std::cerr << "chorus-sim: " << e.what() << "\n";
    return 2;
  }
  nlohmann::json out = {
      {"params",
       {{"nodes", p.nodes},
        {"seconds", secs},
        {"seed", p.seed},
        {"profile", p.profile},
        {"loss", p.loss},
        {"lifeguard", lifeguard},
        {"crash_every_s", crash_every},
        {"stall_every_s", stall_every},
        {"stall_for_s", stall_for},
        {"stall_mode", stall_mode},
        {"partition_at_s", partition_at},
        {"heal_at_s", heal_at},
        {"latency_matrix", p.latency_matrix},
        {"warm_start", p.warm_start},
        {"wire_every", p.wire_every}}},
      {"converged", r.converged},
      {"warmup_s", r.warmup_s},
      {"join", to_json(r.join)},
      {"broadcast", to_json(r.broadcast)},
      {"crashes", r.crashes},
      {"first_suspect", to_json(r.first_suspect)},
      {"detection", to_json(r.detection)},
      {"detection_all_nodes", to_json(r.detection_all)},
      {"undetected", r.undetected},
      {"false_failures", r.false_failures},
      {"false_failed_nodes", r.false_failed_nodes},
      {"false_failure_max_observers", r.false_failure_max_observers},
      {"stall_dropped", r.stall_dropped},
      {"false_suspicions", r.false_suspicions},
      {"stalls", r.stalls},
      {"healed_s", r.healed_s},
      {"msgs_per_node_s", r.msgs_per_node_s},
      {"bytes_per_node_s", r.bytes_per_node_s},
      {"tcp_bytes_per_node_s", r.tcp_bytes_per_node_s},
      {"events", r.events},
      {"decode_errors", r.decode_errors},
      {"push_pull_tables", r.push_pull_tables},
      {"push_pull_tables_encoded", r.push_pull_tables_encoded},
      {"udp_oversize", r.udp_oversize},
      {"trace_hash", r.trace_hash},
      {"member_entries", r.member_entries},
      {"member_table_bytes", r.member_table_bytes},
      {"bytes_per_member_entry",
       r.member_entries ? static_cast<double>(r.member_table_bytes) / static_cast<double>(r.member_entries) : 0.0},
      {"wall_s", r.wall_s},
      {"peak_rss_mib", r.peak_rss_mib},
  };
  if (check_determinism) {
    const auto again = chorus::sim::run_scenario(p);
    out["deterministic"] = again.trace_hash == r.trace_hash;
    if (again.trace_hash != r.trace_hash) {
      std::cout << out.dump(2) << "\n";
      std::cerr << "chorus-sim: same seed, different trace\n";
      return 1;
    }
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}
