// config::allowed_cidrs (`-allowed-cidrs`): the transport drops traffic from
// other sources; the core also refuses members that advertise an address
// outside the ranges, which it could otherwise only ever see fail.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace chorus::swim;
using namespace chorus::swim::testing;

TEST_CASE("members advertising an address outside the allowed CIDRs are refused", "[admission][cidr]") {
  config c = config::lan(name_of(0), addr_of(0));
  REQUIRE(parse_cidr_list({"10.0.0.0/28"}, c.allowed_cidrs).empty());  // 10.0.0.0 - 10.0.0.15
  one_node n(c);
  n.learn(1);
  n.learn(20);  // 10.0.0.20: outside
  CHECK(n.state(1) == member_state::alive);
  CHECK_FALSE(n.state(20));
  CHECK(n.node.stats().refused == 1);
  push_pull remote;
  remote.nodes.push_back({name_of(30), addr_of(30).ip_bytes(), 7946, {}, 1, node_state::alive, config::default_vsn()});
  remote.nodes.push_back({name_of(3), addr_of(3).ip_bytes(), 7946, {}, 1, node_state::alive, config::default_vsn()});
  n.node.handle_push_pull(n.now, addr_of(1), remote, n.rt);
  CHECK(n.node.stats().refused == 2);
  CHECK_FALSE(n.state(30));
  CHECK(n.state(3) == member_state::alive);
}
