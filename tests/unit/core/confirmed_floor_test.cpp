// chorus's confirmed-suspicion floor and its guard (config.hpp,
// suspicion_confirmed_min_scale and refuted_floor_window): a suspicion that
// all k members confirm ends at 0.4 x memberlist's min, unless the suspect
// refuted a suspicion (anyone's: its incarnation rose) or came back from
// dead within the window; then it keeps memberlist's min.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace chorus::swim;
using namespace chorus::swim::testing;

namespace {
// 10 nodes: k = 2, memberlist's min 4 s. n1 answers for `quiet_before`,
// then is silent. Before that, n1 is at incarnation `inc` (learned at 1, so
// 2 = it refuted someone's suspicion). n2 accuses, n3 and n4 confirm: the
// timeout is the floor. Returns how long until we hold n1 dead.
duration time_to_dead(config c, std::uint32_t inc, duration quiet_before = 0s) {
  one_node n(std::move(c));
  for (int i = 1; i <= 9; ++i) n.learn(i);
  for (int i = 2; i <= 9; ++i) n.responsive.insert(i);
  if (inc > 1) n.learn(1, inc);
  n.responsive.insert(1);  // healthy until the accusation
  n.advance(quiet_before);
  n.responsive.erase(1);
  const time_point t0 = n.now;
  for (int accuser : {2, 3, 4}) n.receive(accuser, suspect{inc, name_of(1), name_of(accuser)});
  while (n.state(1) != member_state::dead && n.now - t0 < 60s) n.advance(10ms);
  return n.now - t0;
}
config lan0() { return config::lan(name_of(0), addr_of(0)); }
}  // namespace

TEST_CASE("a_fully_confirmed_suspicion_of_a_quiet_member_ends_at_0_4_of_memberlists_min", "[suspicion][floor]") {
  const duration t = time_to_dead(lan0(), 1);
  CHECK(t >= 1500ms);
  CHECK(t < 2500ms);  // 0.4 x 4 s = 1.6 s; memberlist's would be 4 s
}

TEST_CASE("a_member_that_refuted_anyones_suspicion_lately_keeps_memberlists_min", "[suspicion][floor]") {
  const duration t = time_to_dead(lan0(), 2);  // its incarnation rose 1 -> 2, same meta
  CHECK(t >= 3900ms);
  CHECK(t < 5000ms);
}

TEST_CASE("the_refuted_guard_ends_after_refuted_floor_window_and_can_be_switched_off", "[suspicion][floor]") {
  config short_window = lan0();
  short_window.refuted_floor_window = 20s;
  CHECK(time_to_dead(short_window, 2, 10s) >= 3900ms);  // still inside the window
  CHECK(time_to_dead(short_window, 2, 25s) < 2500ms);   // past it
  config off = lan0();
  off.refuted_floor_window = 0s;
  CHECK(time_to_dead(off, 2) < 2500ms);
}
