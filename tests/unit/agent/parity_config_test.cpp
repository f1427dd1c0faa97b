// Serf 0.10 / memberlist 0.3+ settings (docs/agent.md): -validate-node-names,
// -allowed-cidrs and -purge-left-members, as flags and config-file keys; bad
// values fail at load naming the problem.
#include <catch2/catch.hpp>

#include "agent/config.hpp"

using namespace chorus::agent;

TEST_CASE("parity settings are off by default and read from files and flags", "[agent][config]") {
  agent_flags f;
  f.node = "n1";
  auto r = load_config(f);
  REQUIRE(r.ok());
  CHECK_FALSE(r.config.validate_node_names);
  CHECK_FALSE(r.config.purge_left_members);
  CHECK(r.config.allowed_cidrs.empty());

  agent_config c;
  c.node_name = "n1";
  REQUIRE(merge_json(c, R"({"validate_node_names":true,"purge_left_members":true,"allowed_cidrs":["10.0.0.0/8"]})",
                     "a.json")
              .empty());
  CHECK(c.validate_node_names);
  CHECK(c.purge_left_members);
  CHECK(c.allowed_cidrs == std::vector<std::string>{"10.0.0.0/8"});
  CHECK(validate(c).empty());
  CHECK(merge_json(c, R"({"allowed_cidrs":"10.0.0.0/8"})", "b.json").find("allowed_cidrs: must be a list") !=
        std::string::npos);

  f.validate_node_names = true;
  f.allowed_cidrs = {"127.0.0.0/8,::1/128"};
  r = load_config(f);
  REQUIRE(r.ok());
  CHECK(r.config.validate_node_names);
  CHECK(r.config.allowed_cidrs.size() == 1);
}

TEST_CASE("a bad CIDR or an invalid own name under -validate-node-names stops the agent at load", "[agent][config]") {
  agent_flags f;
  f.node = "n1";
  f.allowed_cidrs = {"10.0.0.0/8", "10.0.0.0/40"};
  auto r = load_config(f);
  CHECK(r.error == "allowed_cidrs: invalid CIDR '10.0.0.0/40': prefix length must be a number from 0 to 32");

  agent_flags g;
  g.node = "bad_name";
  CHECK(load_config(g).ok());  // Serf 0.9.4 takes it
  g.validate_node_names = true;
  r = load_config(g);
  CHECK(r.error.find("Invalid node name 'bad_name' (-validate-node-names): node name contains invalid characters") ==
        0);
}
