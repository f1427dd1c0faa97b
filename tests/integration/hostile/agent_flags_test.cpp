// Issue 18, item 6: a flag with an empty value (`-node=`) must not take the
// next argument as its value, in `chorus agent` and in every RPC subcommand.
// Agents run on 127.80.6.x and are killed by PID; the CLI runs with a bound
// on its time. $CHORUS_RPC_ADDR points at an address nothing listens on, so
// a command whose -rpc-addr was swallowed fails instead of reaching some
// other agent.
#include <catch2/catch.hpp>

#include "integration/agent/agent_harness.hpp"

using namespace agent_test;

namespace {

const std::vector<std::string> no_default_agent{"CHORUS_RPC_ADDR=127.80.6.250:7373", "SERF_RPC_ADDR="};

// One `chorus agent` process with exactly the given arguments (not
// agent_argv's), killed by PID on destruction.
class agent_process {
 public:
  agent_process(std::vector<std::string> args, const std::string& log)
      : proc_(command(std::move(args)), log, fresh()) {}
  std::string log() const { return proc_.output(); }

 private:
  static std::vector<std::string> command(std::vector<std::string> args) {
    args.insert(args.begin(), chorus_binary);
    return args;
  }
  static spawn_options fresh() {
    spawn_options o;
    o.truncate_log = true;
    return o;
  }
  process proc_;
};

std::string host_name() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

// The members the agent at `rpc` reports: name -> "ip:port".
std::map<std::string, std::string> member_addresses(const std::string& rpc) {
  std::map<std::string, std::string> out;
  chorus::rpc::client c;
  if (!c.connect(rpc, "", 1s).empty()) return out;
  chorus::rpc::members_response r;
  if (!c.members(r).empty() || !r.members) return out;
  for (const auto& m : *r.members)
    if (m.addr.size() == 4)
      out[m.name] = std::to_string(m.addr[0]) + "." + std::to_string(m.addr[1]) + "." + std::to_string(m.addr[2]) +
                    "." + std::to_string(m.addr[3]) + ":" + std::to_string(m.port);
  return out;
}

bool rpc_up(const std::string& rpc) {
  return eventually(
      [&] {
        chorus::rpc::client c;
        return c.connect(rpc, "", 1s).empty();
      },
      15s);
}

}  // namespace

TEST_CASE("agent flags: -node= names the node after the host and -bind after it still applies", "[hostile][cli]") {
  temp_dir dir("hostile-flags");
  // One dash as Serf writes it, and two as CLI11 users might.
  for (const auto& [node_flag, ip] : {std::pair<std::string, std::string>{"-node=", "127.80.6.1"},
                                      std::pair<std::string, std::string>{"--node=", "127.80.6.2"}}) {
    const std::string rpc = ip + ":7373";
    agent_process a({"agent", node_flag, "-bind=" + ip + ":7999", "-rpc-addr=" + rpc}, dir.path() + "/" + ip + ".log");
    const bool up = rpc_up(rpc);
    INFO(node_flag << " -> " << a.log());
    REQUIRE(up);
    const auto members = member_addresses(rpc);
    REQUIRE(members.size() == 1);
    CHECK(members.begin()->first == host_name());
    CHECK(members.begin()->second == ip + ":7999");
    CHECK(stats_section(rpc, "agent")["name"] == host_name());
  }
}

