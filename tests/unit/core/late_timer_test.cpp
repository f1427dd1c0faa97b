// Lifeguard local health from our own late timers (chorus refinement,
// lifeguard.late_timers_are_local): a probe whose timers fire late measured
// our CPU starvation, so it raises our health score instead of accusing.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace chorus::swim;
using namespace chorus::swim::testing;

namespace {
// A process that gets no CPU until `until`: every timer due by then fires
// at that moment, in order, as the transport delivers them.
void starve_until(one_node& n, time_point until) {
  while (!n.rt.timers.empty() && n.rt.timers.begin()->first <= until) {
    const timer_token token = n.rt.timers.begin()->second;
    n.rt.timers.erase(n.rt.timers.begin());
    n.now = until;
    n.node.handle_timer(n.now, token, n.rt);
  }
  n.now = until;
}

// A probe (just sent) to a silent target: the direct stage ends on time,
// the TCP fallback fails, and the probe window ends `late` after it was due.
void fail_probe_with_window_late(one_node& n, duration late) {
  const time_point window_due = n.now + n.node.health_score() * 1s + 1s;  // probe_interval * (score + 1)
  n.advance(500ms);  // probe_timeout: ping-reqs and the TCP ping go out
  for (auto& e : n.rt.exchanges)
    if (e.tcp_ping) n.node.tcp_ping_completed(n.now, e.id, false, n.rt);
  starve_until(n, window_due + late);
}
}  // namespace

TEST_CASE("a_probe_failed_while_our_timers_ran_late_accuses_no_one", "[probe][awareness]") {
  one_node n;
  for (int i = 1; i <= 5; ++i) n.learn(i);
  const ping p = next_probe(n).first;
  fail_probe_with_window_late(n, 2s);
  CHECK(n.state(id_of(p.node)) == member_state::alive);
  CHECK(n.rt.suspected.empty());
  CHECK(n.node.stats().probes_late == 1);
  CHECK(n.node.stats().suspicions_raised == 0);
  CHECK(n.node.health_score() == 1);  // the next windows stretch
}

TEST_CASE("a_probe_failed_with_timers_on_time_still_suspects", "[probe][awareness]") {
  one_node n;
  for (int i = 1; i <= 5; ++i) n.learn(i);
  const ping p = next_probe(n).first;
  fail_probe_with_window_late(n, 100ms);  // scheduling jitter, under half the probe timeout
  CHECK(n.state(id_of(p.node)) == member_state::suspect);
  CHECK(n.node.stats().probes_late == 0);
}

TEST_CASE("at_the_highest_health_score_late_probes_suspect_again", "[probe][awareness]") {
  one_node n;
  for (int i = 1; i <= 5; ++i) n.learn(i);
  for (std::uint32_t inc = 1; inc <= 7; ++inc) n.receive(1, suspect{inc, name_of(0), name_of(1)});  // refutations
  REQUIRE(n.node.health_score() == 7);  // awareness_max_multiplier - 1
  const ping p = next_probe(n).first;
  fail_probe_with_window_late(n, 2s);
  CHECK(n.state(id_of(p.node)) == member_state::suspect);
}

TEST_CASE("late_timers_count_against_the_target_when_the_refinement_is_off", "[probe][awareness]") {
  config c = config::lan(name_of(0), addr_of(0));
  c.lifeguard.late_timers_are_local = false;
  one_node n(c);
  for (int i = 1; i <= 5; ++i) n.learn(i);
  const ping p = next_probe(n).first;
  fail_probe_with_window_late(n, 2s);
  CHECK(n.state(id_of(p.node)) == member_state::suspect);
}
