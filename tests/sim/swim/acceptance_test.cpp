// The paper's claims, checked on many nodes over virtual time. Each test
// prints its seed and its measurements; CHORUS_SIM_SEED=<n> replays one.
#include <cmath>

#include "sim_common.hpp"
#include "swim/broadcast_queue.hpp"
#include "swim/config.hpp"
#include "swim/suspicion.hpp"

using namespace chorus::sim;
using namespace chorus::sim::testing;
using chorus::swim::config;

TEST_CASE("chain_of_joins_converges_and_a_broadcast_reaches_everyone_within_the_transmit_bound", "[sim][gossip]") {
  scenario_params p;
  p.nodes = sanitized ? 300 : 1000;
  p.seed = seed(1);
  p.chain_join = true;
  p.join_spacing = 10ms;
  p.measure = 15s;
  const auto r = run_scenario(p);
  INFO("seed=" << p.seed << " " << describe(r));
  REQUIRE(r.converged);
  // Every node learns the late joiner and receives the broadcast.
  CHECK(r.join.reached == r.join.of);
  CHECK(r.broadcast.reached == r.broadcast.of);
  // The bound the transmit limit implies: each holder sends an item
  // retransmit_limit times at gossip_nodes per gossip_interval, so an item
  // that is still spreading is at most retransmit_limit gossip intervals old
  // at every hop; log(N) hops fit well inside that many intervals.
  const config c = config::lan("x", {});
  const int tl = chorus::swim::retransmit_limit(c.retransmit_mult, p.nodes + 1);
  const double bound_s = tl * std::chrono::duration<double>(c.gossip_interval).count();
  WARN("N=" << p.nodes << " broadcast t50/t99/t100 = " << r.broadcast.t50 << "/" << r.broadcast.t99 << "/"
            << r.broadcast.t100 << " s, bound " << bound_s << " s; join t100 " << r.join.t100 << " s");
  CHECK(r.broadcast.t100 <= bound_s);
  CHECK(r.join.t100 <= bound_s);
  CHECK(r.decode_errors == 0);
  CHECK(r.udp_oversize == 0);
}

namespace {
scenario_result crash_run(std::size_t n, std::uint64_t s) {
  scenario_params p;
  p.nodes = n;
  p.seed = s;
  p.warm_start = true;
  // 33 crashes: the median time to first suspicion of 16 (one every 10 s)
  // varied by 0.5 s between seeds at the same N.
  p.crash_every = 5s;
  p.measure = 200s;
  return run_scenario(p);
}
}  // namespace

TEST_CASE("first_suspicion_of_a_crash_is_flat_in_n_and_full_detection_follows_the_suspicion_formula",
          "[sim][detection]") {
  const std::size_t big = sanitized ? 300 : 1000;
  const auto s = seed(2);
  const auto small_r = crash_run(100, s);
  const auto big_r = crash_run(big, s);
  INFO("seed=" << s << "\nN=100: " << describe(small_r) << "\nN=" << big << ": " << describe(big_r));
  REQUIRE(small_r.first_suspect.count >= 15);
  REQUIRE(big_r.first_suspect.count >= 15);
  CHECK(small_r.undetected == 0);
  CHECK(big_r.undetected == 0);
  CHECK(small_r.false_failures == 0);
  CHECK(big_r.false_failures == 0);
  // Time to first suspicion: some node probes the dead one about once per
  // probe interval whatever N is (SWIM's constant expected detection time).
  const double a = small_r.first_suspect.median, b = big_r.first_suspect.median;
  WARN("first suspect median: N=100 " << a << " s, N=" << big << " " << b << " s");
  CHECK(std::abs(a - b) <= 0.25 * std::min(a, b));
  // Everyone marks it failed one suspicion timeout after the first
  // suspicion: confirmations arrive well within it, so T is the floor a
  // fully confirmed suspicion reaches, chorus's fraction
  // (suspicion_confirmed_min_scale, 0.4) of memberlist's min, which grows
  // with log10(N). (At memberlist's 1.0: 8 s at N = 100.)
  const config c = config::lan("x", {});
  for (const auto* r : {&small_r, &big_r}) {
    const std::size_t n = r == &small_r ? 100 : big;
    const double expected =
        c.suspicion_confirmed_min_scale *
        std::chrono::duration<double>(chorus::swim::suspicion_timeout_min(c.suspicion_mult, n, c.probe_interval))
            .count();
    const double measured = r->detection_all.median - r->first_suspect.median;
    WARN("N=" << n << ": all nodes failed it " << measured << " s after the first suspicion; formula " << expected
              << " s; gossip reaches everyone in " << r->broadcast.t100 << " s");
    // The last node hears the dead message by gossip: up to the time a
    // broadcast takes to reach everyone after the timeout.
    CHECK(measured >= 0.9 * expected);
    CHECK(measured <= 1.1 * expected + r->broadcast.t100);
  }
}

