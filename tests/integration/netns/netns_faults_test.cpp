// Fault tests in network namespaces the test creates (netns_harness.hpp):
// packet loss, a partition and its healing, hostile traffic. Agents run the
// LAN profile; the test thread sits in the switch namespace and talks to each
// agent's RPC (port 7373, never subject to the injected faults).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <random>

#include "integration/netns/netns_harness.hpp"

using namespace netns_test;

namespace {

// Every agent at `rpcs` sees exactly `alive` alive members (and no others).
bool all_alive(const std::vector<std::string>& rpcs, int alive) {
  for (const auto& r : rpcs) {
    auto m = members_of(r);
    if (static_cast<int>(m.size()) != alive || count_status(r, "alive") != alive) return false;
  }
  return true;
}

std::string views(const std::vector<std::string>& rpcs) {
  std::string out;
  for (const auto& r : rpcs) {
    out += r + ":";
    for (const auto& [name, s] : members_of(r)) out += " " + name + "=" + s.status;
    out += "\n";
  }
  return out;
}

// The RPC port stays out of every fault rule: the test must be able to ask.
void exempt_rpc(const std::string& ns) {
  iptables(ns, {"-A", "INPUT", "-p", "tcp", "--dport", "7373", "-j", "ACCEPT"});
  iptables(ns, {"-A", "INPUT", "-p", "tcp", "--sport", "7373", "-j", "ACCEPT"});
}

}  // namespace

TEST_CASE("ten agents under 10% packet loss for two minutes see no false failure", "[netns][loss]") {
  constexpr int n = 10;
  lan net("l", n, 1);
  enter_ns in(net.switch_ns());
  agents a("netns-loss");
  const std::string events = a.dir() + "/events.log";
  const std::string handler = write_event_logger(a.dir(), events);
  std::vector<std::string> rpcs;
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> flags{"-log-level=info", "-event-handler=" + handler};
    if (i > 0) flags.push_back("-join=" + net.ip(0));
    a.chorus(net.host(i), "n" + std::to_string(i), net.ip(i), flags);
    rpcs.push_back(net.ip(i) + ":7373");
  }
  REQUIRE(eventually([&] { return all_alive(rpcs, n); }, 30s));

  // 10% of every packet arriving at every agent is dropped: UDP gossip, TCP
  // push/pull and fallback pings alike (each packet also crosses one more
  // agent's INPUT on the way back, so a round trip loses ~19%).
  for (int i = 0; i < n; ++i) {
    exempt_rpc(net.host(i));
    iptables(net.host(i), {"-A", "INPUT", "-m", "statistic", "--mode", "random", "--probability", "0.1", "-j", "DROP"});
  }
  const auto start = std::chrono::steady_clock::now();
  std::string first_bad;
  while (std::chrono::steady_clock::now() - start < 120s) {
    std::this_thread::sleep_for(5s);
    for (int i = 0; i < n && first_bad.empty(); ++i)
      if (!a.running("n" + std::to_string(i))) first_bad = "n" + std::to_string(i) + " exited";
  }
  CHECK(first_bad.empty());

  long dropped = 0;
  for (int i = 0; i < n; ++i) dropped += dropped_by(net.host(i), "statistic");
  INFO("packets dropped by the loss rules: " << dropped);
  CHECK(dropped > 300);  // the loss really happened (~700 expected)

  // Still under loss: `chorus members` on every agent lists ten alive.
  for (int i = 0; i < n; ++i) {
    auto r = run({chorus_binary, "members", "-rpc-addr=" + rpcs[i], "-status=alive"}, 20s);
    INFO("members at n" << i << ":\n" << r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(lines(r.out).size() == static_cast<std::size_t>(n));
  }
  INFO(views(rpcs));
  CHECK(all_alive(rpcs, n));
  const std::string log = read_file(events);
  INFO("handler events:\n" << log);
  CHECK(log.find("member-failed") == std::string::npos);
  CHECK(log.find("member-leave") == std::string::npos);
  CHECK(log.find("member-join") != std::string::npos);  // the logger did run
  // How close it came: members each agent suspected at some point (the
  // chorus-only `failures` stats section keeps suspicions, refuted or not).
  std::size_t suspected = 0;
  for (const auto& r : rpcs) suspected += stats_section(r, "failures").size();
  WARN("10% loss for 120 s, 10 agents: " << dropped << " packets dropped, " << suspected
                                         << " (agent, member) suspicion records, 0 failures");
}

