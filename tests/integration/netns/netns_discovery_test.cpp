// Addressing in network namespaces the test creates: mDNS discovery between
// two namespaces joined by a veth pair (multicast needs a real link), chorus
// with chorus (also with -mdns-iface, on IPv4 alone and on IPv6 alone) and
// chorus with Debian's serf; IPv6 binds on ::1; a host name
// as -advertise (resolved through the namespace's own /etc/hosts).
#include <catch2/catch.hpp>

#include "integration/netns/netns_harness.hpp"

using namespace netns_test;

namespace {

// Two namespaces, one veth pair. The default layout: side 0 is 10.202.0.1,
// side 1 is 10.202.0.2, each with a route for 224.0.0.0/4 on the veth
// (agents without an interface send multicast where the routing table says).
// The other layouts test -mdns-iface: `ipv4_only` (no route for 224.0.0.0/4,
// IPv6 disabled on the veth) and `ipv6_only` (no IPv4 address at all, ULA
// fd00:202::1 and ::2 beside the link-local addresses).
enum class family { both, ipv4_only, ipv6_only };

struct veth_pair {
  namespaces ns;
  std::string side[2];
  explicit veth_pair(const std::string& tag, family f = family::both) {
    const std::string base = "chnf" + tag + std::to_string(getpid() % 100000);
    side[0] = ns.add(base + "a");
    side[1] = ns.add(base + "b");
    must({ip_binary, "link", "add", "veth0", "netns", side[0], "type", "veth", "peer", "name", "veth0", "netns",
          side[1]});
    for (int i = 0; i < 2; ++i) {
      if (f == family::ipv4_only)
        must({ip_binary, "netns", "exec", side[i], "sysctl", "-q", "-w", "net.ipv6.conf.veth0.disable_ipv6=1"});
      if (f != family::ipv6_only) must({ip_binary, "-n", side[i], "addr", "add", ip(i) + "/24", "dev", "veth0"});
      if (f == family::ipv6_only)
        must({ip_binary, "-n", side[i], "addr", "add", ip6(i) + "/64", "dev", "veth0", "nodad"});
      must({ip_binary, "-n", side[i], "link", "set", "veth0", "up"});
      if (f == family::both) must({ip_binary, "-n", side[i], "route", "add", "224.0.0.0/4", "dev", "veth0"});
    }
    if (f == family::ipv4_only) return;
    // Serf's mDNS browser also queries ff02::fb and gives up the whole poll
    // when that send fails, which it does while the veth's IPv6 link-local
    // address is still tentative (duplicate address detection); chorus's
    // IPv6 queries go out from that address too.
    for (int i = 0; i < 2; ++i)
      eventually(
          [&] {
            auto r = run({ip_binary, "-n", side[i], "-6", "addr", "show", "dev", "veth0", "tentative"}, 5s);
            auto all = run({ip_binary, "-n", side[i], "-6", "addr", "show", "dev", "veth0"}, 5s);
            return r.out.empty() && all.out.find("fe80") != std::string::npos;
          },
          10s);
  }
  static std::string ip(int i) { return "10.202.0." + std::to_string(i + 1); }
  static std::string ip6(int i) { return "fd00:202::" + std::to_string(i + 1); }
};

bool both_alive(const std::vector<std::string>& rpcs, int n) {
  for (const auto& r : rpcs)
    if (count_status(r, "alive") != n) return false;
  return true;
}

}  // namespace

TEST_CASE("two chorus agents with only -discover find each other over mDNS", "[netns][mdns]") {
  veth_pair link("md");
  enter_ns in(link.side[0]);
  agents a("netns-mdns");
  a.chorus(link.side[0], "a1", veth_pair::ip(0), {"-discover=test"});
  a.chorus(link.side[1], "b1", veth_pair::ip(1), {"-discover=test"});
  const std::vector<std::string> rpcs{veth_pair::ip(0) + ":7373", veth_pair::ip(1) + ":7373"};
  const bool met = eventually([&] { return both_alive(rpcs, 2); }, 20s);
  INFO(a.log_of("a1") << "\n----\n" << a.log_of("b1"));
  REQUIRE(met);
  CHECK((a.log_of("a1") + a.log_of("b1")).find("agent.mdns: Joined") != std::string::npos);
  // No interface named: both families, where the routes say.
  CHECK(a.log_of("a1").find("via 224.0.0.251 and ff02::fb") != std::string::npos);
  // A third cluster name on the same link stays alone.
  a.start(link.side[1], "c1",
          {chorus_binary, "agent", "-node=c1", "-bind=" + veth_pair::ip(1) + ":7950",
           "-rpc-addr=" + veth_pair::ip(1) + ":7374", "-discover=other"},
          veth_pair::ip(1) + ":7374");
  std::this_thread::sleep_for(4s);
  CHECK(count_status(veth_pair::ip(1) + ":7374", "alive") == 1);
  CHECK(members_of(rpcs[0]).size() == 2);
}

