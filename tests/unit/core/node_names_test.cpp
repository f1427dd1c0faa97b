// serf #612 (Serf 0.10's ValidateNodeNames): with config::validate_node_names
// an alive or push/pull entry whose node name is not 1-128 characters of
// [A-Za-z0-9.-] is refused and counted like the other refused fields
// (admission.hpp). Off (Serf 0.9.4) any non-empty name is taken.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace chorus::swim;
using namespace chorus::swim::testing;

namespace {
alive alive_named(const std::string& name, int i) {
  return alive{1, name, addr_of(i).ip_bytes(), addr_of(i).port, {}, config::default_vsn()};
}
const std::vector<std::string> bad_names = {"under_score",         "sp ace",   "caf\xc3\xa9", "slash/x",
                                            std::string(129, 'a'), "new\nline"};
const std::vector<std::string> good_names = {"n1", "web-01.dc1.example", "A.B-c9", std::string(128, 'z')};
}  // namespace

TEST_CASE("node names: the rule is 1-128 characters of A-Z a-z 0-9 . -", "[admission][names]") {
  for (const auto& n : good_names) CHECK(valid_node_name(n));
  for (const auto& n : bad_names) CHECK_FALSE(valid_node_name(n));
  CHECK_FALSE(valid_node_name(""));
  CHECK(node_name_problem(std::string(129, 'a')).find("129 characters") != std::string::npos);
  CHECK(node_name_problem("a_b").find("invalid characters") != std::string::npos);
}

TEST_CASE("with validate_node_names, badly named members are refused from gossip and push/pull", "[admission][names]") {
  config c = config::lan(name_of(0), addr_of(0));
  c.validate_node_names = true;
  one_node n(c);
  int i = 10;
  for (const auto& name : bad_names) n.receive(1, alive_named(name, i++));
  CHECK(n.node.stats().refused == bad_names.size());
  push_pull remote;
  for (const auto& name : bad_names)
    remote.nodes.push_back({name, addr_of(i).ip_bytes(), 7946, {}, 1, node_state::alive, config::default_vsn()}), ++i;
  for (const auto& name : good_names)
    remote.nodes.push_back({name, addr_of(i).ip_bytes(), 7946, {}, 1, node_state::alive, config::default_vsn()}), ++i;
  n.node.handle_push_pull(n.now, addr_of(1), remote, n.rt);
  CHECK(n.node.stats().refused == 2 * bad_names.size());
  CHECK(n.node.stats().push_pulls_refused == 0);  // the good entries merged
  CHECK(n.node.members().size() == 1 + good_names.size());
  for (const auto& name : good_names) CHECK(n.node.member(name));
  for (const auto& name : bad_names) CHECK_FALSE(n.node.member(name));
}

TEST_CASE("without validate_node_names (Serf 0.9.4) any non-empty name is a member", "[admission][names]") {
  one_node n;
  int i = 10;
  for (const auto& name : bad_names) n.receive(1, alive_named(name, i++));
  CHECK(n.node.stats().refused == 0);
  CHECK(n.node.members().size() == 1 + bad_names.size());
}
