// `chorus agent`: Serf's `serf agent` flags (serf-rpc.md section 5) mapped
// onto agent_flags; every check of the values lives in src/agent/config.cpp.
//
// Empty values (`-node=`, see dashes.hpp): as in Serf, an empty string flag
// counts as not given, so its default (or the config file's value) applies:
// `-node=` names the node after the host. Two exceptions fail instead,
// because running without what was asked for would be silent and unsafe:
// `-encrypt=` (Serf would gossip in clear text) and `-rpc-auth=` (the RPC
// would take commands without a token). A repeatable flag with an empty
// value (`-join=`, `-tag=`, ...) fails too, naming the flag; Serf fails on
// most of them as well, later and less clearly. So do the numbers
// (`-protocol=`, `-retry-max=`), as in Serf.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/config.hpp"
#include "agent/daemon.hpp"

namespace chorus::cli {

namespace {

using agent::agent_flags;
using F = agent_flags;  // short, so that each flag below is one row of its table

// The flags taking one string. An empty value counts as not given, except
// for the numbers: they keep it, and config.cpp refuses it naming the flag
// (Serf's integer flags fail the same way).
struct string_flag {
  const char* name;
  std::optional<std::string> agent_flags::*field;
  const char* help;
  bool empty_is_default = true;
};

// The repeatable flags, one value per occurrence; an empty one is refused.
struct list_flag {
  const char* name;
  std::vector<std::string> agent_flags::*field;
  const char* help;
};

// In the order --help lists them.
const string_flag string_flags[] = {
    {"node", &F::node, "Name of this node, unique in the cluster (default, also for -node=: host name)"},
    {"role", &F::role, "Role of this node (deprecated: use -tag role=...)"},
    {"bind", &F::bind, "Address to bind gossip to, ADDR[:PORT] (default 0.0.0.0:7946)"},
    {"advertise", &F::advertise, "Address to advertise to other members, ADDR[:PORT]; a host name is resolved"},
    {"iface", &F::iface, "Network interface to bind to (instead of -bind's address)"},
    {"rpc-addr", &F::rpc_addr, "Address of the RPC server (default 127.0.0.1:7373)"},
    {"rpc-auth", &F::rpc_auth, "RPC auth token clients must present (not empty)"},
    {"encrypt", &F::encrypt, "Base64 32-byte key encrypting gossip (serf keygen / chorus keygen; not empty)"},
    {"keyring-file", &F::keyring_file, "JSON file of base64 keys (primary first); incompatible with -encrypt"},
    {"tags-file", &F::tags_file, "JSON file holding the tags, rewritten when tags change"},
    {"profile", &F::profile, "Timing profile: lan (default), wan or local"},
    {"snapshot", &F::snapshot, "Snapshot file (Serf's format): clocks, members and coordinate survive a restart"},
    {"log-level", &F::log_level, "trace, debug, info (default), warn or err"},
    {"protocol", &F::protocol, "Serf protocol version to speak, 2-5 (default 5)", false},
    {"retry-interval", &F::retry_interval, "Time between -retry-join attempts (default 30s, min 1s)"},
    {"retry-max", &F::retry_max, "Maximum -retry-join attempts (0 = unlimited)", false},
    {"broadcast-timeout", &F::broadcast_timeout, "Time to wait for a leave/intent broadcast (default 5s, min 1s)"},
    {"reconnect-interval", &F::reconnect_interval, "How often to try reconnecting to failed members (default 30s)"},
    {"reconnect-timeout", &F::reconnect_timeout, "How long a failed member is remembered (default 24h)"},
    {"tombstone-timeout", &F::tombstone_timeout, "How long a left member is remembered (default 24h)"},
    {"discover", &F::discover, "mDNS cluster name: advertise _serf_NAME._tcp and join the agents found"},
    {"mdns-iface", &F::mdns_iface,
     "Network interface for -discover's mDNS, IPv4 and IPv6 (default: -iface, else the kernel's choice)"},
    {"label", &F::label, "Cluster label: traffic with another or no label is refused (not understood by Serf 0.9.4)"},
    {"metrics-addr", &F::metrics_addr, "Serve Prometheus metrics at http://HOST:PORT/metrics (default: off)"},
    {"http-addr", &F::http_addr,
     "Serve the HTTP/JSON API (docs/http.md) at [HOST:]PORT; no host = 127.0.0.1 (default: off)"},
    {"confirmed-suspicion-floor", &F::confirmed_suspicion_floor,
     "Timeout of a suspicion all Lifeguard confirmations agree on, x memberlist's minimum (default 0.4; 1 = "
     "memberlist/Serf)",
     false},
};

const list_flag list_flags[] = {
    {"join", &F::join,
     "Address of an agent to join at start-up, or srv:NAME for every DNS SRV target of NAME (repeatable)"},
    {"retry-join", &F::retry_join,
     "Address (or srv:NAME) to join, retried and re-resolved until it succeeds (repeatable)"},
    {"tag", &F::tags, "Tag KEY=VALUE (repeatable)"},
    {"event-handler", &F::event_handlers, "Event handler script [FILTER=]SCRIPT (repeatable)"},
    {"config-file", &F::config_files, "JSON configuration file (repeatable)"},
    {"config-dir", &F::config_dirs, "Directory of *.json configuration files (repeatable)"},
    {"allowed-cidrs", &F::allowed_cidrs,
     "Accept gossip (UDP, TCP) only from these networks, CIDR[,CIDR...] (repeatable; default: all)"},
};

// What CLI11 fills in. The string flags go through `values` rather than
// straight into agent_flags so that "given empty" and "not given" stay
// apart until the callback decides between them.
struct parsed_flags {
  agent_flags f;
  std::map<std::string, std::string> values;
  std::map<std::string, CLI::Option*> opts;

