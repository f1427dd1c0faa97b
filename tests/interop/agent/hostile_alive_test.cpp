// Issue 18, item 1: one UDP alive with a 1-byte Vsn, sent to a chorus agent of
// a mixed cluster, used to be stored and gossiped on, and every Serf 0.9.4
// member panicked (`index out of range [1] with length 1`); a Serf agent that
// joined later through chorus died in its push/pull. chorus now refuses it
// (counted as refused_fields, never stored or relayed). Agents on 127.63.2.x.
#include <catch2/catch.hpp>

#include "integration/agent/agent_harness.hpp"
#include "swim/codec.hpp"

using namespace agent_test;

namespace {

std::string ip(int i) { return "127.63.2." + std::to_string(i); }

bool running(cluster& c, const std::string& name) { return c.running(name); }

bool all_alive(const std::string& at, std::size_t count) {
  auto m = members_of(at + ":7373");
  if (m.size() != count) return false;
  for (const auto& [name, s] : m)
    if (s.status != "alive") return false;
  return true;
}

}  // namespace

TEST_CASE("a crafted alive with a 1-byte Vsn sent to chorus does not crash the serf members", "[interop][hostile]") {
  cluster c("hostile-alive");
  c.serf("s1", ip(1));
  c.chorus("c1", ip(2), {"-join=" + ip(1)});
  c.serf("s2", ip(3), {"-join=" + ip(2)});
  c.chorus("c2", ip(4), {"-join=" + ip(3)});
  const bool formed = eventually(
      [&] {
        for (int i = 1; i <= 4; ++i)
          if (!all_alive(ip(i), 4)) return false;
        return true;
      },
      30s);
  if (!formed) UNSCOPED_INFO(c.log_tails());
  REQUIRE(formed);

  chorus::swim::alive evil;
  evil.incarnation = 1;
  evil.node = "evil";
  evil.addr = {127, 80, 3, 99};
  evil.port = 7946;
  evil.vsn = {1};
  const chorus::swim::bytes packet = chorus::swim::encode(chorus::swim::message{evil});
  for (int i = 0; i < 3; ++i) REQUIRE(send_udp(ip(2), packet, ip(200)));

  // Serf gossips every 200 ms: had chorus relayed it, both serf members
  // would have died within a second or two.
  std::this_thread::sleep_for(5s);
  CHECK(running(c, "s1"));
  CHECK(running(c, "s2"));
  for (int i = 1; i <= 4; ++i) {
    INFO("view of " << ip(i));
    CHECK(all_alive(ip(i), 4));
  }
  const auto metrics = stats_section(ip(2) + ":7373", "metrics");
  const auto refused = metrics.find("chorus_malformed_messages_total{reason=\"refused_fields\"}");
  REQUIRE(refused != metrics.end());
  CHECK(std::stod(refused->second) >= 3);
  CHECK(c.log_of("c1").find("refused a message about 'evil' from " + ip(200)) != std::string::npos);

  // A serf agent joining later through chorus gets chorus's table in its
  // push/pull: it must not find the bad entry there.
  c.serf("s3", ip(5), {"-join=" + ip(2)});
  const bool joined = eventually([&] { return all_alive(ip(5), 5) && all_alive(ip(2), 5); }, 30s);
  if (!joined) UNSCOPED_INFO(c.log_tails());
  CHECK(joined);
  CHECK(running(c, "s3"));
  CHECK(c.log_of("s3").find("panic") == std::string::npos);
}