TEST_CASE("a 5/5 partition longer than the suspicion timeout heals with everyone alive", "[netns][partition]") {
  constexpr int n = 10;
  lan net("p", n, 2);
  enter_ns in(net.switch_ns());
  agents a("netns-partition");
  const std::string events = a.dir() + "/events.log";
  const std::string handler = write_event_logger(a.dir(), events);
  std::vector<std::string> rpcs, left, right;
  for (int i = 0; i < n; ++i) {
    // Reconnect attempts to failed members every 5 s instead of Serf's 30 s
    // keep the heal bound short.
    std::vector<std::string> flags{"-log-level=info", "-event-handler=" + handler, "-reconnect-interval=5s"};
    if (i > 0) flags.push_back("-join=" + net.ip(0));
    a.chorus(net.host(i), "n" + std::to_string(i), net.ip(i), flags);
    rpcs.push_back(net.ip(i) + ":7373");
    (i < n / 2 ? left : right).push_back(rpcs.back());
  }
  REQUIRE(eventually([&] { return all_alive(rpcs, n); }, 30s));

  // Partition: hosts 0-4 drop everything from 5-9 and the other way round.
  const std::string left_range = net.ip(0) + "-" + net.ip(n / 2 - 1);
  const std::string right_range = net.ip(n / 2) + "-" + net.ip(n - 1);
  auto rule = [&](int i) {
    return std::vector<std::string>{"INPUT", "-m",  "iprange", "--src-range", i < n / 2 ? right_range : left_range,
                                    "-j",    "DROP"};
  };
  for (int i = 0; i < n; ++i) {
    exempt_rpc(net.host(i));
    auto r = rule(i);
    r.insert(r.begin(), "-A");
    iptables(net.host(i), r);
  }
  const auto cut = std::chrono::steady_clock::now();
  // Each side sees the other five failed (suspicion runs out) and itself alive.
  auto sides_split = [&] {
    for (const auto& r : rpcs)
      if (count_status(r, "alive") != n / 2 || count_status(r, "failed") != n / 2) return false;
    return true;
  };
  const bool split = eventually(sides_split, 60s);
  INFO(views(rpcs));
  REQUIRE(split);
  const auto split_after = std::chrono::steady_clock::now() - cut;

  // Heal.
  for (int i = 0; i < n; ++i) {
    auto r = rule(i);
    r.insert(r.begin(), "-D");
    iptables(net.host(i), r);
  }
  const auto healed_at = std::chrono::steady_clock::now();
  const bool healed = eventually([&] { return all_alive(rpcs, n); }, 60s);
  INFO(views(rpcs));
  CHECK(healed);
  const auto heal_took = std::chrono::steady_clock::now() - healed_at;
  const std::string log = read_file(events);
  CHECK(log.find("member-failed") != std::string::npos);
  WARN("partition 5/5: both sides saw the other failed after "
       << std::chrono::duration_cast<std::chrono::milliseconds>(split_after).count() << " ms; all alive again "
       << std::chrono::duration_cast<std::chrono::milliseconds>(heal_took).count() << " ms after healing");
}

