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
#include <string>
#include <vector>

#include "agent/config.hpp"
#include "agent/daemon.hpp"

namespace chorus::cli {

void add_agent_command(CLI::App& app, int& rc) {
  auto* sub = app.add_subcommand("agent", "Run a chorus agent (Serf 0.9 compatible)");
  struct state {
    agent::agent_flags f;
    std::map<std::string, std::string> values;
    std::map<std::string, CLI::Option*> opts;
  };
  auto st = std::make_shared<state>();
  auto str = [&](const char* name, const char* help) {
    st->opts[name] = sub->add_option(std::string("--") + name, st->values[name], help)->type_size(1);
  };
  str("node", "Name of this node, unique in the cluster (default, also for -node=: host name)");
  str("role", "Role of this node (deprecated: use -tag role=...)");
  str("bind", "Address to bind gossip to, ADDR[:PORT] (default 0.0.0.0:7946)");
  str("advertise", "Address to advertise to other members, ADDR[:PORT]; a host name is resolved");
  str("iface", "Network interface to bind to (instead of -bind's address)");
  str("rpc-addr", "Address of the RPC server (default 127.0.0.1:7373)");
  str("rpc-auth", "RPC auth token clients must present (not empty)");
  str("encrypt", "Base64 32-byte key encrypting gossip (serf keygen / chorus keygen; not empty)");
  str("keyring-file", "JSON file of base64 keys (primary first); incompatible with -encrypt");
  str("tags-file", "JSON file holding the tags, rewritten when tags change");
  str("profile", "Timing profile: lan (default), wan or local");
  str("snapshot", "Snapshot file (Serf's format): clocks, members and coordinate survive a restart");
  str("log-level", "trace, debug, info (default), warn or err");
  str("protocol", "Serf protocol version to speak, 2-5 (default 5)");
  str("retry-interval", "Time between -retry-join attempts (default 30s, min 1s)");
  str("retry-max", "Maximum -retry-join attempts (0 = unlimited)");
  str("broadcast-timeout", "Time to wait for a leave/intent broadcast (default 5s, min 1s)");
  str("reconnect-interval", "How often to try reconnecting to failed members (default 30s)");
  str("reconnect-timeout", "How long a failed member is remembered (default 24h)");
  str("tombstone-timeout", "How long a left member is remembered (default 24h)");
  str("discover", "mDNS cluster name: advertise _serf_NAME._tcp and join the agents found");
  str("label", "Cluster label: traffic with another or no label is refused (not understood by Serf 0.9.4)");
  str("metrics-addr", "Serve Prometheus metrics at http://HOST:PORT/metrics (default: off)");
  sub->add_option("--join", st->f.join, "Address of an agent to join at start-up (repeatable)")->type_size(1);
  sub->add_option("--retry-join", st->f.retry_join, "Address to join, retried until it succeeds (repeatable)")
      ->type_size(1);
  sub->add_option("--tag", st->f.tags, "Tag KEY=VALUE (repeatable)")->type_size(1);
  sub->add_option("--event-handler", st->f.event_handlers, "Event handler script [FILTER=]SCRIPT (repeatable)")
      ->type_size(1);
  sub->add_option("--config-file", st->f.config_files, "JSON configuration file (repeatable)")->type_size(1);
  sub->add_option("--config-dir", st->f.config_dirs, "Directory of *.json configuration files (repeatable)")
      ->type_size(1);
  sub->add_flag("--replay", st->f.replay, "Replay past user events when joining");
  sub->add_flag("--rejoin", st->f.rejoin, "Rejoin the cluster from the snapshot even after a leave");
  sub->add_flag("--disable-compression", st->f.disable_compression, "Do not compress gossip messages");
  sub->add_flag("--syslog", st->f.syslog, "Also log to syslog (accepted; not implemented yet)");
  sub->add_flag("--leave-on-terminate", st->f.leave_on_terminate, "Leave gracefully on SIGTERM");
  sub->add_flag("--skip-leave-on-interrupt", st->f.skip_leave_on_interrupt, "Exit without leaving on SIGINT");

  sub->callback([st, &rc] {
    auto& f = st->f;
    const auto empty_value = [&]() -> std::string {
      for (const char* name : {"encrypt", "rpc-auth"})
        if (st->opts[name]->count() > 0 && st->values[name].empty())
          return std::string("-") + name + "= is empty: give a value, or leave the flag out to run without " +
                 (std::string(name) == "encrypt" ? "gossip encryption" : "an RPC auth token");
      const std::pair<const char*, const std::vector<std::string>*> lists[] = {{"join", &f.join},
                                                                               {"retry-join", &f.retry_join},
                                                                               {"tag", &f.tags},
                                                                               {"event-handler", &f.event_handlers},
                                                                               {"config-file", &f.config_files},
                                                                               {"config-dir", &f.config_dirs}};
      for (const auto& [name, values] : lists)
        for (const auto& v : *values)
          if (v.empty()) return std::string("-") + name + "= is empty: give a value";
      return {};
    }();
    if (!empty_value.empty()) {
      std::printf("==> %s\n", empty_value.c_str());
      rc = 1;
      return;
    }
    // Numbers keep an empty value, which config.cpp refuses naming the flag
    // (Serf's integer flags fail the same way).
    auto take = [&](const char* name, std::optional<std::string>& out, bool empty_is_default = true) {
      if (st->opts[name]->count() > 0 && !(empty_is_default && st->values[name].empty())) out = st->values[name];
    };
    take("node", f.node);
    take("role", f.role);
    take("bind", f.bind);
    take("advertise", f.advertise);
    take("iface", f.iface);
    take("rpc-addr", f.rpc_addr);
    take("rpc-auth", f.rpc_auth);
    take("encrypt", f.encrypt);
    take("keyring-file", f.keyring_file);
    take("tags-file", f.tags_file);
    take("profile", f.profile);
    take("snapshot", f.snapshot);
    take("log-level", f.log_level);
    take("protocol", f.protocol, false);
    take("retry-interval", f.retry_interval);
    take("retry-max", f.retry_max, false);
    take("broadcast-timeout", f.broadcast_timeout);
    take("reconnect-interval", f.reconnect_interval);
    take("reconnect-timeout", f.reconnect_timeout);
    take("tombstone-timeout", f.tombstone_timeout);
    take("discover", f.discover);
    take("label", f.label);
    take("metrics-addr", f.metrics_addr);
    auto cfg = agent::load_config(f);
    if (!cfg.ok()) {
      std::printf("==> %s\n", cfg.error.c_str());
      rc = 1;
      return;
    }
    agent::daemon d(std::move(cfg.config));
    rc = d.run();
  });
}

}  // namespace chorus::cli
