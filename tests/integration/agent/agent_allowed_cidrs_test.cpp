// -allowed-cidrs (memberlist's CIDRsAllowed; docs/compatibility.md, "Serf
// 0.10 and memberlist 0.6 behaviours") with real agents on 127.83.0.1-9:
// gossip from other sources is dropped unread and counted. Bounded in time;
// every process is killed by PID (agent_harness.hpp).
#include <catch2/catch.hpp>

#include "integration/agent/agent_harness.hpp"

using namespace agent_test;

namespace {

std::string ip(int i) { return "127.83.0." + std::to_string(i); }
std::string rpc(int i) { return ip(i) + ":7373"; }

const std::string udp_not_allowed = "chorus_dropped_packets_total{reason=\"udp_source_not_allowed\"}";
const std::string tcp_not_allowed = "chorus_dropped_packets_total{reason=\"tcp_source_not_allowed\"}";

}  // namespace

TEST_CASE("allowed CIDRs: gossip from other sources is dropped and counted", "[agent][parity]") {
  cluster c("parity-cidrs");
  // .0-.3 allowed, with a second range given separately.
  c.chorus("a1", ip(1), {"-allowed-cidrs=127.83.0.0/30", "-allowed-cidrs=10.0.0.0/8"});
  c.chorus("a2", ip(2), {"-join=" + ip(1)});
  REQUIRE(eventually([&] { return count_status(rpc(1), "alive") == 2 && count_status(rpc(2), "alive") == 2; }, 15s));
  CHECK(metric_value(rpc(1), udp_not_allowed) == 0);
  CHECK(metric_value(rpc(1), tcp_not_allowed) == 0);

  // An agent outside the ranges cannot join: its push/pull connection is closed unread.
  c.chorus("out", ip(9));
  const auto join = run_chorus({"join", "-rpc-addr=" + rpc(9), ip(1)}, 15s);
  CHECK(join.exit_code == 1);
  CHECK(metric_value(rpc(1), tcp_not_allowed) >= 1);
  // Its datagrams are dropped before they are opened: garbage is not even
  // counted as malformed.
  const double before = metric_value(rpc(1), udp_not_allowed);
  const std::vector<std::uint8_t> garbage{0xff, 0x00};
  for (int i = 0; i < 3; ++i) REQUIRE(send_udp(ip(1), garbage, ip(9)));
  CHECK(eventually([&] { return metric_value(rpc(1), udp_not_allowed) >= before + 3; }, 5s));
  CHECK(metric_value(rpc(1), "chorus_malformed_packets_total{transport=\"udp\"}") == 0);  // never opened
  CHECK(c.log_of("a1").find("source not in allowed CIDRs") != std::string::npos);
  CHECK(count_status(rpc(1), "alive") == 2);
  CHECK(status_of(rpc(1), "out").empty());

  // A bad CIDR stops the agent at start, naming it.
  const auto bad = run_chorus(
      {"agent", "-node=x", "-bind=" + ip(3) + ":7946", "-rpc-addr=" + ip(3) + ":7373", "-allowed-cidrs=127.83.0.0/33"},
      10s);
  CHECK(bad.exit_code == 1);
  CHECK(bad.out.find("invalid CIDR '127.83.0.0/33'") != std::string::npos);
}
