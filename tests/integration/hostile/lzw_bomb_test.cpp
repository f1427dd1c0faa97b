// Issue 18, item 3: a 6.7 KB LZW-compressed UDP datagram used to expand to a
// 10 MiB Serf user event, kept in the event buffer, the rebroadcast queue and
// every push/pull (two such packets: RSS 3 -> 186 MB, and joins through the
// node failed with "LZW output exceeds 10485760 bytes"). A datagram now
// expands at most to the UDP receive buffer, and received events are held to
// the size limit. Agents on 127.80.7.x.
#include <catch2/catch.hpp>

#include "agent/serf/codec.hpp"
#include "integration/agent/agent_harness.hpp"
#include "swim/packet.hpp"

using namespace agent_test;

namespace {

std::string ip(int i) { return "127.80.7." + std::to_string(i); }

// Resident set of a process, in MiB (0 if unreadable).
double rss_mib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

double metric(const std::string& rpc, const std::string& key) {
  const auto m = stats_section(rpc, "metrics");
  const auto it = m.find(key);
  return it == m.end() ? -1 : std::stod(it->second);
}

}  // namespace

TEST_CASE("an LZW bomb datagram carrying a huge user event is dropped with bounded memory", "[integration][hostile]") {
  // The bomb: a Serf user event of just under 10 MiB (the old cap), LZW
  // compressed into one datagram.
  chorus::agent::user_event e{5, "bomb", chorus::swim::bytes((10u << 20) - 64, 'x'), false};
  chorus::swim::bytes inner{static_cast<std::uint8_t>(chorus::swim::message_type::user)};
  chorus::agent::encode(chorus::agent::serf_message{e}, inner);
  chorus::swim::bytes bomb;
  chorus::swim::encode_compress(inner, bomb);
  REQUIRE(bomb.size() < 16 * 1024);

  cluster c("hostile-lzw");
  c.chorus("c1", ip(1));
  const std::string rpc = ip(1) + ":7373";
  const double malformed_before = metric(rpc, "chorus_malformed_packets_total{transport=\"udp\"}");
  for (int i = 0; i < 40; ++i) REQUIRE(send_udp(ip(1), bomb));

  REQUIRE(eventually(
      [&] { return metric(rpc, "chorus_malformed_packets_total{transport=\"udp\"}") >= malformed_before + 40; }, 10s));
  CHECK(rss_mib(c.get("c1").pid()) < 40);  // was ~950 MB with 40 packets
  CHECK(c.log_of("c1").find("LZW output exceeds 65536 bytes") != std::string::npos);

  // Joins through the node still work (its push/pull state carries no bomb).
  c.chorus("c2", ip(2), {"-join=" + ip(1)});
  CHECK(
      eventually([&] { return count_status(rpc, "alive") == 2 && count_status(ip(2) + ":7373", "alive") == 2; }, 15s));
  CHECK(rss_mib(c.get("c1").pid()) < 40);
}
