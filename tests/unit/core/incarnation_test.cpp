// Incarnation ordering and refutation (memberlist.md 13.5, 13.6), spoken to
// one core in messages through the real codec.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace chorus::swim;
using namespace chorus::swim::testing;

TEST_CASE("alive_with_higher_incarnation_wins_equal_or_lower_is_ignored", "[incarnation]") {
  one_node n;
  n.learn(1, 5);
  CHECK(n.state(1) == member_state::alive);
  CHECK(n.rt.events.back().kind == member_event_kind::join);
  alive a{5, name_of(1), addr_of(1).ip_bytes(), 7946, bytes{9}, config::default_vsn()};
  n.receive(1, a);  // same incarnation, new meta: ignored
  CHECK(n.node.member(name_of(1))->meta.empty());
  a.incarnation = 4;
  n.receive(1, a);
  CHECK(n.incarnation(1) == 5);
  a.incarnation = 6;
  n.receive(1, a);
  CHECK(n.incarnation(1) == 6);
  CHECK(n.node.member(name_of(1))->meta == bytes{9});
  CHECK(n.rt.events.back().kind == member_event_kind::update);
}

TEST_CASE("suspect_needs_at_least_the_current_incarnation", "[incarnation]") {
  one_node n;
  for (int i = 1; i <= 4; ++i) n.learn(i, 3);
  n.receive(2, suspect{2, name_of(1), name_of(2)});
  CHECK(n.state(1) == member_state::alive);
  n.receive(2, suspect{3, name_of(1), name_of(2)});
  CHECK(n.state(1) == member_state::suspect);
  CHECK(n.rt.suspected == std::vector<std::string>{name_of(1)});
}

TEST_CASE("alive_at_equal_incarnation_does_not_clear_a_suspicion_a_higher_one_does", "[incarnation]") {
  one_node n;
  n.responsive = {1, 2, 3, 4};
  for (int i = 1; i <= 4; ++i) n.learn(i, 3);
  n.receive(2, suspect{3, name_of(1), name_of(2)});
  n.learn(1, 3);
  CHECK(n.state(1) == member_state::suspect);
  n.learn(1, 4);
  CHECK(n.state(1) == member_state::alive);
  n.advance(60s);  // the cancelled suspicion timer must not kill it
  CHECK(n.state(1) == member_state::alive);
}

TEST_CASE("dead_beats_suspect_and_alive_at_equal_incarnation", "[incarnation]") {
  one_node n;
  for (int i = 1; i <= 4; ++i) n.learn(i, 3);
  n.receive(2, suspect{3, name_of(1), name_of(2)});
  n.receive(2, dead{2, name_of(1), name_of(2)});  // older: ignored
  CHECK(n.state(1) == member_state::suspect);
  n.receive(3, dead{3, name_of(1), name_of(3)});  // a second accuser: dead at once
  CHECK(n.state(1) == member_state::dead);
  CHECK(n.rt.events.back().kind == member_event_kind::failed);
  n.learn(1, 3);  // equal incarnation cannot resurrect
  CHECK(n.state(1) == member_state::dead);
  n.learn(1, 4);
  CHECK(n.state(1) == member_state::alive);
  CHECK(n.rt.events.back().kind == member_event_kind::join);
  CHECK(n.rt.events.back().previous == member_state::dead);
}

// chorus (lifeguard.corroborate_dead): one party's word is a suspicion.
TEST_CASE("a_lone_third_party_dead_is_a_suspicion_until_a_second_accuser_backs_it", "[incarnation]") {
  one_node n;
  for (int i = 1; i <= 4; ++i) n.learn(i, 3);
  n.receive(2, dead{3, name_of(1), name_of(2)});  // held alive: now suspect, on 2's word
  CHECK(n.state(1) == member_state::suspect);
  n.receive(2, dead{3, name_of(1), name_of(2)});  // the same word again: still suspect
  CHECK(n.state(1) == member_state::suspect);
  CHECK(n.rt.events.back().kind != member_event_kind::failed);
  n.receive(3, dead{3, name_of(1), name_of(3)});  // an independent accuser
  CHECK(n.state(1) == member_state::dead);
  CHECK(n.rt.events.back().kind == member_event_kind::failed);
  CHECK(n.rt.events.back().from == name_of(3));
}

TEST_CASE("with_corroborate_dead_off_a_lone_dead_is_dead_at_once_as_in_memberlist", "[incarnation]") {
  config c = config::lan(name_of(0), addr_of(0));
  c.lifeguard.corroborate_dead = false;
  one_node n(c);
  for (int i = 1; i <= 4; ++i) n.learn(i, 3);
  n.receive(2, dead{3, name_of(1), name_of(2)});
  CHECK(n.state(1) == member_state::dead);
}

TEST_CASE("dead_from_the_node_itself_means_left", "[incarnation]") {
  one_node n;
  n.learn(1, 2);
  n.receive(1, dead{2, name_of(1), name_of(1)});
  CHECK(n.state(1) == member_state::left);
  CHECK(n.rt.events.back().kind == member_event_kind::leave);
}

