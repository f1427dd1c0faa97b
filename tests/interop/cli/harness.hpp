#pragma once
// Test harness for the CLI interop tests, a thin layer over the shared
// process harness (support/) and the agent cluster
// (integration/agent/agent_harness.hpp): CLI commands run with a time bound
// and their output captured, and real agents (`serf agent`, or `chorus
// agent` with the same flags) on 127.60.0.x with an event handler that logs
// every event, killed by PID when the guard goes out of scope, whatever path
// the test takes.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include "integration/agent/agent_harness.hpp"
#include "rpc/client.hpp"
#include "support/agents.hpp"
#include "support/files.hpp"
#include "support/process.hpp"

namespace cli_interop {

using namespace test_support;

struct agent_spec {
  std::string name;
  std::string ip;                        // 127.60.0.x
  std::vector<std::string> tags;         // key=value
  std::vector<std::string> extra_flags;  // e.g. -encrypt=KEY, -config-file=F
};

// Up to a few real agents; the destructor kills every one it started.
class serf_cluster {
 public:
  serf_cluster() : agents_("cli-interop") {
    // The handler appends one line per event: node, event, name.
    std::ofstream h(handler());
    h << "#!/bin/sh\n"
         "echo \"$SERF_SELF_NAME $SERF_EVENT $SERF_USER_EVENT$SERF_QUERY_NAME\" >> \""
      << dir()
      << "/events.log\"\n"
         "if [ \"$SERF_EVENT\" = query ]; then echo \"reply from $SERF_SELF_NAME\"; fi\n";
    h.close();
    chmod(handler().c_str(), 0755);
  }

  const std::string& dir() const { return agents_.dir(); }
  std::string handler() const { return dir() + "/handler.sh"; }
  std::string events_log() const { return read_file(dir() + "/events.log"); }

  // Starts an agent and waits until its RPC port answers a handshake (and
  // `auth`, if set). Returns its name, which the other calls take.
  std::string start(const agent_spec& a, const std::string& auth = {}, const std::string& binary = serf_binary) {
    std::vector<std::string> flags{"-event-handler=" + handler(), "-log-level=debug"};
    for (const auto& t : a.tags) flags.push_back("-tag=" + t);
    flags.insert(flags.end(), a.extra_flags.begin(), a.extra_flags.end());
    agents_.start(binary, a.name, a.ip, flags, true, auth);
    return a.name;
  }

  // Kills one agent hard (for failure scenarios).
  void kill_agent(const std::string& name) { agents_.kill9(name); }
  // Waits for an agent that exits by itself (after `leave`).
  bool wait_exit(const std::string& name, std::chrono::milliseconds limit) {
    return agents_.wait_exit(name, limit) >= 0;
  }

  // The number of members with `status` as seen by the agent at `rpc`.
  static int count_status(const std::string& rpc, const std::string& status, const std::string& auth = {}) {
    chorus::rpc::client c;
    if (!c.connect(rpc, auth, 2s).empty()) return -1;
    chorus::rpc::members_response r;
    if (!c.members(r).empty() || !r.members) return -1;
    int n = 0;
    for (const auto& m : *r.members) n += m.status == status;
    return n;
  }

 private:
  agent_test::cluster agents_;
};

}  // namespace cli_interop
