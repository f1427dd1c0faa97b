// CLI11 registration of the RPC client subcommands. Only flag wiring lives
// here (CLI11 is slow to compile); the work is in cmd_*.cpp. Flags are Serf's,
// and dashes.cpp lets users write them with one dash as Serf does.
#include "cli/rpc_commands.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.hpp"

namespace chorus::cli {

namespace {

// The flags every RPC subcommand takes.
void add_rpc_flags(CLI::App* sub, rpc_target& t) {
  t.address = default_rpc_address();
  t.auth = default_rpc_auth();
  sub->add_option("--rpc-addr", t.address,
                  "RPC address of the agent, host:port (default: $CHORUS_RPC_ADDR, else $SERF_RPC_ADDR, "
                  "else 127.0.0.1:7373)");
  sub->add_option("--rpc-auth", t.auth, "RPC auth token of the agent (default: $CHORUS_RPC_AUTH, else $SERF_RPC_AUTH)");
}

// Runs a command and maps its result to the exit code, printing the usage
// (to stdout, as Serf does) when the command asks for it.
void finish(CLI::App* sub, int& rc, int result) {
  if (result == show_usage) {
    const std::string help = sub->help();
    std::fwrite(help.data(), 1, help.size(), stdout);
    rc = 1;
    return;
  }
  rc = result;
}

// Where a command's options keep the agent's address: `leave` has nothing else.
rpc_target& target_of(rpc_target& t) { return t; }
template <class Options>
rpc_target& target_of(Options& o) {
  return o.rpc;
}

// A subcommand with its description, the RPC flags, if given a footer (an
// example, notes) for --help, and `run(options)` as its action. `options`
// must outlive parsing (see bound_options).
template <class Options>
CLI::App* add_command(CLI::App& app, int& rc, const std::string& name, const std::string& description, Options& options,
                      int (*run)(const Options&), const std::string& footer = {}) {
  auto* s = app.add_subcommand(name, description);
  if (!footer.empty()) s->footer(footer);
  add_rpc_flags(s, target_of(options));
  s->callback([s, &rc, &options, run] { finish(s, rc, run(options)); });
  return s;
}

// A repeatable flag taking one value per occurrence (`-tag a=b -tag c=d`).
CLI::Option* add_repeated(CLI::App* sub, const std::string& name, std::vector<std::string>& v,
                          const std::string& help) {
  return sub->add_option(name, v, help)->allow_extra_args(false)->type_size(1);
}

// Serf ignores stray arguments to the commands that take none; so do we.
void ignore_arguments(CLI::App* sub) {
  static std::vector<std::string> ignored;
  sub->add_option("ignored", ignored, "")->group("");
}

// What the flags are bound to: it must outlive parsing, so add_rpc_commands
// keeps it in a static (there is one parse per process).
struct bound_options {
  members_options members;
  join_options join;
  rpc_target leave;
  force_leave_options force_leave;
  event_options event;
  query_options query;
  reachability_options reach;
  rtt_options rtt;
  tags_options tags;
  info_options info;
  monitor_options monitor;
  keys_options keys;
};

// --- one function per group of commands, in the order --help lists them ---

void add_membership_commands(CLI::App& app, int& rc, bound_options& o) {
  auto* s =
      add_command(app, rc, "members", "List the members of the cluster as the agent sees them", o.members, run_members,
                  "Filters are regular expressions the agent anchors as ^EXPR$ (without grouping: 'web|db' "
                  "means '^web' or 'db$').\nText: NAME  IP:PORT  STATUS  TAGS, one member per line.\n"
                  "Example: chorus members -status=alive -tag role=web -format=json");
  s->add_flag("--detailed", o.members.detailed, "Also show the Serf protocol version and range of each member");
  s->add_option("--format", o.members.format, "Output format: text (default) or json");
  s->add_option("--name", o.members.name, "Only members whose name matches this regexp");
  s->add_option("--status", o.members.status, "Only members whose status (alive, leaving, left, failed) matches");
  add_repeated(s, "--tag", o.members.tags, "KEY=REGEXP: only members whose tag KEY matches (repeatable)");
  s->add_option("--role", o.members.role, "Deprecated: same as -tag role=REGEXP");
  s->add_option("--near", o.members.near,
                "chorus: sort by estimated round-trip time from this node; -format=json then includes each "
                "member's coordinate and estimated_rtt_ms");
  ignore_arguments(s);

  s = add_command(app, rc, "join", "Tell the agent to join a cluster through one or more existing members", o.join,
                  run_join,
                  "ADDRESS is host, host:port or name/host:port; the agent resolves host names to every address.\n"
                  "chorus: srv:NAME joins every target of the DNS SRV records of NAME.\n"
                  "Example: chorus join 10.0.0.5 node7.example.com:7946");
  s->add_flag("--replay", o.join.replay, "Replay past user events to this agent's handlers");
  s->add_option("address", o.join.args, "Address of an existing member (one or more)");

  s = add_command(app, rc, "leave", "Make the agent leave the cluster gracefully and shut down", o.leave, run_leave,
                  "Example: chorus leave -rpc-addr=10.0.0.5:7373");
  ignore_arguments(s);

  s = add_command(app, rc, "force-leave", "Force a failed member into the 'left' state", o.force_leave, run_force_leave,
                  "A member that is actually alive will rejoin. With -prune it is also removed from the member "
                  "list.\nExample: chorus force-leave -prune node7");
  s->add_flag("--prune", o.force_leave.prune, "Remove the member from the list right away");
  s->add_option("node", o.force_leave.args, "Name of the member");
}

void add_event_and_query_commands(CLI::App& app, int& rc, bound_options& o) {
  auto* s = add_command(app, rc, "event", "Send a custom user event through the cluster", o.event, run_event,
                        "Example: chorus event -coalesce=false deploy v1.2.3");
  s->add_flag("--coalesce", o.event.coalesce,
              "Whether repeated events of this name within a short time may be coalesced (default true; "
              "-coalesce=false to disable)");
  s->add_option("args", o.event.args, "NAME [PAYLOAD]");

  s = add_command(app, rc, "query", "Send a query to the cluster and print the acknowledgements and responses", o.query,
                  run_query, "Example: chorus query -tag role=web -timeout=2s uptime");
  add_repeated(s, "--node", o.query.nodes, "Only this node should respond (repeatable)");
  add_repeated(s, "--tag", o.query.tags, "KEY=REGEXP: only nodes whose tag matches should respond (repeatable)");
  auto* timeout = s->add_option("--timeout", o.query.timeout,
                                "How long to wait for responses (Go duration, e.g. 2s); 0 = agent's default");
  s->add_flag("--no-ack", o.query.no_ack, "Do not ask the nodes for acknowledgements");
  s->add_option("--relay-factor", o.query.relay_factor,
                "Number of extra nodes each response is relayed through (0-255)");
  s->add_option("--format", o.query.format, "Output format: text (default) or json");
  s->add_option("args", o.query.args, "NAME [PAYLOAD]");
  // Replaces add_command's callback: `-timeout=` (given, empty) is an error
  // while a missing -timeout means the agent's default, and only CLI11 knows
  // which happened.
  s->callback([s, timeout, &rc, &query = o.query] {
    query.timeout_given = timeout->count() > 0;
    finish(s, rc, run_query(query));
  });

  s = add_command(app, rc, "reachability", "Test that every live member answers a ping query", o.reach,
                  run_reachability,
                  "Exit 1 when a live member did not acknowledge.\nExample: chorus reachability -verbose");
  s->add_flag("--verbose", o.reach.verbose, "Print each acknowledgement and the timings");
}

void add_agent_state_commands(CLI::App& app, int& rc, bound_options& o) {
  auto* s =
      add_command(app, rc, "rtt", "Estimate the round-trip time between nodes from network coordinates", o.rtt, run_rtt,
                  "With one node, the other is the agent itself. -matrix prints every pair of the listed "
                  "nodes (all live members if none), in milliseconds.\nExample: chorus rtt node1 node2");
  s->add_flag("--matrix", o.rtt.matrix, "chorus: print a matrix of estimated RTTs");
  s->add_option("nodes", o.rtt.args, "NODE1 [NODE2]");

  s = add_command(app, rc, "tags", "Set or delete tags of the agent (gossiped to the cluster)", o.tags, run_tags,
                  "Example: chorus tags -set role=web -delete dc");
  add_repeated(s, "--set", o.tags.set, "KEY=VALUE: create or change a tag (repeatable)");
  add_repeated(s, "--delete", o.tags.del, "KEY: remove a tag (repeatable)");

  s = add_command(app, rc, "info",
                  "Show the agent's name, runtime, Serf counters, tags and event handlers; a chorus "
                  "agent adds its metrics and why members are suspect or failed",
                  o.info, run_info, "Example: chorus info -format=json");
  s->add_option("--format", o.info.format, "Output format: text (default) or json");
  ignore_arguments(s);

  s = add_command(app, rc, "monitor", "Stream the agent's log lines and events until interrupted", o.monitor,
                  run_monitor, "Runs until interrupted (Ctrl-C, exit 0).\nExample: chorus monitor -log-level=debug");
  s->add_option("--log-level", o.monitor.log_level, "Minimum level: trace, debug, info (default), warn, err");
}

void add_key_commands(CLI::App& app, int& rc, bound_options& o) {
  auto* s = add_command(app, rc, "keys", "Manage the cluster's gossip encryption keyring", o.keys, run_keys,
                        "Exactly one action. Changes are sent to every member; exit 1 if any member fails or does "
                        "not answer.\nExample: chorus keys -install=$(chorus keygen)");
  s->add_option("--install", o.keys.install, "Install a new key (base64) on every member");
  s->add_option("--use", o.keys.use, "Make an installed key the primary key everywhere");
  s->add_option("--remove", o.keys.remove, "Remove a key (not the primary) from every member");
  s->add_flag("--list", o.keys.list, "List every key in the cluster and how many members have it");

  // keygen talks to no agent: no RPC flags.
  s = app.add_subcommand("keygen", "Print a new random 32-byte encryption key, base64-encoded");
  ignore_arguments(s);
  s->callback([&rc] { rc = run_keygen(); });
}

}  // namespace

void add_rpc_commands(CLI::App& app, int& rc) {
  static bound_options options;
  add_membership_commands(app, rc, options);
  add_event_and_query_commands(app, rc, options);
  add_agent_state_commands(app, rc, options);
  add_key_commands(app, rc, options);
}

}  // namespace chorus::cli
