// memberlist #350: probing in very small clusters. With 3 members, probing
// one leaves exactly one possible ping-req helper. Picking helpers by 3n
// random draws alone misses it (2/3)^9 = 2.6 % of the time; the probe then
// asks nobody, expects no nack, and a failed target raises our own health
// score as if we were the sick one. chorus completes short draws from the
// members they missed (core::random_members).
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace chorus::swim;
using namespace chorus::swim::testing;

TEST_CASE("a 3-node cluster always asks its one possible helper and its nack spares our health", "[probe][awareness]") {
  // n1 answers, n2 has failed. 300 independent nodes (seeds): with draws
  // alone about 8 of them would ask nobody.
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    one_node n(config::lan(name_of(0), addr_of(0)), seed);
    n.learn(1);
    n.learn(2);
    n.responsive = {1};
    REQUIRE_NOTHROW(next_probe(n, 2));
    n.rt.clear();
    n.advance(500ms);  // probe_timeout: the indirect stage
    const auto reqs = n.rt.sent_of<indirect_ping>(addr_of(1));
    INFO("seed " << seed);
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].node == name_of(2));
    CHECK(n.rt.sent_of<indirect_ping>().size() == 1);  // nobody else to ask
    // The helper cannot reach n2 either and says so.
    n.receive(1, nack{reqs[0].seq_no});
    for (auto& e : n.rt.exchanges)
      if (e.tcp_ping) n.node.tcp_ping_completed(n.now, e.id, false, n.rt);
    n.advance(600ms);
    CHECK(n.state(2) == member_state::suspect);
    CHECK(n.node.health_score() == 0);
  }
}

TEST_CASE("a 2-node cluster has no helper: a failed probe counts against our health", "[probe][awareness]") {
  one_node n;
  n.learn(1);
  REQUIRE_NOTHROW(next_probe(n, 1));
  n.rt.clear();
  n.advance(500ms);
  CHECK(n.rt.sent_of<indirect_ping>().empty());
  for (auto& e : n.rt.exchanges)
    if (e.tcp_ping) n.node.tcp_ping_completed(n.now, e.id, false, n.rt);
  n.advance(600ms);
  CHECK(n.state(1) == member_state::suspect);
  CHECK(n.node.health_score() == 1);  // no nack could be expected: +1 (memberlist.md 13.9)
}
