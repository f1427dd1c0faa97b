// -validate-node-names (serf #612; docs/compatibility.md, "Serf 0.10 and
// memberlist 0.6 behaviours") with real agents on 127.83.0.21-24: badly
// named members are refused, counted and logged, and our own name is
// checked at start. Bounded in time; every process is killed by PID.
#include <catch2/catch.hpp>

#include "integration/agent/agent_harness.hpp"

using namespace agent_test;

namespace {

std::string ip(int i) { return "127.83.0." + std::to_string(i); }
std::string rpc(int i) { return ip(i) + ":7373"; }

}  // namespace

TEST_CASE("validate node names: badly named members are refused, counted and logged", "[agent][parity]") {
  cluster c("parity-names");
  c.chorus("v1", ip(21), {"-validate-node-names"});
  c.chorus("bad_name", ip(22), {"-join=" + ip(21)});  // no validation here (Serf 0.9.4)
  // v1 relays nothing about bad_name: ok-name joins it directly too.
  c.chorus("ok-name", ip(23), {"-join=" + ip(21), "-join=" + ip(22)});
  // The others take every name; v1 refuses bad_name in gossip and push/pull.
  REQUIRE(eventually([&] { return count_status(rpc(23), "alive") == 3; }, 15s));
  REQUIRE(eventually([&] { return count_status(rpc(21), "alive") == 2; }, 10s));
  std::this_thread::sleep_for(2s);  // more gossip rounds: still refused
  CHECK(status_of(rpc(21), "bad_name").empty());
  CHECK(status_of(rpc(21), "ok-name") == "alive");
  CHECK(metric_value(rpc(21), "chorus_malformed_messages_total{reason=\"refused_fields\"}") >= 1);
  CHECK(c.log_of("v1").find("refused a message about 'bad_name'") != std::string::npos);

  // Our own name is checked at start.
  const auto bad = run_chorus(
      {"agent", "-node=bad_name", "-validate-node-names", "-bind=" + ip(24) + ":7946", "-rpc-addr=" + ip(24) + ":7373"},
      10s);
  CHECK(bad.exit_code == 1);
  CHECK(bad.out.find("Invalid node name 'bad_name' (-validate-node-names)") != std::string::npos);
}
