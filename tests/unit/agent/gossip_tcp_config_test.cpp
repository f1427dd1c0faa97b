// The gossip TCP admission keys (docs/agent.md "Gossip TCP admission"):
// config-file only, unset means the transport's defaults.
#include <catch2/catch.hpp>

#include "agent/config.hpp"

using namespace chorus::agent;
using namespace std::chrono_literals;

TEST_CASE("gossip TCP admission keys are read from config files and validated", "[agent][config]") {
  agent_config c;
  c.node_name = "n";
  CHECK_FALSE(c.gossip_tcp_max_inbound);
  CHECK_FALSE(c.gossip_tcp_first_byte_timeout);
  REQUIRE(merge_json(c,
                     R"({"gossip_tcp_max_inbound":64,"gossip_tcp_member_reserve":16,"gossip_tcp_max_per_source":4,
                         "gossip_tcp_first_byte_timeout":"500ms","gossip_tcp_min_bytes_per_second":0})",
                     "a.json")
              .empty());
  CHECK(c.gossip_tcp_max_inbound == 64u);
  CHECK(c.gossip_tcp_member_reserve == 16u);
  CHECK(c.gossip_tcp_max_per_source == 4u);
  CHECK(c.gossip_tcp_first_byte_timeout == 500ms);
  CHECK(c.gossip_tcp_min_bytes_per_second == 0u);  // 0 turns the rate check off
  CHECK(validate(c).empty());

  CHECK(merge_json(c, R"({"gossip_tcp_max_per_source":-1})", "b.json").find("gossip_tcp_max_per_source") !=
        std::string::npos);
  CHECK(merge_json(c, R"({"gossip_tcp_first_byte_timeout":"soon"})", "c.json").find("invalid duration") !=
        std::string::npos);
  agent_config zero = c;
  zero.gossip_tcp_max_inbound = 0;
  CHECK(validate(zero).find("gossip_tcp_max_inbound") != std::string::npos);
  zero = c;
  zero.gossip_tcp_max_per_source = 0;
  CHECK(validate(zero).find("gossip_tcp_max_per_source") != std::string::npos);
}
