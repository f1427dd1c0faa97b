// memberlist #242: a probe whose ping cannot be sent (the io reports
// send_result::unreachable: no route, a firewall rule) is not ignored. The
// ping-reqs and the TCP ping go out at once, and the target is suspected at
// the end of the probe window unless they reach it. memberlist 0.2.2 (Serf
// 0.9.4) abandoned such a probe, so it never suspected a node it could not
// send to.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace chorus::swim;
using namespace chorus::swim::testing;

TEST_CASE("an unsendable probe ping goes to the indirect stage at once and the target becomes suspect",
          "[probe][send-error]") {
  one_node n;
  for (int i = 1; i <= 4; ++i) n.learn(i);
  n.responsive = {1, 2, 3};
  n.rt.unreachable.insert(addr_of(4));
  REQUIRE_NOTHROW(next_probe(n, 4));
  // Same instant as the ping: three ping-reqs and a TCP ping.
  const auto reqs = n.rt.sent_of<indirect_ping>();
  REQUIRE(reqs.size() == 3);
  for (const auto& r : reqs) CHECK(r.node == name_of(4));
  REQUIRE(n.rt.exchanges.size() == 1);
  CHECK(n.rt.exchanges[0].tcp_ping);
  CHECK(n.node.stats().probe_send_errors == 1);
  // The helpers cannot reach it either.
  for (int h = 1; h <= 3; ++h) n.receive(h, nack{reqs[0].seq_no});
  n.node.tcp_ping_completed(n.now, n.rt.exchanges[0].id, false, n.rt);
  n.advance(1s);
  CHECK(n.state(4) == member_state::suspect);
  CHECK(n.node.health_score() == 0);  // the nacks came: the fault is not ours
}

TEST_CASE("an unsendable probe ping reached by a helper is not suspected", "[probe][send-error]") {
  one_node n;
  for (int i = 1; i <= 4; ++i) n.learn(i);
  n.responsive = {1, 2, 3};
  n.rt.unreachable.insert(addr_of(4));
  REQUIRE_NOTHROW(next_probe(n, 4));
  const auto reqs = n.rt.sent_of<indirect_ping>();
  REQUIRE_FALSE(reqs.empty());
  n.receive(1, ack{reqs[0].seq_no, {}});  // forwarded by a helper that can reach n4
  n.advance(2s);
  CHECK(n.state(4) == member_state::alive);
}

TEST_CASE("with probe_indirectly_on_send_error off the failed ping counts as lost", "[probe][send-error]") {
  config c = config::lan(name_of(0), addr_of(0));
  c.probe_indirectly_on_send_error = false;
  one_node n(c);
  for (int i = 1; i <= 4; ++i) n.learn(i);
  n.responsive = {1, 2, 3};
  n.rt.unreachable.insert(addr_of(4));
  REQUIRE_NOTHROW(next_probe(n, 4));
  CHECK(n.rt.sent_of<indirect_ping>().empty());
  CHECK(n.node.stats().probe_send_errors == 1);
  n.advance(500ms);  // probe_timeout
  CHECK(n.rt.sent_of<indirect_ping>().size() == 3);
}