TEST_CASE("agents with -mdns-iface run mDNS on that interface: IPv4 without a multicast route or IPv6",
          "[netns][mdns]") {
  veth_pair link("mi", family::ipv4_only);
  enter_ns in(link.side[0]);
  agents a("netns-mdns-iface");
  // Bound to 0.0.0.0: only -mdns-iface says where the multicast goes (there
  // is no route for 224.0.0.0/4), and the veth has no IPv6 to fall back on.
  auto agent = [&](int i, const std::string& name) {
    const auto ip = veth_pair::ip(i);
    a.start(link.side[i], name,
            {chorus_binary, "agent", "-node=" + name, "-bind=0.0.0.0:7946", "-advertise=" + ip,
             "-rpc-addr=" + ip + ":7373", "-discover=test", "-mdns-iface=veth0", "-log-level=debug"},
            ip + ":7373");
  };
  agent(0, "a1");
  agent(1, "b1");
  const std::vector<std::string> rpcs{veth_pair::ip(0) + ":7373", veth_pair::ip(1) + ":7373"};
  const bool met = eventually([&] { return both_alive(rpcs, 2); }, 15s);
  INFO(a.log_of("a1") << "\n----\n" << a.log_of("b1"));
  REQUIRE(met);
  CHECK((a.log_of("a1") + a.log_of("b1")).find("agent.mdns: Joined") != std::string::npos);
  // The missing IPv6 is said once, as a warning, and IPv4 carries on.
  CHECK(a.log_of("a1").find("interface veth0 has no IPv6 address: mDNS on IPv4 only") != std::string::npos);
  CHECK(a.log_of("a1").find("via 224.0.0.251 on veth0") != std::string::npos);

  // An interface that does not exist stops the agent at start, naming it.
  a.start(link.side[1], "bad",
          {chorus_binary, "agent", "-node=bad", "-bind=" + veth_pair::ip(1) + ":7950",
           "-rpc-addr=" + veth_pair::ip(1) + ":7374", "-discover=test", "-mdns-iface=nosuch0"});
  CHECK(a.wait_exit("bad", 10s) == 1);
  INFO(a.log_of("bad"));
  CHECK(a.log_of("bad").find("Failed to use mDNS interface 'nosuch0': no such network interface") != std::string::npos);
  CHECK(members_of(rpcs[0]).size() == 2);
}

TEST_CASE("two chorus agents find each other over IPv6 mDNS alone (ff02::fb, AAAA)", "[netns][mdns][ipv6]") {
  veth_pair link("m6", family::ipv6_only);
  enter_ns in(link.side[0]);
  agents a("netns-mdns6");
  std::vector<std::string> rpcs;
  auto agent = [&](int i, const std::string& name) {
    const auto ip = "[" + veth_pair::ip6(i) + "]";
    rpcs.push_back(ip + ":7373");
    a.start(link.side[i], name,
            {chorus_binary, "agent", "-node=" + name, "-bind=" + ip + ":7946", "-rpc-addr=" + ip + ":7373",
             "-discover=test6", "-mdns-iface=veth0", "-log-level=debug"},
            rpcs.back());
  };
  agent(0, "a1");
  agent(1, "b1");
  // No IPv4 address on either side: whatever they find came over ff02::fb.
  const bool met = eventually([&] { return both_alive(rpcs, 2); }, 15s);
  INFO(a.log_of("a1") << "\n----\n" << a.log_of("b1"));
  REQUIRE(met);
  CHECK(a.log_of("a1").find("interface veth0 has no IPv4 address: mDNS on IPv6 only") != std::string::npos);
  CHECK(a.log_of("a1").find("via ff02::fb on veth0") != std::string::npos);
  auto r = run({chorus_binary, "members", "-rpc-addr=" + rpcs[0]}, 10s);
  INFO(r.out << r.err);
  CHECK(r.out.find("b1  [fd00:202::2]:7946  alive") != std::string::npos);
}

