// `chorus join NAME` where NAME resolves to three addresses joins all three
// (Serf's agent resolves a join address to every A/AAAA record). The name
// lives in /etc/hosts of a network namespace the test creates: `ip netns
// exec` bind-mounts /etc/netns/<ns>/hosts over /etc/hosts, so nothing on the
// host changes. The namespace, its files and every agent are removed at the
// end, whatever path the test takes.
#include <catch2/catch.hpp>
#include <deque>

#include "harness.hpp"

using namespace cli_interop;

namespace {

const std::string ip_binary = "/usr/sbin/ip";

class netns {
 public:
  explicit netns(std::string name) : name_(std::move(name)), etc_("/etc/netns/" + name_), dir_("cli-netns") {
    run({ip_binary, "netns", "del", name_});  // a leftover of a killed run
    const auto add = run({ip_binary, "netns", "add", name_});
    if (add.exit_code != 0) throw std::runtime_error("ip netns add failed: " + add.err);
    created_ = true;
    const auto up = exec({ip_binary, "link", "set", "lo", "up"});
    if (up.exit_code != 0) throw std::runtime_error("lo up failed: " + up.err);
    fs::create_directories(etc_);
  }
  ~netns() {
    agents_.clear();  // killed by PID before their namespace goes
    if (created_) run({ip_binary, "netns", "del", name_});
    std::error_code ec;
    fs::remove_all(etc_, ec);
  }
  netns(const netns&) = delete;
  netns& operator=(const netns&) = delete;

  void write_hosts(const std::string& content) { std::ofstream(etc_ + "/hosts") << content; }

  // Runs a command inside the namespace.
  run_result exec(std::vector<std::string> argv, std::chrono::milliseconds limit = 30s) {
    argv.insert(argv.begin(), {ip_binary, "netns", "exec", name_});
    return run(argv, limit);
  }

  // Starts a chorus agent inside the namespace (`ip netns exec` execs the
  // agent, so the PID is the agent's) and waits until its RPC answers.
  void start_agent(const std::string& node, const std::string& ip, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{ip_binary, "netns", "exec", name_};
    extra.insert(extra.begin(), "-log-level=debug");
    const auto agent = agent_argv(chorus_binary, node, ip, extra);
    argv.insert(argv.end(), agent.begin(), agent.end());
    const std::string log = dir_.path() + "/" + node + ".log";
    auto& p = agents_.emplace_back(argv, log);
    const auto members = [&] {
      return exec({chorus_binary, "members", "-rpc-addr=" + ip + ":7373"}, 5s).exit_code == 0;
    };
    if (!p.wait_ready(members, 15s)) throw std::runtime_error("agent " + node + " did not come up; see " + log);
  }

  // Members alive as the agent at `ip` sees them.
  int alive(const std::string& ip) {
    const auto r = exec({chorus_binary, "members", "-rpc-addr=" + ip + ":7373", "-status=alive"}, 5s);
    return r.exit_code == 0 ? static_cast<int>(lines(r.out).size()) : -1;
  }

 private:
  std::string name_, etc_;
  temp_dir dir_;
  bool created_ = false;
  std::deque<process> agents_;
};

}  // namespace

TEST_CASE("join NAME resolving to three addresses joins all three in a netns with its own /etc/hosts") {
  netns ns("chcli-join-" + std::to_string(getpid()));
  ns.write_hosts(
      "127.0.0.1 localhost\n"
      "127.0.0.2 chorus-seeds.test\n"
      "127.0.0.3 chorus-seeds.test\n"
      "127.0.0.4 chorus-seeds.test\n");
  ns.start_agent("seed1", "127.0.0.2");
  ns.start_agent("seed2", "127.0.0.3");
  ns.start_agent("seed3", "127.0.0.4");
  ns.start_agent("joiner", "127.0.0.5");
  REQUIRE(ns.alive("127.0.0.5") == 1);

  const auto j = ns.exec({chorus_binary, "join", "-rpc-addr=127.0.0.5:7373", "chorus-seeds.test"});
  INFO(j.out << j.err);
  CHECK(j.exit_code == 0);
  CHECK(j.out == "Successfully joined cluster by contacting 3 nodes.\n");
  CHECK(eventually([&] { return ns.alive("127.0.0.5") == 4; }, 20s));
  CHECK(eventually([&] { return ns.alive("127.0.0.2") == 4; }, 20s));

  // The same name at start-up: `chorus agent -join NAME`.
  ns.start_agent("late", "127.0.0.6", {"-join=chorus-seeds.test"});
  CHECK(eventually([&] { return ns.alive("127.0.0.6") == 5 && ns.alive("127.0.0.5") == 5; }, 20s));

  // A name that does not resolve: Serf's prefix, exit code 1.
  const auto bad = ns.exec({chorus_binary, "join", "-rpc-addr=127.0.0.5:7373", "no-such-name.test"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.out.rfind("Error joining the cluster: ", 0) == 0);
}
