// Real `chorus agent` processes on 127.62.0.x, default ports: join, tags,
// CLIs against the agent's RPC, failure detection, leave, hostile traffic,
// encryption and label isolation. Bounded in time; every process is killed by
// PID at the end of each test (agent_harness.hpp).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <random>

#include "integration/agent/agent_harness.hpp"

using namespace agent_test;

namespace {

const std::string key_a = "DsztwYCZBvF2KY/IXNPZ2VtxassyUTpsQCx9KE7j1Z8=";
const std::string key_b = "3VkKOCpxQqRsdTkXuvgVIjTHyKBeZKO2iSrS3l3cI2s=";

std::string ip(int i) { return "127.62.0." + std::to_string(i); }

bool all_see(const std::vector<std::string>& rpcs, int alive, std::chrono::milliseconds limit) {
  return eventually(
      [&] {
        for (const auto& r : rpcs)
          if (count_status(r, "alive") != alive) return false;
        return true;
      },
      limit);
}

}  // namespace

TEST_CASE("five chorus agents join and see each other alive with their tags", "[agent]") {
  cluster c("agent-five");
  c.chorus("n1", ip(1), {"-tag=role=web", "-tag=dc=east"});
  for (int i = 2; i <= 5; ++i)
    c.chorus("n" + std::to_string(i), ip(i), {"-tag=role=r" + std::to_string(i), "-join=" + ip(1)});
  std::vector<std::string> rpcs;
  for (int i = 1; i <= 5; ++i) rpcs.push_back(ip(i) + ":7373");
  REQUIRE(all_see(rpcs, 5, 20s));
  for (const auto& r : rpcs) {
    auto m = members_of(r);
    REQUIRE(m.size() == 5);
    CHECK(m["n1"].tags == std::map<std::string, std::string>{{"dc", "east"}, {"role", "web"}});
    CHECK(m["n4"].tags == std::map<std::string, std::string>{{"role", "r4"}});
  }

  // Both CLIs read the member list from a chorus agent's RPC.
  auto ours = run({chorus_binary, "members", "-rpc-addr=" + ip(3) + ":7373"}, 10s);
  REQUIRE(ours.exit_code == 0);
  CHECK(lines(ours.out).size() == 5);
  CHECK(ours.out.find("n1  127.62.0.1:7946  alive") != std::string::npos);
  auto theirs = run_serf({"members", "-rpc-addr=" + ip(3) + ":7373", "-status=alive"}, 10s);
  REQUIRE(theirs.exit_code == 0);
  CHECK(lines(theirs.out).size() == 5);
  CHECK(theirs.out.find("dc=east") != std::string::npos);
  auto info = run_serf({"info", "-rpc-addr=" + ip(2) + ":7373"}, 10s);
  CHECK(info.exit_code == 0);
  CHECK(info.out.find("members = 5") != std::string::npos);
}

TEST_CASE("a killed agent is failed everywhere and a leaving one is left", "[agent]") {
  cluster c("agent-fail");
  c.chorus("n1", ip(1));
  for (int i = 2; i <= 5; ++i) c.chorus("n" + std::to_string(i), ip(i), {"-join=" + ip(1)});
  std::vector<std::string> rest;
  for (int i = 1; i <= 3; ++i) rest.push_back(ip(i) + ":7373");
  REQUIRE(all_see(rest, 5, 20s));

  // kill -9: probe failures -> suspicion -> failed. LAN profile: the
  // suspicion timeout starts at 6 x 4 s and shrinks with confirmations; 40 s
  // covers it with margin.
  c.kill9("n5");
  CHECK(eventually(
      [&] {
        for (const auto& r : rest)
          if (status_of(r, "n5") != "failed") return false;
        return true;
      },
      40s));

  // SIGINT: graceful leave, then exit 0; the others mark it left.
  c.signal("n4", SIGINT);
  CHECK(c.wait_exit("n4", 15s) == 0);
  CHECK(eventually(
      [&] {
        for (const auto& r : rest)
          if (status_of(r, "n4") != "left") return false;
        return true;
      },
      15s));
  CHECK(c.log_of("n4").find("graceful leave complete") != std::string::npos);
}

