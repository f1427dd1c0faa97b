// memberlist #254: left nodes purged like dead ones. memberlist 0.2.2 (Serf
// 0.9.4) purges dead entries gossip_to_the_dead_time after they died and
// keeps left entries forever; with config::purge_left_nodes (memberlist
// 0.3+) left entries go the same way.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace chorus::swim;
using namespace chorus::swim::testing;

namespace {
bool in_push_pull(const core& c, int i) {
  for (const auto& s : c.local_state(false).nodes)
    if (s.name == name_of(i)) return true;
  return false;
}

// n1 leaves gracefully, n2 is declared dead by n3 and n4 (two accusers: one
// alone is only a suspicion, lifeguard.corroborate_dead); then 40 s pass
// (the LAN gossip_to_the_dead_time is 30 s) while n3 and n4 answer probes.
void leave_and_wait(one_node& n) {
  for (int i = 1; i <= 4; ++i) n.learn(i);
  n.responsive = {3, 4};
  n.receive(1, dead{1, name_of(1), name_of(1)});
  n.receive(3, dead{1, name_of(2), name_of(3)});
  n.receive(4, dead{1, name_of(2), name_of(4)});
  REQUIRE(n.state(1) == member_state::left);
  REQUIRE(n.state(2) == member_state::dead);
  n.advance(40s);
}
}  // namespace

TEST_CASE("by default (Serf 0.9.4) left entries outlive the dead-node purge", "[purge]") {
  one_node n;
  leave_and_wait(n);
  CHECK_FALSE(n.state(2).has_value());  // dead: purged
  CHECK(n.state(1) == member_state::left);
  CHECK(in_push_pull(n.node, 1));
}

TEST_CASE("with purge_left_nodes left entries are purged like dead ones and stay out", "[purge]") {
  config c = config::lan(name_of(0), addr_of(0));
  c.purge_left_nodes = true;
  one_node n(c);
  for (int i = 1; i <= 4; ++i) n.learn(i);
  n.responsive = {3, 4};
  n.receive(1, dead{1, name_of(1), name_of(1)});
  n.advance(20s);
  CHECK(n.state(1) == member_state::left);  // not before gossip_to_the_dead_time
  n.advance(20s);
  CHECK_FALSE(n.state(1).has_value());
  CHECK_FALSE(in_push_pull(n.node, 1));
  CHECK(n.node.members().size() == 4);
  // A Serf 0.9.4 peer still lists it as left in its push/pull: an unknown
  // left node is not re-added.
  push_pull remote;
  remote.nodes.push_back({name_of(1), addr_of(1).ip_bytes(), 7946, {}, 1, node_state::left, config::default_vsn()});
  n.node.handle_push_pull(n.now, addr_of(3), remote, n.rt);
  CHECK_FALSE(n.state(1).has_value());
  // It may come back: a new alive is a join.
  n.learn(1, 2);
  CHECK(n.state(1) == member_state::alive);
}