TEST_CASE("chorus and Debian serf find each other with -discover in both directions", "[netns][mdns][interop]") {
  veth_pair link("mx");
  enter_ns in(link.side[0]);
  agents a("netns-mdns-serf");
  const std::vector<std::string> rpcs{veth_pair::ip(0) + ":7373", veth_pair::ip(1) + ":7373"};
  auto serf = [&](const std::string& name) {
    a.start(link.side[1], name,
            {serf_binary, "agent", "-node=" + name, "-bind=" + veth_pair::ip(1) + ":7946",
             "-rpc-addr=" + veth_pair::ip(1) + ":7373", "-discover=mix", "-log-level=debug"},
            rpcs[1]);
  };

  // 1. serf is up first; chorus's browse finds it (chorus reads serf's answer).
  serf("s1");
  a.chorus(link.side[0], "c1", veth_pair::ip(0), {"-discover=mix"});
  bool met = eventually([&] { return both_alive(rpcs, 2); }, 20s);
  INFO(a.log_of("c1") << "\n----\n" << a.log_of("s1"));
  REQUIRE(met);
  CHECK(a.log_of("c1").find("agent.mdns: Joined 1 hosts") != std::string::npos);

  // 2. A new serf agent starts after chorus: serf's first browse finds chorus
  // (serf reads chorus's answer). chorus already joined this address once and
  // does not join it again by mDNS, so the join is serf's.
  a.kill9("s1");
  serf("s2");
  met = eventually([&] { return status_of(rpcs[1], "c1") == "alive" && status_of(rpcs[0], "s2") == "alive"; }, 20s);
  INFO(a.log_of("s2"));
  CHECK(met);
  // c1 may reach s2 first by gossip (s2 took over s1's address), so serf's
  // own mDNS join can still be under way: wait for its log line.
  CHECK(eventually([&] { return a.log_of("s2").find("agent.mdns: Joined") != std::string::npos; },
                   10s));  // serf counts itself too
}

TEST_CASE("two agents bound to [::1] on different ports join and see each other", "[netns][ipv6]") {
  namespaces ns;
  const std::string n = ns.add("chnf6" + std::to_string(getpid() % 100000));
  enter_ns in(n);
  agents a("netns-ipv6");
  a.start(n, "v1", {chorus_binary, "agent", "-node=v1", "-bind=[::1]:7946", "-rpc-addr=[::1]:7373", "-log-level=debug"},
          "[::1]:7373");
  a.start(n, "v2",
          {chorus_binary, "agent", "-node=v2", "-bind=[::1]:7947", "-rpc-addr=[::1]:7374", "-join=[::1]:7946",
           "-log-level=debug"},
          "[::1]:7374");
  const bool met = eventually([&] { return both_alive({"[::1]:7373", "[::1]:7374"}, 2); }, 15s);
  INFO(a.log_of("v1") << "\n----\n" << a.log_of("v2"));
  REQUIRE(met);
  auto r = run({chorus_binary, "members", "-rpc-addr=[::1]:7373"}, 10s);
  INFO(r.out << r.err);
  CHECK(r.out.find("[::1]:7947") != std::string::npos);
  CHECK(r.out.find("[::1]:7946") != std::string::npos);
}

TEST_CASE("a host name is accepted as -advertise and -join and resolved", "[netns][advertise]") {
  namespaces ns;
  const std::string n = ns.add("chnfh" + std::to_string(getpid() % 100000));
  // `ip netns exec` bind-mounts /etc/netns/NS/hosts over /etc/hosts.
  fs::create_directories("/etc/netns/" + n);
  std::ofstream("/etc/netns/" + n + "/hosts") << "127.0.0.1 localhost\n127.77.0.1 gossip-one.test\n"
                                                 "127.77.0.2 gossip-two.test\n";
  enter_ns in(n);
  agents a("netns-advertise");
  auto agent = [&](const std::string& name, const std::string& ip, const std::vector<std::string>& flags,
                   bool wait = true) { a.chorus_exec(n, name, ip, flags, wait); };
  agent("h1", "127.77.0.1", {"-advertise=gossip-one.test"});
  agent("h2", "127.77.0.2", {"-advertise=gossip-two.test:7946", "-join=gossip-one.test"});
  const bool met = eventually([&] { return both_alive({"127.77.0.1:7373", "127.77.0.2:7373"}, 2); }, 15s);
  INFO(a.log_of("h1") << "\n----\n" << a.log_of("h2"));
  REQUIRE(met);
  auto r = run({chorus_binary, "members", "-rpc-addr=127.77.0.2:7373"}, 10s);
  INFO(r.out);
  CHECK(r.out.find("h1  127.77.0.1:7946  alive") != std::string::npos);
  CHECK(r.out.find("h2  127.77.0.2:7946  alive") != std::string::npos);
  // A name that does not resolve fails fast and says so.
  agent("h3", "127.77.0.3", {"-advertise=nowhere.invalid"}, false);
  CHECK(a.wait_exit("h3", 15s) == 1);
  CHECK(a.log_of("h3").find("Failed to resolve advertise address 'nowhere.invalid'") != std::string::npos);
}