TEST_CASE("garbage and a flood of 10000 garbage datagrams are counted, memory stays bounded, the agent serves",
          "[netns][garbage]") {
  lan net("g", 2, 3);
  enter_ns in(net.switch_ns());
  agents a("netns-garbage");
  a.chorus(net.host(0), "n0", net.ip(0), {"-log-level=info"});
  a.chorus(net.host(1), "n1", net.ip(1), {"-log-level=info", "-join=" + net.ip(0)});
  const std::vector<std::string> rpcs{net.ip(0) + ":7373", net.ip(1) + ":7373"};
  REQUIRE(eventually([&] { return all_alive(rpcs, 2); }, 15s));
  const pid_t pid = a.get("n0").pid();
  auto counter = [&](const char* key) {
    auto t = stats_section(rpcs[0], "metrics");
    return t.count(key) ? std::stoull(t[key]) : 0ull;
  };
  const char* udp_malformed = "chorus_malformed_packets_total{transport=\"udp\"}";
  const char* tcp_malformed = "chorus_malformed_packets_total{transport=\"tcp\"}";
  const auto udp_before = counter(udp_malformed);
  const auto tcp_before = counter(tcp_malformed);
  // Warm up: a first batch brings buffers and allocator pools to their
  // working size, so the RSS comparison measures growth, not first use.
  std::mt19937 rng(4242);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(7946);
  inet_pton(AF_INET, net.ip(0).c_str(), &to.sin_addr);
  const int udp = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(udp >= 0);
  auto garbage_datagram = [&](int i) {
    std::vector<std::uint8_t> d(1 + rng() % 1400);
    for (auto& b : d) b = static_cast<std::uint8_t>(rng());
    switch (i % 4) {
      case 0:  // a real message type: the decoders go deeper
        d[0] = static_cast<std::uint8_t>(rng() % 14);
        break;
      case 1:  // compound (7) claiming many parts
        d[0] = 7;
        break;
      case 2:  // compress (9) wrapper around junk
        d[0] = 9;
        break;
      default:
        break;
    }
    return sendto(udp, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) > 0;
  };
  for (int i = 0; i < 2000; ++i) garbage_datagram(i);
  std::this_thread::sleep_for(1s);
  const long rss_before = rss_kb(pid);

  // The flood: 10,000 datagrams as fast as the socket takes them.
  int sent = 0;
  for (int i = 0; i < 10000; ++i) {
    sent += garbage_datagram(i);
    if (i % 1000 == 999) std::this_thread::sleep_for(2ms);
  }
  close(udp);
  // Random TCP bytes: connect, write junk, close; and a few left open silent.
  std::vector<int> idle;
  for (int i = 0; i < 300; ++i) {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
      std::vector<std::uint8_t> d(1 + rng() % 8192);
      for (auto& b : d) b = static_cast<std::uint8_t>(rng());
      if (i % 2 == 0) d[0] = static_cast<std::uint8_t>(rng() % 14);
      (void)!write(s, d.data(), d.size());
    }
    if (i % 30 == 0)
      idle.push_back(s);
    else
      close(s);
  }
  CHECK(sent == 10000);
  CHECK(eventually([&] { return counter(udp_malformed) >= udp_before + 8000; }, 20s));
  CHECK(eventually([&] { return counter(tcp_malformed) >= tcp_before + 200; }, 20s));
  INFO("udp_malformed " << udp_before << " -> " << counter(udp_malformed) << ", tcp_malformed " << tcp_before << " -> "
                        << counter(tcp_malformed));
  for (int s : idle) close(s);

  // Still serving RPC, still gossiping: a tag set on n0 now reaches n1.
  auto tags = run({chorus_binary, "tags", "-rpc-addr=" + rpcs[0], "-set", "after=flood"}, 10s);
  CHECK(tags.exit_code == 0);
  CHECK(eventually(
      [&] {
        auto m = members_of(rpcs[1]);
        return m.count("n0") && m["n0"].status == "alive" && m["n0"].tags.count("after");
      },
      15s));
  CHECK(all_alive(rpcs, 2));
  const long rss_after = rss_kb(pid);
  WARN("n0 VmRSS " << rss_before << " kB before the flood, " << rss_after << " kB after");
  CHECK(rss_before > 0);
  CHECK(rss_after < rss_before + 4096);  // no per-datagram or per-connection leak
}
