// chorus-sim: runs N nodes in one process over virtual time and prints what
// it measured as JSON: bare SWIM cores (--layer swim: membership, failure
// detection) or Serf agents (--layer serf: user events, queries, intents).
// See bench/README.md, "Simulation".
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "sim/scenario.hpp"
#include "sim/serf_scenario.hpp"

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

// Every flag, for both layers; each layer reads what applies to it.
struct flags {
  std::string layer = "swim";
  chorus::sim::scenario_params p;
  double secs = 60, crash_every = 0, stall_every = 0, stall_for = 3, latency_ms = 0.5, reclaim = 0, spacing_ms = 10;
  double refuted_floor_window = -1;  // < 0: swim::config's
  double partition_at = -1, heal_at = -1;
  std::string lifeguard = "on";
  std::string corroborate_dead = "on";
  std::string tell_stale = "on";
  std::string stall_mode = "freeze";
  std::string fault = "none";
  double fault_at = 10, restart_after = 60;
  bool seal = false;
  bool check_determinism = false;
};

void add_options(CLI::App& app, flags& f) {
  auto& p = f.p;
  p.wire_every = 16;  // 10,000 nodes: encoding and decoding every table was a sixth of the run
  app.add_option("--layer", f.layer, "swim (bare memberlist cores) | serf (Serf agents: events, queries, intents)")
      ->check(CLI::IsMember({"swim", "serf"}));
  app.add_option("--nodes", p.nodes, "number of nodes")->required();
  app.add_option("--seconds", f.secs, "virtual seconds measured after warm-up")->required();
  app.add_option("--seed", p.seed, "root seed");
  app.add_option("--profile", p.profile, "lan | wan | local")->check(CLI::IsMember({"lan", "wan", "local"}));
  app.add_option("--loss", p.loss, "uniform UDP loss probability")->check(CLI::Range(0.0, 1.0));
  app.add_option("--crash-every", f.crash_every, "swim: crash a random node every S seconds");
  app.add_flag("--restart", p.restart_crashed, "swim: restart crashed nodes after --restart-after seconds");
  app.add_option("--stall-every", f.stall_every, "swim: stall a random node every S seconds");
  app.add_option("--stall-for", f.stall_for, "swim: stall duration, seconds");
  app.add_option("--stall-mode", f.stall_mode,
                 "swim: freeze (the whole process pauses) | receive (only the receive path starves)")
      ->check(CLI::IsMember({"freeze", "receive"}));
  app.add_option("--partition-at", f.partition_at, "swim: split the cluster 50/50 at S seconds into the window");
  app.add_option("--heal-at", f.heal_at, "swim: heal the partition at S seconds into the window");
  app.add_option("--fault", f.fault,
                 "swim: one of issue 15's hard faults from --fault-at on: lossy (node n1 loses 80 % both ways, UDP "
                 "and TCP) | deaf (n1 receives no UDP) | mute (n1 sends no UDP) | flip-flop (n1 deaf 20 s, fine 20 s, "
                 "...) | starved (n1, n2 frozen 4 s of every 5 s) | mass-crash (10 nodes killed, restarted "
                 "--restart-after s later) | partial-partition (n1 and n2 cannot reach each other)")
      ->check(
          CLI::IsMember({"none", "lossy", "deaf", "mute", "flip-flop", "starved", "mass-crash", "partial-partition"}));
  app.add_option("--fault-at", f.fault_at, "swim: seconds into the window the --fault starts");
  app.add_option("--restart-after", f.restart_after,
                 "swim: seconds before crashed nodes restart (--restart, mass-crash)");
  app.add_option("--lifeguard", f.lifeguard, "swim: on | off")->check(CLI::IsMember({"on", "off"}));
  app.add_option("--corroborate-dead", f.corroborate_dead,
                 "swim: on (chorus: a third party's lone dead message is a suspicion) | off (memberlist: dead at once)")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--tell-stale", f.tell_stale,
                 "swim: on (chorus: tell a member that announces itself below our dead record, and answer a stale "
                 "dead about us with our alive) | off (memberlist: wait for a push/pull)")
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option(
         "--confirmed-min-scale", p.confirmed_min_scale,
         "swim: the fully confirmed suspicion timeout as a fraction of memberlist's min (default: chorus's; 1 = "
         "memberlist)")
      ->check(CLI::Range(0.05, 1.0));
  app.add_option("--refuted-floor-window", f.refuted_floor_window,
                 "swim: seconds a member that refuted keeps memberlist's confirmed-suspicion floor (0: no guard; "
                 "default: swim::config's)")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--latency-matrix", p.latency_matrix, "RTT matrix (ms), e.g. seattle99.rtt");
  app.add_option("--latency-ms", f.latency_ms, "constant one-way latency when no matrix");
  app.add_option("--reclaim", f.reclaim, "swim: dead node reclaim time, seconds");
  app.add_option("--join-spacing-ms", f.spacing_ms, "time between bootstrap joins");
  app.add_option("--max-broadcasts", p.max_broadcasts, "swim: broadcast queue cap per node");
  app.add_flag("--warm-start", p.warm_start, "start from a formed cluster (no join storm)");
  app.add_flag("--chain", p.chain_join, "swim: bootstrap as a chain (node i joins i-1)");
  app.add_option("--wire-every", p.wire_every,
                 "encode and decode every Nth push/pull table; hand the others to the receiving node as structs, "
                 "charged at their exact encoded size (1: all through the codec, 0: none)");
  app.add_flag("--seal", f.seal,
               "serf: the packet layer on every datagram and stream (LZW, CRC; all tables through the codec)");
  app.add_flag("--check-determinism", f.check_determinism, "run twice and assert identical traces");
}

