// Fields the core refuses from the wire (admission.hpp): a message that a
// Serf 0.9 peer would crash on, or that would corrupt state for good, is
// counted and dropped; it is never stored, so never gossiped or pushed on.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace chorus::swim;
using namespace chorus::swim::testing;

namespace {

alive alive_of(int i, std::uint32_t inc = 1) {
  return alive{inc, name_of(i), addr_of(i).ip_bytes(), addr_of(i).port, {}, config::default_vsn()};
}

// Whether `name` appears in anything the node sends: gossip (after enough
// time for every broadcast to go out) or its push/pull table.
bool ever_relayed(one_node& n, const std::string& name) {
  n.responsive = {1, 2, 3};
  n.advance(10s);
  for (const auto& a : n.rt.sent_of<alive>())
    if (a.node == name) return true;
  for (const auto& s : n.node.local_state(false).nodes)
    if (s.name == name) return true;
  return false;
}

}  // namespace

TEST_CASE("alive_with_a_one_byte_vsn_is_refused_counted_and_never_relayed", "[admission]") {
  one_node n;
  for (int i = 1; i <= 3; ++i) n.learn(i);
  alive a = alive_of(9);
  a.vsn = {1};  // the packet that panicked Serf 0.9 peers
  n.receive(1, a);
  CHECK_FALSE(n.node.member(name_of(9)));
  CHECK(n.node.stats().refused == 1);
  CHECK_FALSE(ever_relayed(n, name_of(9)));
}

TEST_CASE("alive_fields_a_serf_peer_cannot_take_are_each_refused", "[admission]") {
  struct bad_case {
    const char* what;
    void (*spoil)(alive&);
  };
  const bad_case cases[] = {
      {"empty Vsn", [](alive& a) { a.vsn.clear(); }},
      {"5-byte Vsn", [](alive& a) { a.vsn.resize(5); }},
      {"7-byte Vsn", [](alive& a) { a.vsn.push_back(5); }},
      {"PMin 0", [](alive& a) { a.vsn[0] = 0; }},
      {"PMin > PMax", [](alive& a) { a.vsn[0] = 5, a.vsn[1] = 2; }},
      {"3-byte address", [](alive& a) { a.addr.resize(3); }},
      {"port 0", [](alive& a) { a.port = 0; }},
      {"513-byte meta", [](alive& a) { a.meta.assign(513, 'x'); }},
      {"incarnation 2^31", [](alive& a) { a.incarnation = 0x80000000u; }},
      {"empty name", [](alive& a) { a.node.clear(); }},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    one_node n;
    n.learn(1);
    alive a = alive_of(9);
    c.spoil(a);
    n.receive(1, a);
    CHECK(n.node.stats().refused == 1);
    CHECK(n.node.members().size() == 2);  // ourselves and n1
  }
  // The limits themselves are accepted: 16-byte address, 512-byte meta,
  // incarnation 2^31 - 1.
  one_node n;
  alive a = alive_of(9, max_wire_incarnation);
  a.addr = bytes(16, 0);
  a.addr[15] = 1;
  a.meta.assign(512, 'x');
  n.receive(1, a);
  CHECK(n.node.stats().refused == 0);
  REQUIRE(n.node.member(name_of(9)));
  CHECK(n.node.member(name_of(9))->incarnation == max_wire_incarnation);
}

TEST_CASE("an_alive_refused_for_its_vsn_does_not_change_a_known_member", "[admission]") {
  one_node n;
  n.learn(1, 3);
  alive a = alive_of(1, 4);
  a.vsn = {2, 2};
  a.meta = {7};
  n.receive(1, a);
  CHECK(n.incarnation(1) == 3);
  CHECK(n.node.member(name_of(1))->vsn == config::default_vsn());
  CHECK(n.node.member(name_of(1))->meta.empty());
}

TEST_CASE("push_pull_entries_with_bad_fields_are_dropped_and_the_rest_merged", "[admission][pushpull]") {
  one_node n;
  push_pull remote;
  auto entry = [](int i) {
    push_node_state s;
    s.name = name_of(i);
    s.addr = addr_of(i).ip_bytes();
    s.port = addr_of(i).port;
    s.incarnation = 1;
    s.vsn = config::default_vsn();
    return s;
  };
  remote.nodes = {entry(1), entry(2), entry(3), entry(4)};
  remote.nodes[1].vsn = {1};  // would crash a Serf peer we pushed it to
  remote.nodes[2].state = node_state::dead;
  remote.nodes[2].incarnation = 0xffffffffu;  // a refutation would wrap
  n.node.handle_push_pull(n.now, addr_of(1), remote, n.rt);
  CHECK(n.node.stats().refused == 2);
  CHECK(n.node.stats().push_pulls_refused == 0);  // the rest merged
  CHECK(n.state(1) == member_state::alive);
  CHECK(n.state(4) == member_state::alive);
  CHECK_FALSE(n.node.member(name_of(2)));
  CHECK_FALSE(n.node.member(name_of(3)));
  CHECK_FALSE(ever_relayed(n, name_of(2)));
}

TEST_CASE("a_suspicion_at_the_top_incarnation_is_refused_so_the_node_can_still_refute", "[admission][incarnation]") {
  // Serf 0.9: a suspect for B at 2^32 - 1 makes B's refutation wrap to 0,
  // which everybody ignores, and B stays failed for good.
  one_node n;
  for (int i = 1; i <= 3; ++i) n.learn(i);
  const std::uint32_t before = n.node.incarnation();
  n.receive(1, suspect{0xffffffffu, name_of(0), name_of(1)});
  n.receive(1, dead{0xffffffffu, name_of(2), name_of(1)});
  CHECK(n.node.stats().refused == 2);
  CHECK(n.node.incarnation() == before);
  CHECK(n.state(2) == member_state::alive);
  // At the ceiling itself the node refutes, one above it.
  n.receive(1, suspect{max_wire_incarnation, name_of(0), name_of(1)});
  CHECK(n.node.incarnation() == max_wire_incarnation + 1);
  n.rt.clear();
  n.advance(1s);
  bool refuted = false;
  for (const auto& a : n.rt.sent_of<alive>())
    refuted |= a.node == name_of(0) && a.incarnation == max_wire_incarnation + 1;
  CHECK(refuted);
}
