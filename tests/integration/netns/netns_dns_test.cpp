// -retry-join resolves its host names again on every attempt, so a fleet
// restarted behind a DNS name finds itself. The name lives in the /etc/hosts
// of a network namespace the test creates (`chdns...`): `ip netns exec`
// bind-mounts /etc/netns/NS/hosts (and resolv.conf) over /etc/, and the test
// rewrites that file while the agent runs. The agents are the release
// binary, so this also checks that glibc's built-in `files` NSS module in a
// static binary reads /etc/hosts afresh on each lookup (no cache).
// Namespace, files and agents are removed whatever path the test takes.
#include <catch2/catch.hpp>

#include "integration/netns/netns_harness.hpp"

using namespace netns_test;

namespace {

// One namespace with its own hosts and resolv.conf; `resolv.conf` names a
// server nobody runs, so a name missing from hosts fails at once.
struct dns_ns {
  namespaces ns;
  std::string name;
  std::string dir;
  explicit dns_ns(const std::string& tag)
      : name(ns.add("chdns" + tag + std::to_string(getpid() % 100000))), dir("/etc/netns/" + name) {
    fs::create_directories(dir);
    std::ofstream(dir + "/resolv.conf") << "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
    write_hosts("");
  }
  // In place (same inode): an agent's /etc/hosts is a bind mount of this very
  // file, so a new file renamed over it would never be seen.
  void write_hosts(const std::string& lines) const {
    std::ofstream(dir + "/hosts", std::ios::trunc) << "127.0.0.1 localhost\n" << lines;
  }
};

// `chorus agent` in the test's namespace, seeing its /etc/hosts.
void start(agents& a, const dns_ns& d, const std::string& name, const std::string& ip,
           const std::vector<std::string>& flags, bool wait = true) {
  a.chorus_exec(d.name, name, ip, flags, wait);
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

// Both agents list two alive members, over RPC and in `chorus members`.
void require_joined(agents& a, const std::string& a_rpc, const std::string& b_rpc) {
  const auto t0 = std::chrono::steady_clock::now();
  const bool met =
      eventually([&] { return count_status(a_rpc, "alive") == 2 && count_status(b_rpc, "alive") == 2; }, 15s);
  INFO(a.log_of("a") << "\n----\n" << a.log_of("b"));
  REQUIRE(met);
  WARN("joined " << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count()
                 << " ms after the hosts file changed");
  for (const auto& rpc : {a_rpc, b_rpc}) {
    const auto r = run({chorus_binary, "members", "-rpc-addr=" + rpc, "-status=alive"}, 10s);
    INFO(r.out << r.err);
    CHECK(lines(r.out).size() == 2);
    CHECK(r.out.find("a  127.0.0.2:7946  alive") != std::string::npos);
    CHECK(r.out.find("b  127.0.0.3:7946  alive") != std::string::npos);
  }
}

}  // namespace

TEST_CASE("an agent with -retry-join NAME follows the name to a new address on a later attempt", "[netns][dns]") {
  dns_ns d("m");
  // Nobody listens on 127.0.0.9.
  d.write_hosts("127.0.0.9 seeds.test\n");
  enter_ns in(d.name);
  agents a("netns-dns-moved");
  start(a, d, "b", "127.0.0.3", {"-retry-join=seeds.test", "-retry-interval=1s"});
  start(a, d, "a", "127.0.0.2", {});
  // B resolved the name to the dead address and failed at least once.
  const bool failed = eventually([&] { return a.log_of("b").find("agent: Join failed:") != std::string::npos; }, 10s);
  INFO(a.log_of("b"));
  REQUIRE(failed);
  CHECK(a.log_of("b").find("127.0.0.9:7946") != std::string::npos);
  REQUIRE(count_status("127.0.0.3:7373", "alive") == 1);

  d.write_hosts("127.0.0.2 seeds.test\n");
  require_joined(a, "127.0.0.2:7373", "127.0.0.3:7373");
  const auto log = a.log_of("b");
  INFO(log);
  CHECK(log.find("agent: Join completed. Synced with 1 initial agents") != std::string::npos);
  CHECK(count(log, "agent: Joining cluster... (attempt") >= 2);
  CHECK(a.running("b"));
}

TEST_CASE("an agent with -retry-join NAME keeps trying while the name does not resolve and joins once it does",
          "[netns][dns]") {
  dns_ns d("n");
  enter_ns in(d.name);
  agents a("netns-dns-missing");
  start(a, d, "b", "127.0.0.3", {"-retry-join=seeds.test", "-retry-interval=1s"});
  start(a, d, "a", "127.0.0.2", {});
  // Two failed lookups: a resolution failure is logged and retried, not fatal.
  const bool failed =
      eventually([&] { return count(a.log_of("b"), "Failed to resolve seeds.test: lookup seeds.test") >= 2; }, 10s);
  INFO(a.log_of("b"));
  REQUIRE(failed);
  REQUIRE(a.running("b"));

  d.write_hosts("127.0.0.2 seeds.test\n");
  require_joined(a, "127.0.0.2:7373", "127.0.0.3:7373");
  CHECK(a.running("b"));
}

TEST_CASE("a name that never resolves: -retry-max gives up after N attempts, -join exits at once", "[netns][dns]") {
  dns_ns d("x");
  enter_ns in(d.name);
  agents a("netns-dns-never");
  start(a, d, "r", "127.0.0.4", {"-retry-join=seeds.test", "-retry-interval=1s", "-retry-max=3"}, false);
  // Attempts at 0, 1 and 2 s, then exit 1.
  CHECK(a.wait_exit("r", 15s) == 1);
  const auto r = a.log_of("r");
  INFO(r);
  CHECK(count(r, "Failed to resolve seeds.test") == 3);
  CHECK(r.find("agent: Joining cluster... (attempt 3)") != std::string::npos);
  CHECK(r.find("max join retry exhausted") != std::string::npos);

  start(a, d, "j", "127.0.0.5", {"-join=seeds.test"}, false);
  CHECK(a.wait_exit("j", 15s) == 1);
  const auto j = a.log_of("j");
  INFO(j);
  CHECK(j.find("==> Failed to join: 1 error occurred:\n\t* Failed to resolve seeds.test: lookup seeds.test") !=
        std::string::npos);
}
