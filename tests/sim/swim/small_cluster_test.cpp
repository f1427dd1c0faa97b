// memberlist #350 on the simulator: a 3-node cluster with one node failing.
// Each survivor's probes of the failed node can ask exactly one helper, the
// other survivor; it must always be asked, and its nack must keep the
// prober's health score at 0 (a missed helper counted the failure against
// the prober itself: +1 per probe). The failed node is declared dead by both.
#include <catch2/catch.hpp>

#include "sim/seed.hpp"
#include "sim/simulator.hpp"
#include "swim/core.hpp"

using namespace chorus;
using namespace chorus::sim;

TEST_CASE("a 3-node cluster with one node failing keeps the survivors healthy and declares it dead", "[sim][probe]") {
  for (std::uint64_t run = 0; run < 20; ++run) {
    options o;
    o.seed = seed_from_env(350) + run;
    simulator s(o);
    for (int i = 0; i < 3; ++i) s.add_node();
    s.join(1, {0});
    s.join(2, {0});
    REQUIRE(s.run_until_true(
        [&] {
          for (node_id i = 0; i < 3; ++i)
            if (s.core(i).num_alive() != 3) return false;
          return true;
        },
        10s));
    s.crash(2);
    int worst = 0;
    const bool dead = s.run_until_true(
        [&] {
          worst = std::max({worst, s.core(0).health_score(), s.core(1).health_score()});
          return s.state_in(0, 2) == swim::member_state::dead && s.state_in(1, 2) == swim::member_state::dead;
        },
        60s, 50ms);
    INFO("seed " << o.seed);
    CHECK(dead);
    CHECK(worst == 0);
    for (node_id i = 0; i < 2; ++i) {
      const auto& st = s.core(i).stats();
      CHECK(st.probe_failures > 0);
      CHECK(st.indirect_probes >= st.probe_failures);  // every failed probe asked its helper
    }
  }
}