TEST_CASE("suspect_node_refutes_with_higher_incarnation", "[refute]") {
  one_node n;
  for (int i = 1; i <= 3; ++i) n.learn(i);
  CHECK(n.node.incarnation() == 1);
  n.receive(2, suspect{7, name_of(0), name_of(2)});
  CHECK(n.node.incarnation() == 8);  // jumps past the accusation
  CHECK(n.state(0) == member_state::alive);
  CHECK(n.node.health_score() == 1);
  CHECK(n.node.stats().refutations == 1);
  // The refutation goes out as gossip: an alive about us with incarnation 8.
  n.rt.clear();
  n.advance(1s);
  bool found = false;
  for (auto& a : n.rt.sent_of<alive>())
    if (a.node == name_of(0) && a.incarnation == 8) found = true;
  CHECK(found);
}

TEST_CASE("dead_about_us_is_refuted_unless_we_are_leaving", "[refute]") {
  one_node n;
  n.learn(1);
  n.receive(1, dead{1, name_of(0), name_of(1)});
  CHECK(n.node.incarnation() == 2);
  CHECK(n.state(0) == member_state::alive);
}

TEST_CASE("alive_about_us_with_other_meta_is_refuted", "[refute]") {
  one_node n;
  n.learn(1);
  alive a{1, name_of(0), addr_of(0).ip_bytes(), 7946, bytes{1}, config::default_vsn()};
  n.receive(1, a);
  CHECK(n.node.incarnation() == 2);
  a.meta = {};
  a.incarnation = 2;
  n.receive(1, a);  // identical to ours: nothing to refute
  CHECK(n.node.incarnation() == 2);
}

TEST_CASE("leave_gossips_dead_about_ourselves_and_peers_record_left", "[leave]") {
  one_node a(0), b(1);
  a.learn(1);
  b.learn(0);
  a.node.leave(a.now, a.rt);
  CHECK(a.node.has_left());
  a.rt.packets.clear();
  a.advance(1s);
  int leaves = 0;
  for (const auto& p : a.rt.packets) {
    b.receive_packet(0, p.data);
    for (auto& m : p.messages())
      if (auto* d = std::get_if<dead>(&m); d && d->node == name_of(0) && d->from == name_of(0)) ++leaves;
  }
  CHECK(leaves >= 1);
  CHECK(b.state(0) == member_state::left);
  a.advance(10s);
  CHECK(a.rt.leave_done == 1);
}

TEST_CASE("alive_from_another_address_is_a_name_conflict", "[conflict]") {
  one_node n;
  n.learn(1, 1);
  alive a{2, name_of(1), addr_of(9).ip_bytes(), 7946, {}, config::default_vsn()};
  n.receive(9, a);
  CHECK(n.rt.conflicts.size() == 1);
  CHECK(n.node.member(name_of(1))->addr == addr_of(1));
}

TEST_CASE("dead_name_is_reclaimed_by_a_new_address_after_the_reclaim_time", "[conflict]") {
  config c = config::lan(name_of(0), addr_of(0));
  c.dead_node_reclaim_time = 10s;
  c.lifeguard.corroborate_dead = false;  // dead on one word, as memberlist
  one_node n(c);
  n.learn(1, 1);
  n.receive(2, dead{1, name_of(1), name_of(2)});
  alive a{1, name_of(1), addr_of(9).ip_bytes(), 7946, {}, config::default_vsn()};
  n.receive(9, a);  // too soon
  CHECK(n.rt.conflicts.size() == 1);
  n.now += 11s;
  n.receive(9, a);  // same incarnation, but the address takeover is allowed now
  CHECK(n.node.member(name_of(1))->addr == addr_of(9));
  CHECK(n.state(1) == member_state::alive);
}

TEST_CASE("push_pull_merge_turns_remote_dead_into_local_suspect", "[pushpull]") {
  one_node n;
  for (int i = 1; i <= 4; ++i) n.learn(i, 2);
  push_pull remote;
  remote.nodes.push_back({name_of(1), addr_of(1).ip_bytes(), 7946, {}, 2, node_state::dead, config::default_vsn()});
  remote.nodes.push_back({name_of(2), addr_of(2).ip_bytes(), 7946, {}, 2, node_state::left, config::default_vsn()});
  remote.nodes.push_back({name_of(5), addr_of(5).ip_bytes(), 7946, {}, 4, node_state::alive, config::default_vsn()});
  auto reply = n.node.handle_push_pull(n.now, addr_of(3), remote, n.rt);
  CHECK(reply.nodes.size() == 5);  // our table as it was before the merge
  CHECK(n.state(1) == member_state::suspect);
  CHECK(n.state(2) == member_state::left);
  CHECK(n.state(5) == member_state::alive);
}

TEST_CASE("push_pull_with_incompatible_protocol_versions_is_not_merged", "[pushpull]") {
  one_node n;
  push_pull remote;
  remote.nodes.push_back({name_of(5), addr_of(5).ip_bytes(), 7946, {}, 1, node_state::alive, bytes{6, 7, 7, 2, 5, 5}});
  n.node.handle_push_pull(n.now, addr_of(5), remote, n.rt);
  CHECK_FALSE(n.state(5));
  CHECK(n.node.stats().push_pulls_refused == 1);
}