  bool given(const char* name) const { return opts.at(name)->count() > 0; }
};

void add_switches(CLI::App* sub, agent_flags& f) {
  sub->add_flag("--replay", f.replay, "Replay past user events when joining");
  sub->add_flag("--rejoin", f.rejoin, "Rejoin the cluster from the snapshot even after a leave");
  sub->add_flag("--disable-compression", f.disable_compression, "Do not compress gossip messages");
  sub->add_flag("--syslog", f.syslog, "Also log to syslog (accepted; not implemented yet)");
  sub->add_flag("--leave-on-terminate", f.leave_on_terminate, "Leave gracefully on SIGTERM");
  sub->add_flag("--skip-leave-on-interrupt", f.skip_leave_on_interrupt, "Exit without leaving on SIGINT");
  sub->add_flag("--purge-left-members", f.purge_left_members,
                "Drop left members from the gossip table like dead ones (memberlist 0.3+)");
  sub->add_flag("--validate-node-names", f.validate_node_names,
                "Refuse members (and this node) not named 1-128 characters of A-Z a-z 0-9 . - (Serf 0.10)");
}

// The empty values refused outright (see the top of this file); "" if none.
std::string empty_value_error(const parsed_flags& p) {
  for (const char* name : {"encrypt", "rpc-auth"})
    if (p.given(name) && p.values.at(name).empty())
      return std::string("-") + name + "= is empty: give a value, or leave the flag out to run without " +
             (std::string(name) == "encrypt" ? "gossip encryption" : "an RPC auth token");
  for (const auto& l : list_flags)
    for (const auto& v : p.f.*l.field)
      if (v.empty()) return std::string("-") + l.name + "= is empty: give a value";
  return {};
}

// The callback: checks, configuration, then the daemon until it exits.
int run_agent(parsed_flags& p) {
  if (const auto e = empty_value_error(p); !e.empty()) {
    std::printf("==> %s\n", e.c_str());
    return 1;
  }
  for (const auto& s : string_flags)
    if (p.given(s.name) && !(s.empty_is_default && p.values.at(s.name).empty())) p.f.*s.field = p.values.at(s.name);
  auto cfg = agent::load_config(p.f);
  if (!cfg.ok()) {
    std::printf("==> %s\n", cfg.error.c_str());
    return 1;
  }
  agent::daemon d(std::move(cfg.config));
  return d.run();
}

}  // namespace

void add_agent_command(CLI::App& app, int& rc) {
  auto* sub = app.add_subcommand("agent", "Run a chorus agent (Serf 0.9 compatible)");
  // Shared with the callback, which runs after this function has returned.
  auto p = std::make_shared<parsed_flags>();
  for (const auto& s : string_flags)
    p->opts[s.name] = sub->add_option(std::string("--") + s.name, p->values[s.name], s.help)->type_size(1);
  for (const auto& l : list_flags) sub->add_option(std::string("--") + l.name, p->f.*l.field, l.help)->type_size(1);
  add_switches(sub, p->f);
  sub->callback([p, &rc] { rc = run_agent(*p); });
}

}  // namespace chorus::cli