TEST_CASE("garbage datagrams and random TCP bytes are counted and dropped", "[agent]") {
  cluster c("agent-garbage");
  c.chorus("n1", ip(1));
  c.chorus("n2", ip(2), {"-join=" + ip(1)});
  REQUIRE(all_see({ip(1) + ":7373", ip(2) + ":7373"}, 2, 15s));

  std::mt19937 rng(12345);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(7946);
  inet_pton(AF_INET, ip(1).c_str(), &to.sin_addr);
  const int udp = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(udp >= 0);
  int sent = 0;
  for (int i = 0; i < 10000; ++i) {
    std::vector<std::uint8_t> d(1 + rng() % 1400);
    for (auto& b : d) b = static_cast<std::uint8_t>(rng());
    // Some start with real type bytes so the decoders get exercised deeper.
    if (i % 3 == 0) d[0] = static_cast<std::uint8_t>(rng() % 14);
    sent += sendto(udp, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) > 0;
    if (i % 500 == 0) std::this_thread::sleep_for(5ms);  // stay under the socket buffer
  }
  close(udp);
  // Random TCP streams: connect, write junk, close.
  for (int i = 0; i < 200; ++i) {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
      std::vector<std::uint8_t> d(1 + rng() % 4096);
      for (auto& b : d) b = static_cast<std::uint8_t>(rng());
      if (i % 2 == 0) d[0] = static_cast<std::uint8_t>(rng() % 14);
      (void)!write(s, d.data(), d.size());
    }
    close(s);
  }
  CHECK(sent == 10000);
  CHECK(eventually(
      [&] {
        auto t = stats_section(ip(1) + ":7373", "metrics");
        return !t.empty() && std::stoull(t["chorus_malformed_packets_total{transport=\"udp\"}"]) >= 5000 &&
               std::stoull(t["chorus_malformed_packets_total{transport=\"tcp\"}"]) >= 100;
      },
      20s));
  // Still serving, still a member, peer still alive.
  CHECK(count_status(ip(1) + ":7373", "alive") == 2);
  CHECK(count_status(ip(2) + ":7373", "alive") == 2);
}

TEST_CASE("an agent with another encryption key cannot join and says why", "[agent]") {
  cluster c("agent-key");
  c.chorus("n1", ip(1), {"-encrypt=" + key_a});
  c.chorus("n2", ip(2), {"-encrypt=" + key_b, "-join=" + ip(1)}, false);
  CHECK(c.wait_exit("n2", 20s) == 1);
  const auto log = c.log_of("n2");
  INFO(log);
  CHECK(log.find("No installed keys could decrypt the message") != std::string::npos);
  CHECK(count_status(ip(1) + ":7373", "alive") == 1);

  // The right key joins.
  c.chorus("n3", ip(3), {"-encrypt=" + key_a, "-join=" + ip(1)});
  CHECK(all_see({ip(1) + ":7373", ip(3) + ":7373"}, 2, 15s));
}

TEST_CASE("an agent with a different label is refused", "[agent]") {
  cluster c("agent-label");
  c.chorus("n1", ip(1), {"-label=blue"});
  c.chorus("n2", ip(2), {"-label=green", "-join=" + ip(1)}, false);
  CHECK(c.wait_exit("n2", 20s) == 1);
  const auto log = c.log_of("n2");
  INFO(log);
  CHECK(log.find("label") != std::string::npos);
  c.chorus("n3", ip(3), {"-join=" + ip(1)}, false);  // no label at all
  CHECK(c.wait_exit("n3", 20s) == 1);
  c.chorus("n4", ip(4), {"-label=blue", "-join=" + ip(1)});
  CHECK(all_see({ip(1) + ":7373", ip(4) + ":7373"}, 2, 15s));
  CHECK(count_status(ip(1) + ":7373", "alive") == 2);
}

TEST_CASE("bad flags and config files fail fast naming the problem", "[agent]") {
  cluster c("agent-flags");
  auto r = run({chorus_binary, "agent", "-profile=moon"}, 10s);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("Unknown profile: moon") != std::string::npos);
  r = run({chorus_binary, "agent", "-encrypt=notbase64!"}, 10s);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("Invalid encryption key") != std::string::npos);
  const std::string cfg = c.dir() + "/bad.json";
  std::ofstream(cfg) << R"({"node_name": "x", "bogus_key": 1})";
  r = run({chorus_binary, "agent", "-config-file=" + cfg}, 10s);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("bogus_key") != std::string::npos);
}
