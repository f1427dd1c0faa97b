#pragma once
// The RPC client subcommands of `chorus`, one function each, free of CLI11
// (rpc_commands.cpp only maps flags onto these option structs). Output and
// exit codes follow the `serf` CLI (serf-rpc.md section 5): everything,
// errors included, goes to stdout; 0 on success, 1 on any error.
#include <string>
#include <vector>

namespace chorus::cli {

// Returned by a command that wants its usage printed (after whatever it
// printed itself); the exit code is then 1.
inline constexpr int show_usage = -1;

// Prints `message` and a blank line, as Serf does before a usage text, and
// returns show_usage.
int usage_error(const std::string& message);

struct rpc_target {
  std::string address;  // host:port
  std::string auth;     // RPC auth token, "" = none
};

// The defaults of -rpc-addr and -rpc-auth: $CHORUS_RPC_ADDR, else
// $SERF_RPC_ADDR, else 127.0.0.1:7373 (the same for the token).
std::string default_rpc_address();
std::string default_rpc_auth();

struct members_options {
  rpc_target rpc;
  bool detailed = false;
  std::string format = "text";
  std::string name;
  std::string role;
  std::string status;
  std::vector<std::string> tags;  // key=regexp
  std::string near;               // chorus: sort by estimated RTT from this node
};
int run_members(const members_options& o);

// The options of a command taking positional arguments (names, addresses).
struct rpc_args {
  rpc_target rpc;
  std::vector<std::string> args;
};

struct join_options : rpc_args {
  bool replay = false;
};
int run_join(const join_options& o);

int run_leave(const rpc_target& rpc);

struct force_leave_options : rpc_args {
  bool prune = false;
};
int run_force_leave(const force_leave_options& o);

struct event_options : rpc_args {
  bool coalesce = true;
};
int run_event(const event_options& o);

struct query_options : rpc_args {
  std::vector<std::string> nodes;
  std::vector<std::string> tags;  // key=regexp
  std::string timeout;            // Go duration; not given = agent default
  bool timeout_given = false;     // -timeout= (empty) is an error, as in Serf
  bool no_ack = false;
  int relay_factor = 0;
  std::string format = "text";
};
int run_query(const query_options& o);

struct reachability_options {
  rpc_target rpc;
  bool verbose = false;
};
int run_reachability(const reachability_options& o);

struct rtt_options : rpc_args {
  bool matrix = false;  // chorus: every pair of the listed (or all) members
};
int run_rtt(const rtt_options& o);

struct tags_options {
  rpc_target rpc;
  std::vector<std::string> set;  // key=value
  std::vector<std::string> del;
};
int run_tags(const tags_options& o);

struct info_options {
  rpc_target rpc;
  std::string format = "text";
};
int run_info(const info_options& o);

struct monitor_options {
  rpc_target rpc;
  std::string log_level = "INFO";
};
int run_monitor(const monitor_options& o);

struct keys_options {
  rpc_target rpc;
  std::string install;
  std::string use;
  std::string remove;
  bool list = false;
};
int run_keys(const keys_options& o);

int run_keygen();

}  // namespace chorus::cli