TEST_CASE("agent flags: empty agent flags take their default or fail naming the flag", "[hostile][cli]") {
  temp_dir dir("hostile-flags");
  // Each empty flag comes before a harmless one that it could swallow.
  const std::string ip = "127.80.6.3";
  const std::vector<std::string> where{"-bind=" + ip + ":7999", "-rpc-addr=" + ip + ":7373"};
  for (const std::string flag : {"tag", "join", "retry-join", "event-handler", "config-file", "config-dir", "encrypt",
                                 "rpc-auth", "protocol", "retry-max"}) {
    std::vector<std::string> args{"agent"};
    args.insert(args.end(), where.begin(), where.end());
    args.push_back("-" + flag + "=");
    args.push_back("-log-level=debug");
    const auto r = run_chorus(args, 10s, no_default_agent);
    INFO("-" << flag << "=: exit " << r.exit_code << "\n" << r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK((r.out + r.err).find("-" + flag) != std::string::npos);
  }
  for (const std::string flag : {"replay", "rejoin", "disable-compression", "leave-on-terminate"}) {
    std::vector<std::string> args{"agent", "-" + flag + "="};
    args.insert(args.end(), where.begin(), where.end());
    const auto r = run_chorus(args, 10s, no_default_agent);
    INFO("-" << flag << "=: exit " << r.exit_code << "\n" << r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("-" + flag) != std::string::npos);
  }
  // String flags mean their default, as in Serf; what follows still applies.
  const std::string rpc = "127.80.6.4:7373";
  agent_process a({"agent", "-node=defaults1", "-log-level=", "-profile=", "-snapshot=", "-tags-file=", "-role=",
                   "-retry-interval=", "-advertise=", "-bind=127.80.6.4:7999", "-rpc-addr=" + rpc},
                  dir.path() + "/defaults.log");
  const bool up = rpc_up(rpc);
  INFO(a.log());
  REQUIRE(up);
  CHECK(member_addresses(rpc) == std::map<std::string, std::string>{{"defaults1", "127.80.6.4:7999"}});
}

TEST_CASE("agent flags: empty values in RPC subcommands are empty values, as in Serf", "[hostile][cli]") {
  temp_dir dir("hostile-flags");
  const std::string rpc = "127.80.6.5:7373";
  agent_process a({"agent", "-node=cli1", "-bind=127.80.6.5:7999", "-rpc-addr=" + rpc}, dir.path() + "/cli1.log");
  REQUIRE(rpc_up(rpc));
  const std::string at = "-rpc-addr=" + rpc;

  struct expectation {
    std::vector<std::string> args;
    int exit_code;
    std::string output;  // a substring of stdout + stderr
  };
  const std::vector<expectation> cases{
      {{"members", "-name=", at}, 0, "cli1"},  // empty filter: everyone
      {{"members", "-status=", at}, 0, "cli1"},
      {{"members", "-format=", at}, 1, "Invalid output format \"\""},
      {{"members", "-tag=", at}, 1, "Invalid tag: ''"},
      {{"members", "-detailed=", at}, 1, "-detailed"},
      {{"members", "-rpc-auth=", at}, 0, "cli1"},
      {{"info", "-format=", at}, 1, "Invalid output format \"\""},
      {{"rtt", "-rpc-auth=", at, "cli1"}, 0, "Estimated cli1 <-> cli1"},
      {{"query", "-timeout=", at, "q"}, 1, "invalid value \"\" for flag -timeout"},
      {{"query", "-relay-factor=", at, "q"}, 1, "relay-factor"},
      {{"query", "-format=", at, "-timeout=1s", "q"}, 1, "Invalid format: "},
      {{"query", "-node=", "-timeout=1s", at, "q"}, 0, "Total Responses: 0"},
      {{"event", "-coalesce=", at, "e"}, 1, "-coalesce"},
      {{"join", "-replay=", at, "127.80.6.5:7999"}, 1, "-replay"},
      {{"monitor", "-log-level=", at}, 1, "Unknown log level"},
      {{"tags", "-set=", at}, 1, "Invalid tag: ''"},
      {{"keys", "-install=", at}, 1, "Usage"},
      // Written without '=' and followed by another flag: the value is missing.
      {{"members", "-name", at}, 1, "-name"},
      {{"query", "-node", "-timeout=1s", at, "q"}, 1, "-node"},
  };
  for (const auto& c : cases) {
    const auto r = run_chorus(c.args, 20s, no_default_agent);
    std::string line;
    for (const auto& x : c.args) line += x + " ";
    INFO("chorus " << line << "-> exit " << r.exit_code << "\n" << r.out << r.err);
    CHECK(r.exit_code == c.exit_code);
    CHECK((r.out + r.err).find(c.output) != std::string::npos);
  }

  // An empty -rpc-addr is an address that does not work, not the default one
  // (here the default would reach the agent).
  const auto r = run_chorus({"members", "-rpc-addr="}, 10s, {"CHORUS_RPC_ADDR=" + rpc});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("missing address") != std::string::npos);
}
