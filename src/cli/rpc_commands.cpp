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

// A subcommand with its description, the RPC flags and, if given, a footer
// (an example, notes) for --help.
CLI::App* add_command(CLI::App& app, const std::string& name, const std::string& description, rpc_target& rpc,
                      const std::string& footer = {}) {
  auto* s = app.add_subcommand(name, description);
  if (!footer.empty()) s->footer(footer);
  add_rpc_flags(s, rpc);
  return s;
}

// A repeatable flag taking one value per occurrence (`-tag a=b -tag c=d`).
CLI::Option* add_repeated(CLI::App* sub, const std::string& name, std::vector<std::string>& v,
                          const std::string& help) {
  return sub->add_option(name, v, help)->allow_extra_args(false)->type_size(1);
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

}  // namespace

void add_rpc_commands(CLI::App& app, int& rc) {
  // Bound variables must outlive parsing; there is one parse per process.
  static members_options members;
  static join_options join;
  static rpc_target leave;
  static force_leave_options force_leave;
  static event_options event;
  static query_options query;
  static reachability_options reach;
  static rtt_options rtt;
  static tags_options tags;
  static info_options info;
  static monitor_options monitor;
  static keys_options keys;
  static std::vector<std::string> ignored;

  {
    auto* s =
        add_command(app, "members", "List the members of the cluster as the agent sees them", members.rpc,
                    "Filters are regular expressions the agent anchors as ^EXPR$ (without grouping: 'web|db' means "
                    "'^web' or 'db$').\nText: NAME  IP:PORT  STATUS  TAGS, one member per line.\n"
                    "Example: chorus members -status=alive -tag role=web -format=json");
    s->add_flag("--detailed", members.detailed, "Also show the Serf protocol version and range of each member");
    s->add_option("--format", members.format, "Output format: text (default) or json");
    s->add_option("--name", members.name, "Only members whose name matches this regexp");
    s->add_option("--status", members.status, "Only members whose status (alive, leaving, left, failed) matches");
    add_repeated(s, "--tag", members.tags, "KEY=REGEXP: only members whose tag KEY matches (repeatable)");
    s->add_option("--role", members.role, "Deprecated: same as -tag role=REGEXP");
    s->add_option("--near", members.near,
                  "chorus: sort by estimated round-trip time from this node; -format=json then includes each "
                  "member's coordinate and estimated_rtt_ms");
    s->add_option("ignored", ignored, "")->group("");  // Serf ignores stray arguments here
    s->callback([s, &rc] { finish(s, rc, run_members(members)); });
  }
  {
    auto* s =
        add_command(app, "join", "Tell the agent to join a cluster through one or more existing members", join.rpc,
                    "ADDRESS is host, host:port or name/host:port; the agent resolves host names to every address.\n"
                    "Example: chorus join 10.0.0.5 node7.example.com:7946");
    s->add_flag("--replay", join.replay, "Replay past user events to this agent's handlers");
    s->add_option("address", join.args, "Address of an existing member (one or more)");
    s->callback([s, &rc] { finish(s, rc, run_join(join)); });
  }
  {
    auto* s = add_command(app, "leave", "Make the agent leave the cluster gracefully and shut down", leave,
                          "Example: chorus leave -rpc-addr=10.0.0.5:7373");
    s->add_option("ignored", ignored, "")->group("");  // Serf ignores stray arguments
    s->callback([&rc] { rc = run_leave(leave); });
  }
  {
    auto* s = add_command(
        app, "force-leave", "Force a failed member into the 'left' state", force_leave.rpc,
        "A member that is actually alive will rejoin. With -prune it is also removed from the member list.\n"
        "Example: chorus force-leave -prune node7");
    s->add_flag("--prune", force_leave.prune, "Remove the member from the list right away");
    s->add_option("node", force_leave.args, "Name of the member");
    s->callback([s, &rc] { finish(s, rc, run_force_leave(force_leave)); });
  }
  {
    auto* s = add_command(app, "event", "Send a custom user event through the cluster", event.rpc,
                          "Example: chorus event -coalesce=false deploy v1.2.3");
    s->add_flag("--coalesce", event.coalesce,
                "Whether repeated events of this name within a short time may be coalesced (default true; "
                "-coalesce=false to disable)");
    s->add_option("args", event.args, "NAME [PAYLOAD]");
    s->callback([s, &rc] { finish(s, rc, run_event(event)); });
  }
  {
    auto* s = add_command(app, "query", "Send a query to the cluster and print the acknowledgements and responses",
                          query.rpc, "Example: chorus query -tag role=web -timeout=2s uptime");
    add_repeated(s, "--node", query.nodes, "Only this node should respond (repeatable)");
    add_repeated(s, "--tag", query.tags, "KEY=REGEXP: only nodes whose tag matches should respond (repeatable)");
    auto* timeout = s->add_option("--timeout", query.timeout,
                                  "How long to wait for responses (Go duration, e.g. 2s); 0 = agent's default");
    s->add_flag("--no-ack", query.no_ack, "Do not ask the nodes for acknowledgements");
    s->add_option("--relay-factor", query.relay_factor,
                  "Number of extra nodes each response is relayed through (0-255)");
    s->add_option("--format", query.format, "Output format: text (default) or json");
    s->add_option("args", query.args, "NAME [PAYLOAD]");
    s->callback([s, timeout, &rc] {
      query.timeout_given = timeout->count() > 0;
      finish(s, rc, run_query(query));
    });
  }
  {
    auto* s = add_command(app, "reachability", "Test that every live member answers a ping query", reach.rpc,
                          "Exit 1 when a live member did not acknowledge.\nExample: chorus reachability -verbose");
    s->add_flag("--verbose", reach.verbose, "Print each acknowledgement and the timings");
    s->callback([&rc] { rc = run_reachability(reach); });
  }
  {
    auto* s =
        add_command(app, "rtt", "Estimate the round-trip time between nodes from network coordinates", rtt.rpc,
                    "With one node, the other is the agent itself. -matrix prints every pair of the listed nodes (all "
                    "live members if none), in milliseconds.\nExample: chorus rtt node1 node2");
    s->add_flag("--matrix", rtt.matrix, "chorus: print a matrix of estimated RTTs");
    s->add_option("nodes", rtt.args, "NODE1 [NODE2]");
    s->callback([s, &rc] { finish(s, rc, run_rtt(rtt)); });
  }
  {
    auto* s = add_command(app, "tags", "Set or delete tags of the agent (gossiped to the cluster)", tags.rpc,
                          "Example: chorus tags -set role=web -delete dc");
    add_repeated(s, "--set", tags.set, "KEY=VALUE: create or change a tag (repeatable)");
    add_repeated(s, "--delete", tags.del, "KEY: remove a tag (repeatable)");
    s->callback([s, &rc] { finish(s, rc, run_tags(tags)); });
  }
  {
    auto* s = add_command(app, "info",
                          "Show the agent's name, runtime, Serf counters, tags and event handlers; a chorus "
                          "agent adds its metrics and why members are suspect or failed",
                          info.rpc, "Example: chorus info -format=json");
    s->add_option("--format", info.format, "Output format: text (default) or json");
    s->add_option("ignored", ignored, "")->group("");  // Serf ignores stray arguments
    s->callback([&rc] { rc = run_info(info); });
  }
  {
    auto* s = add_command(app, "monitor", "Stream the agent's log lines and events until interrupted", monitor.rpc,
                          "Runs until interrupted (Ctrl-C, exit 0).\nExample: chorus monitor -log-level=debug");
    s->add_option("--log-level", monitor.log_level, "Minimum level: trace, debug, info (default), warn, err");
    s->callback([&rc] { rc = run_monitor(monitor); });
  }
  {
    auto* s =
        add_command(app, "keys", "Manage the cluster's gossip encryption keyring", keys.rpc,
                    "Exactly one action. Changes are sent to every member; exit 1 if any member fails or does not "
                    "answer.\nExample: chorus keys -install=$(chorus keygen)");
    s->add_option("--install", keys.install, "Install a new key (base64) on every member");
    s->add_option("--use", keys.use, "Make an installed key the primary key everywhere");
    s->add_option("--remove", keys.remove, "Remove a key (not the primary) from every member");
    s->add_flag("--list", keys.list, "List every key in the cluster and how many members have it");
    s->callback([s, &rc] { finish(s, rc, run_keys(keys)); });
  }
  {
    auto* s = app.add_subcommand("keygen", "Print a new random 32-byte encryption key, base64-encoded");
    s->add_option("ignored", ignored, "")->group("");  // Serf ignores stray arguments
    s->callback([&rc] { rc = run_keygen(); });
  }
}

}  // namespace chorus::cli
