// `-join srv:NAME` and `-retry-join srv:NAME` against a real (tiny) DNS
// server: srv_dns_server.py on 127.17.0.53:53 inside a network namespace the
// test creates (`chdnssrv...`), named by the namespace's resolv.conf (which
// `ip netns exec` bind-mounts over /etc/resolv.conf). Three seed agents run
// on 127.17.0.1-3 with gossip ports 7946-7948 (the ports come from the SRV
// records); n1 and n2 come with glue addresses, n3 and the pod names make
// the agent look the target host up itself (an A query to the same server). The Kubernetes-style name is what a
// headless Service with a port named `gossip` publishes; `chorus join
// srv:...` over RPC is resolved by the agent the same way. Namespace, files
// and processes go away whatever path the test takes.
#include <catch2/catch.hpp>

#include "integration/netns/netns_harness.hpp"

using namespace netns_test;

namespace {

const std::string dns_ip = "127.17.0.53";

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

struct srv_world {
  namespaces ns;
  std::string name;
  std::string zone;
  agents a{"netns-srv"};
  srv_world() : name(ns.add("chdnssrv" + std::to_string(getpid() % 100000))) {
    const std::string etc = "/etc/netns/" + name;
    fs::create_directories(etc);
    std::ofstream(etc + "/resolv.conf") << "nameserver " << dns_ip << "\noptions timeout:1 attempts:2\n";
    zone = a.dir() + "/zone.txt";
    std::ofstream(zone) << "n1.test.internal A 127.17.0.1\n"
                           "n2.test.internal A 127.17.0.2\n"
                           "n3.test.internal A 127.17.0.3\n"
                           "noglue n3.test.internal\n"
                           "_serf._udp.test.internal SRV 0 10 7946 n1.test.internal\n"
                           "_serf._udp.test.internal SRV 0 10 7947 n2.test.internal\n"
                           "_serf._udp.test.internal SRV 1 10 7948 n3.test.internal\n"
                           // A headless Service: one SRV per pod, pod names without glue.
                           "chorus-0.chorus.default.svc.cluster.local A 127.17.0.1\n"
                           "chorus-1.chorus.default.svc.cluster.local A 127.17.0.2\n"
                           "noglue chorus-0.chorus.default.svc.cluster.local\n"
                           "noglue chorus-1.chorus.default.svc.cluster.local\n"
                           "_gossip._udp.chorus.default.svc.cluster.local SRV 0 50 7946 "
                           "chorus-0.chorus.default.svc.cluster.local\n"
                           "_gossip._udp.chorus.default.svc.cluster.local SRV 0 50 7947 "
                           "chorus-1.chorus.default.svc.cluster.local\n";
    // The server runs in the namespace, killed by PID with the cluster.
    a.start(name, "dns",
            {"/usr/bin/python3", std::string(CHORUS_SOURCE_DIR) + "/tests/integration/netns/srv_dns_server.py", dns_ip,
             "53", zone});
    const bool up = eventually([&] { return a.log_of("dns").find("serving") != std::string::npos; }, 5s);
    if (!up) throw std::runtime_error("DNS server did not start: " + a.log_of("dns"));
  }
  // `chorus agent` through `ip netns exec` (so it sees the resolv.conf).
  void agent(const std::string& node, const std::string& ip, int port, const std::vector<std::string>& flags,
             bool wait = true) {
    std::vector<std::string> argv{ip_binary,
                                  "netns",
                                  "exec",
                                  name,
                                  chorus_binary,
                                  "agent",
                                  "-node=" + node,
                                  "-bind=" + ip + ":" + std::to_string(port),
                                  "-rpc-addr=" + ip + ":7373",
                                  "-log-level=debug"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    a.start("", node, argv, wait ? ip + ":7373" : "");
  }
  void seeds() {
    agent("s1", "127.17.0.1", 7946, {});
    agent("s2", "127.17.0.2", 7947, {});
    agent("s3", "127.17.0.3", 7948, {});
  }
  // `chorus members` at `rpc` lists `n` alive members, within 10 s.
  void require_members(const std::string& node, const std::string& rpc, int n) {
    const bool met = eventually([&] { return count_status(rpc, "alive") == n; }, 10s);
    INFO(a.log_of(node));
    REQUIRE(met);
    const auto r = run({chorus_binary, "members", "-rpc-addr=" + rpc, "-status=alive"}, 10s);
    INFO(r.out << r.err);
    CHECK(static_cast<int>(lines(r.out).size()) == n);
    CHECK(r.out.find("s1  127.17.0.1:7946  alive") != std::string::npos);
    CHECK(r.out.find("s2  127.17.0.2:7947  alive") != std::string::npos);
  }
};

}  // namespace

TEST_CASE("an agent with -join srv:NAME joins every SRV target, with or without glue, and a headless-service name too",
          "[netns][dns][srv]") {
  srv_world w;
  enter_ns in(w.name);
  w.seeds();
  w.agent("d", "127.17.0.4", 7946, {"-join=srv:_serf._udp.test.internal"});
  w.require_members("d", "127.17.0.4:7373", 4);
  CHECK(w.a.log_of("d").find("agent: joined 3 nodes") != std::string::npos);
  const auto r = run({chorus_binary, "members", "-rpc-addr=127.17.0.4:7373"}, 10s);
  CHECK(r.out.find("s3  127.17.0.3:7948  alive") != std::string::npos);  // found by an A lookup, not glue

  w.agent("k", "127.17.0.5", 7946, {"-join=srv:_gossip._udp.chorus.default.svc.cluster.local"});
  w.require_members("k", "127.17.0.5:7373", 5);
  CHECK(w.a.log_of("k").find("agent: joined 2 nodes") != std::string::npos);

  // The RPC join (`chorus join`) takes the same form; the agent resolves it.
  w.agent("j", "127.17.0.7", 7946, {});
  const auto joined = run({chorus_binary, "join", "-rpc-addr=127.17.0.7:7373", "srv:_serf._udp.test.internal"}, 10s);
  INFO(joined.out << joined.err);
  CHECK(joined.out.find("Successfully joined cluster by contacting 3 nodes.") != std::string::npos);

  // A name with no records: -join fails naming it, and the agent exits.
  w.agent("x", "127.17.0.6", 7946, {"-join=srv:_none._udp.test.internal"}, false);
  CHECK(w.a.wait_exit("x", 10s) == 1);
  const auto x = w.a.log_of("x");
  INFO(x);
  CHECK(x.find("==> Failed to join: 1 error occurred:\n\t* Failed to resolve srv:_none._udp.test.internal: lookup "
               "_none._udp.test.internal on 127.17.0.53:53: no such host (NXDOMAIN)") != std::string::npos);
}

TEST_CASE("an agent with -retry-join srv:NAME looks the records up again on every attempt", "[netns][dns][srv]") {
  srv_world w;
  enter_ns in(w.name);
  w.seeds();
  w.agent("r", "127.17.0.4", 7946, {"-retry-join=srv:_late._udp.test.internal", "-retry-interval=1s"});
  const bool failed = eventually(
      [&] { return count(w.a.log_of("r"), "Failed to resolve srv:_late._udp.test.internal: lookup") >= 1; }, 10s);
  INFO(w.a.log_of("r"));
  REQUIRE(failed);
  REQUIRE(count_status("127.17.0.4:7373", "alive") == 1);

  std::ofstream(w.zone, std::ios::app) << "_late._udp.test.internal SRV 0 0 7946 n1.test.internal\n"
                                          "_late._udp.test.internal SRV 0 0 7947 n2.test.internal\n";
  w.require_members("r", "127.17.0.4:7373", 3);  // r, s1, s2 (the seeds never met)
  const auto log = w.a.log_of("r");
  CHECK(log.find("agent: Join completed. Synced with 2 initial agents") != std::string::npos);
  CHECK(count(log, "agent: Joining cluster... (attempt") >= 2);
}