namespace {
scenario_result lossy_run(bool lifeguard, std::uint64_t s) {
  scenario_params p;
  p.nodes = 200;
  p.seed = s;
  p.warm_start = true;
  p.loss = 0.10;
  p.lifeguard = lifeguard;
  p.measure = sanitized ? 300s : 1800s;
  return run_scenario(p);
}
}  // namespace

// The acceptance: zero false failures with Lifeguard on at 10 %
// uniform loss, N = 200, 30 virtual minutes; the same run without Lifeguard
// shows how many it prevents.
//
// Where false failures come from here (docs/swim.md, "10 % loss"): about
// 1.6e-3 of probes of a healthy node fail (direct 19 % x all three indirect
// paths 4 % x TCP fallback ~20 %), ~590 false suspicions per run. Each is
// refuted within ~0.3 s, but the refuting alive reaches a given node only
// with probability 1 - e^(-12 x 0.9) ~ 1 - 2e-5 (4 x ceil(log10 201) = 12
// transmissions per holder). A node that holds the suspicion and misses the
// refutation declares the suspect dead when its timer expires, alone (the
// others hold the newer incarnation and ignore its dead message), but it is
// a false failure all the same: memberlist as specified gives ~1-3 per run
// with or without Lifeguard (seed 3: 3 and 3).
//
// chorus's refinement (lifeguard.recheck_unconfirmed, wire-compatible): a
// suspicion that expires without its k independent confirmations, so on one
// accuser's word, is probed once more (ping with the accusation attached,
// ping-reqs, TCP fallback) before it is declared dead; a suspicion that has
// them is probed the same way (no TCP) during the last probe interval
// before its deadline, so a crash is not detected any later. A suspect that
// answers is alive and our incarnation for it is stale: a push/pull with it
// merges its refutation and clears the suspicion. Under --lifeguard off
// (plain SWIM) none of this runs, so "off" is memberlist's behaviour.
TEST_CASE("ten_percent_loss_gives_zero_false_failures_with_lifeguard", "[sim][lifeguard]") {
  const auto s = seed(3);
  const auto on = lossy_run(true, s);
  const auto off = lossy_run(false, s);
  INFO("seed=" << s << "\nlifeguard on: " << describe(on) << "\nlifeguard off: " << describe(off));
  WARN("10% loss, N=200, " << (sanitized ? 300 : 1800) << " s: false failures with Lifeguard " << on.false_failures
                           << ", without " << off.false_failures << " (" << off.false_failed_nodes << " nodes, at most "
                           << off.false_failure_max_observers << " observer each); false suspicions "
                           << on.false_suspicions << " vs " << off.false_suspicions);
  CHECK(on.false_suspicions > 0);  // the scenario does provoke suspicions
  CHECK(on.false_failures == 0);
  // Without Lifeguard the stale-observer failures stay single-observer
  // views: the rest of the cluster never agrees.
  CHECK(off.false_failure_max_observers <= 1);
}

namespace {
scenario_result stall_run(bool lifeguard, std::uint64_t s, duration stall_for, simulator::stall_mode mode) {
  scenario_params p;
  p.nodes = 100;
  p.seed = s;
  p.warm_start = true;
  p.stall_every = 30s;
  p.stall_for = stall_for;
  p.stall_mode = mode;
  p.lifeguard = lifeguard;
  p.measure = sanitized ? 300s : 900s;
  return run_scenario(p);
}
}  // namespace

