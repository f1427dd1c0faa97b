// options::wire_every: handing push/pull tables to the receiving core as
// structs instead of bytes must not change a run. The same scenario with
// every table through the codec, with every 7th, and with none gives the
// same trace, the same figures and no codec disagreement.
#include <catch2/catch.hpp>

#include "sim_common.hpp"

using namespace chorus::sim;
using namespace chorus::sim::testing;

TEST_CASE("push_pull_tables_as_structs_or_through_the_codec_give_identical_runs", "[sim][wire]") {
  scenario_params p;
  p.nodes = sanitized ? 24 : 48;
  p.seed = seed(11);
  p.loss = 0.05;
  p.crash_every = 15s;
  p.restart_crashed = true;  // restarts join: Join tables, always encoded
  p.restart_after = 20s;
  p.stall_every = 20s;
  p.measure = sanitized ? 60s : 120s;
  p.record_trace = true;
  p.wire_every = 1;
  const auto all = run_scenario(p);
  p.wire_every = 7;
  const auto some = run_scenario(p);
  p.wire_every = 0;
  const auto none = run_scenario(p);
  INFO("seed=" << p.seed << " " << describe(all));
  REQUIRE(all.push_pull_tables > 20);
  CHECK(all.push_pull_tables_encoded == all.push_pull_tables);
  CHECK(some.push_pull_tables_encoded == (all.push_pull_tables + 6) / 7);
  CHECK(none.push_pull_tables_encoded == 0);
  for (const auto* r : {&all, &some, &none}) {
    CHECK(r->decode_errors == 0);
    CHECK(r->push_pull_tables == all.push_pull_tables);
    CHECK(r->trace_hash == all.trace_hash);
    CHECK(r->trace == all.trace);
    CHECK(r->tcp_bytes_per_node_s == all.tcp_bytes_per_node_s);
    CHECK(r->detection.median == all.detection.median);
    CHECK(r->false_failures == all.false_failures);
    CHECK(r->events == all.events);
  }
}