chorus::sim::scenario_params swim_params(flags& f) {
  auto p = f.p;
  p.measure = seconds(f.secs);
  p.crash_every = seconds(f.crash_every);
  if (f.refuted_floor_window >= 0) p.refuted_floor_window = seconds(f.refuted_floor_window);
  p.stall_every = seconds(f.stall_every);
  p.stall_for = seconds(f.stall_for);
  p.stall_mode = f.stall_mode == "receive" ? chorus::sim::simulator::stall_mode::receive
                                           : chorus::sim::simulator::stall_mode::freeze;
  p.latency = seconds(f.latency_ms / 1000.0);
  p.dead_node_reclaim_time = seconds(f.reclaim);
  p.join_spacing = seconds(f.spacing_ms / 1000.0);
  p.lifeguard = f.lifeguard == "on";
  p.corroborate_dead = f.corroborate_dead == "on";
  p.tell_stale = f.tell_stale == "on";
  if (f.partition_at >= 0) p.partition_at = seconds(f.partition_at);
  if (f.heal_at >= 0) p.heal_at = seconds(f.heal_at);
  p.fault.kind = *chorus::sim::parse_fault(f.fault);
  p.fault.start = seconds(f.fault_at);
  p.restart_after = seconds(f.restart_after);
  return p;
}

chorus::sim::serf_scenario_params serf_params(flags& f) {
  chorus::sim::serf_scenario_params p;
  static_cast<chorus::sim::run_params&>(p) = swim_params(f);  // the flags both layers read
  p.seal = f.seal;
  return p;
}

// What both layers report: the window's load, the whole run's counters, the
// trace hash, what the run cost.
template <class Result>
nlohmann::json run_json(const Result& r) {
  return {
      {"msgs_per_node_s", r.msgs_per_node_s},
      {"bytes_per_node_s", r.bytes_per_node_s},
      {"tcp_bytes_per_node_s", r.tcp_bytes_per_node_s},
      {"events", r.events},
      {"decode_errors", r.decode_errors},
      {"push_pull_tables", r.push_pull_tables},
      {"push_pull_tables_encoded", r.push_pull_tables_encoded},
      {"udp_oversize", r.udp_oversize},
      {"trace_hash", r.trace_hash},
      {"wall_s", r.wall_s},
      {"peak_rss_mib", r.peak_rss_mib},
  };
}

// Node ids as JSON object keys ("n3": count).
nlohmann::json by_node(const std::map<chorus::sim::node_id, std::size_t>& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [n, c] : m) j[chorus::sim::simulator::name_of(n)] = c;
  return j;
}