// The scenario: one node frozen for 3 s every 30 s. A frozen node
// sends nothing, and a 3 s gap is well inside the 8 s minimum suspicion
// timeout at N = 100: the node refutes on waking, before anyone's timer
// expires. So with or without Lifeguard no healthy node is declared failed:
// there is nothing for Lifeguard to prevent, and the "10x fewer"
// cannot be shown with these parameters (see the starved-node case below).
TEST_CASE("a_node_frozen_for_3_s_every_30_s_causes_no_false_failures", "[sim][lifeguard]") {
  const auto s = seed(4);
  const auto on = stall_run(true, s, 3s, simulator::stall_mode::freeze);
  const auto off = stall_run(false, s, 3s, simulator::stall_mode::freeze);
  INFO("seed=" << s << "\nlifeguard on: " << describe(on) << "\nlifeguard off: " << describe(off));
  WARN("frozen 3 s every 30 s, N=100: false failures with Lifeguard " << on.false_failures << ", without "
                                                                      << off.false_failures);
  CHECK(on.stalls > 0);
  CHECK(on.false_failures == 0);
  CHECK(off.false_failures == 0);
}

// Lifeguard's case (Dadgar et al. 2018): a node whose receive path starves
// (CPU exhaustion) keeps probing but reads its acks late, so it suspects
// healthy peers; if its lag exceeds the suspicion timeout it declares them
// dead before it reads their refutations. Plain SWIM (fixed 8 s timeout, no
// awareness) lets it; Lifeguard's awareness slows its probing and its
// suspicion, alone, waits the 48 s maximum. The stall must outlast the 8 s
// minimum timeout for there to be anything to prevent, hence 10 s.
TEST_CASE("a_starved_node_causes_ten_times_fewer_false_failures_with_lifeguard", "[sim][lifeguard]") {
  const auto s = seed(4);
  const auto on = stall_run(true, s, 10s, simulator::stall_mode::receive);
  const auto off = stall_run(false, s, 10s, simulator::stall_mode::receive);
  INFO("seed=" << s << "\nlifeguard on: " << describe(on) << "\nlifeguard off: " << describe(off));
  WARN("receive path starved 10 s every 30 s, N=100: false failures of healthy nodes with Lifeguard "
       << on.false_failures << ", without " << off.false_failures);
  CHECK(on.stalls > 0);
  REQUIRE(off.false_failures > 0);
  CHECK(on.false_failures * 10 <= off.false_failures);
}

TEST_CASE("a_healed_partition_is_all_alive_within_two_push_pull_intervals", "[sim][partition]") {
  scenario_params p;
  p.nodes = 100;
  p.seed = seed(5);
  p.warm_start = true;
  p.dead_node_reclaim_time = 30s;
  p.partition_at = 10s;
  p.heal_at = 100s;
  p.measure = 400s;
  const auto r = run_scenario(p);
  INFO("seed=" << p.seed << " " << describe(r));
  // The push/pull interval at N = 100 (scaled for N > 32, 13.10).
  const double interval = 30.0 * (std::ceil(std::log2(100.0) - 5.0) + 1.0);
  WARN("partition healed: everyone alive everywhere " << r.healed_s << " s after the heal (bound " << 2 * interval
                                                      << " s)");
  REQUIRE(r.healed_s >= 0);
  CHECK(r.healed_s <= 2 * interval);
}

TEST_CASE("same_seed_gives_identical_event_traces", "[sim][determinism]") {
  scenario_params p;
  p.nodes = 40;
  p.seed = seed(6);
  p.loss = 0.05;
  p.crash_every = 20s;
  p.restart_crashed = true;
  p.restart_after = 30s;
  p.stall_every = 15s;
  p.measure = 90s;
  p.record_trace = true;
  const auto a = run_scenario(p);
  const auto b = run_scenario(p);
  INFO("seed=" << p.seed);
  CHECK(a.trace.size() > 1000);
  CHECK(a.trace_hash == b.trace_hash);
  CHECK(a.trace == b.trace);
  p.seed += 1;
  const auto c = run_scenario(p);
  CHECK(c.trace_hash != a.trace_hash);
}
