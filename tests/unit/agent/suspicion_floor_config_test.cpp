// -confirmed-suspicion-floor / confirmed_suspicion_floor (docs/agent.md):
// unset means swim::config's default (chorus's 0.4); 1 is memberlist's
// timeouts; values outside 0.05-1 and non-numbers fail at load.
#include <catch2/catch.hpp>

#include "agent/config.hpp"

using namespace chorus::agent;

TEST_CASE("the confirmed suspicion floor is read from flags and files and range-checked", "[agent][config]") {
  agent_flags f;
  f.node = "n1";
  auto r = load_config(f);
  REQUIRE(r.ok());
  CHECK_FALSE(r.config.confirmed_suspicion_floor);

  f.confirmed_suspicion_floor = "1";
  r = load_config(f);
  REQUIRE(r.ok());
  CHECK(r.config.confirmed_suspicion_floor == 1.0);

  for (const char* bad : {"0", "1.5", "nan", "0.4x", ""}) {
    f.confirmed_suspicion_floor = bad;
    r = load_config(f);
    INFO(bad);
    CHECK_FALSE(r.ok());
    CHECK(r.error.find("confirmed") != std::string::npos);
  }

  agent_config c;
  c.node_name = "n1";
  REQUIRE(merge_json(c, R"({"confirmed_suspicion_floor":0.5})", "a.json").empty());
  CHECK(c.confirmed_suspicion_floor == 0.5);
  CHECK(validate(c).empty());
  CHECK(merge_json(c, R"({"confirmed_suspicion_floor":"0.5"})", "b.json").find("must be a number") !=
        std::string::npos);
  REQUIRE(merge_json(c, R"({"confirmed_suspicion_floor":0.01})", "c.json").empty());
  CHECK(validate(c).find("between 0.05 and 1") != std::string::npos);
}