nlohmann::json fault_json(const flags& f, const chorus::sim::scenario_result& r) {
  return {{"kind", f.fault},
          {"at_s", f.fault_at},
          {"false_failures_by_observer", by_node(r.false_failures_by_observer)},
          {"false_failures_at_faulty", r.false_failures_at_faulty},
          {"false_failure_accusers", by_node(r.false_failure_accusers)},
          {"faulty_failed", r.faulty_failed},
          {"flaps", r.flaps},
          {"flaps_max_per_observer", r.flaps_max_per_observer},
          {"faulty_detection", to_json(r.faulty_detection)},
          {"rejoin", to_json(r.rejoin)},
          {"not_rejoined", r.not_rejoined}};
}

nlohmann::json swim_json(const flags& f, const chorus::sim::scenario_params& p, const chorus::sim::scenario_result& r) {
  return {
      {"params",
       {{"layer", "swim"},
        {"nodes", p.nodes},
        {"seconds", f.secs},
        {"seed", p.seed},
        {"profile", p.profile},
        {"loss", p.loss},
        {"lifeguard", f.lifeguard},
        {"corroborate_dead", f.corroborate_dead},
        {"tell_stale", f.tell_stale},
        {"confirmed_min_scale", p.confirmed_min_scale},
        {"refuted_floor_window_s", chorus::sim::secs(p.refuted_floor_window)},
        {"crash_every_s", f.crash_every},
        {"stall_every_s", f.stall_every},
        {"stall_for_s", f.stall_for},
        {"stall_mode", f.stall_mode},
        {"partition_at_s", f.partition_at},
        {"heal_at_s", f.heal_at},
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
      {"fault", fault_json(f, r)},
      {"member_entries", r.member_entries},
      {"member_table_bytes", r.member_table_bytes},
      {"bytes_per_member_entry",
       r.member_entries ? static_cast<double>(r.member_table_bytes) / static_cast<double>(r.member_entries) : 0.0},
  };
}

nlohmann::json serf_json(const chorus::sim::serf_scenario_params& p, const chorus::sim::serf_scenario_result& r) {
  return {
      {"params",
       {{"layer", "serf"},
        {"nodes", p.nodes},
        {"seconds", chorus::sim::secs(p.measure)},
        {"seed", p.seed},
        {"profile", p.profile},
        {"loss", p.loss},
        {"latency_matrix", p.latency_matrix},
        {"seal", p.seal},
        {"warm_start", p.warm_start},
        {"wire_every", p.wire_every}}},
      {"converged", r.converged},
      {"warmup_s", r.warmup_s},
      {"user_event", to_json(r.user_event)},
      {"query",
       {{"expected", r.query.expected},
        {"timeout_s", r.query.timeout_s},
        {"acks", to_json(r.query.acks)},
        {"responses", to_json(r.query.responses)}}},
      {"tag_update", to_json(r.tag_update)},
      {"leave_intent", to_json(r.leave_intent)},
      {"leave", to_json(r.leave)},
  };
}

// Runs `run` (once, or twice with --check-determinism) and prints its JSON;
// the exit code.
template <class Run, class Json>
int report(bool check_determinism, Run run, Json json) {
  const auto r = run();
  nlohmann::json out = json(r);
  out.update(run_json(r));
  if (check_determinism) {
    const auto again = run();
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
}  // namespace

int main(int argc, char** argv) {
  tune_malloc(argv);
  CLI::App app{"chorus-sim: SWIM + Lifeguard (or Serf on top) at N nodes over virtual time"};
  flags f;
  add_options(app, f);
  CLI11_PARSE(app, argc, argv);
  try {
    if (f.layer == "serf") {
      const auto p = serf_params(f);
      return report(
          f.check_determinism, [&] { return chorus::sim::run_serf_scenario(p); },
          [&](const auto& r) { return serf_json(p, r); });
    }
    const auto p = swim_params(f);
    return report(
        f.check_determinism, [&] { return chorus::sim::run_scenario(p); },
        [&](const auto& r) { return swim_json(f, p, r); });
  } catch (const std::exception& e) {
    std::cerr << "chorus-sim: " << e.what() << "\n";
    return 2;
  }
}
