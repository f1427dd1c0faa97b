#pragma once
// The agent's configuration: every `serf agent` flag and JSON config key
// (../shared/protocol/serf.md section 14, serf-rpc.md section 5) with Serf's
// names, defaults and meanings, plus chorus's `label`.
//
// Sources, lowest priority first: defaults, then each -config-file and each
// *.json of each -config-dir (in name order), then the command line. Lists
// (start_join, retry_join, event_handlers) accumulate across sources; tags
// merge; scalars are overwritten. Unknown JSON keys are errors. Bad values
// fail fast with a message naming the flag/key and the source.
//
// No CLI11 here: the `agent` subcommand (src/cli/agent_command.cpp) only
// collects raw flag strings into agent_flags.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace chorus::agent {

using seconds_duration = std::chrono::nanoseconds;

// Go's time.ParseDuration: "300ms", "-1.5h", "2h45m", units ns us µs ms s m h.
std::optional<std::chrono::nanoseconds> parse_go_duration(const std::string& text);
std::string format_go_duration(std::chrono::nanoseconds d);

struct agent_flags;

struct agent_config {
  std::string node_name;  // default: host name
  std::map<std::string, std::string> tags;
  std::string tags_file;
  bool disable_coordinates = false;
  std::string bind = "0.0.0.0:7946";  // ADDR[:PORT]
  std::string advertise;              // ADDR[:PORT], host names allowed
  std::string iface;                  // bind to this interface's first address
  std::string encrypt_key;            // base64
  std::string keyring_file;
  std::string log_level = "info";
  std::string rpc_addr = "127.0.0.1:7373";
  std::string rpc_auth;
  int protocol = 5;
  bool replay_on_join = false;
  std::size_t query_response_size_limit = 1024;
  std::size_t query_size_limit = 1024;
  std::size_t user_event_size_limit = 512;
  std::vector<std::string> start_join;
  std::vector<std::string> event_handlers;  // [FILTER=]SCRIPT
  std::string profile = "lan";
  std::string snapshot_path;
  bool leave_on_terminate = false;
  bool skip_leave_on_interrupt = false;
  std::string discover;                            // -discover: mDNS cluster name (_serf_NAME._tcp)
  std::string mdns_iface;                          // -mdns-iface: mDNS on this interface (default: -iface)
  std::chrono::nanoseconds reconnect_interval{0};  // 0 = Serf's default (30s)
  std::chrono::nanoseconds reconnect_timeout{0};   // 0 = default (24h)
  std::chrono::nanoseconds tombstone_timeout{0};   // 0 = default (24h)
  bool disable_name_resolution = false;
  bool enable_syslog = false;
  std::string syslog_facility = "LOCAL0";
  std::vector<std::string> retry_join;
  int retry_max_attempts = 0;  // 0 = unlimited
  std::chrono::nanoseconds retry_interval = std::chrono::seconds(30);
  bool rejoin_after_leave = false;
  bool enable_compression = true;
  std::string statsite_addr, statsd_addr;
  std::chrono::nanoseconds broadcast_timeout = std::chrono::seconds(5);
  std::string label;         // chorus: cluster isolation label (memberlist 0.3 label header)
  std::string metrics_addr;  // chorus: HOST:PORT serving Prometheus /metrics; empty = off
  std::string http_addr;     // chorus: [HOST:]PORT of the HTTP/JSON API; empty = off, no host = 127.0.0.1
  // chorus: inbound gossip TCP admission (config file only, read at start);
  // unset = swim::transport::options' defaults, which explain each number.
  std::optional<std::size_t> gossip_tcp_max_inbound, gossip_tcp_member_reserve, gossip_tcp_max_per_source,
      gossip_tcp_min_bytes_per_second;
  std::optional<std::chrono::nanoseconds> gossip_tcp_first_byte_timeout;
  // -purge-left-members (memberlist #254; off = Serf 0.9.4): left members
  // leave the gossip table gossip_to_the_dead_time after they left, as dead
  // ones do.
  bool purge_left_members = false;
  // -validate-node-names (serf #612; off = Serf 0.9.4): refuse members named
  // other than 1-128 characters of [A-Za-z0-9.-], and check our own name.
  bool validate_node_names = false;
  // -allowed-cidrs (memberlist's CIDRsAllowed, Consul's
  // serf_lan_allowed_cidrs): gossip only from these ranges. Empty = all.
  std::vector<std::string> allowed_cidrs;
  // chorus: -confirmed-suspicion-floor, the timeout a fully confirmed
  // suspicion reaches as a fraction of memberlist's minimum
  // (swim::config::suspicion_confirmed_min_scale; 1 = memberlist and Serf).
  // Unset = swim::config's default. Read at start.
  std::optional<double> confirmed_suspicion_floor;

  // Files that contributed, for SIGHUP reloads.
  std::vector<std::string> config_files, config_dirs;
  // The command line this configuration came from (set by load_config): a
  // SIGHUP reload recomputes everything from it with the files re-read.
  std::shared_ptr<const agent_flags> origin;
};

// The raw command line (strings exactly as given; unset = nullopt).
struct agent_flags {
  std::optional<std::string> node, role, bind, advertise, iface, rpc_addr, rpc_auth, encrypt, keyring_file, tags_file,
      profile, snapshot, log_level, protocol, retry_interval, retry_max, broadcast_timeout, reconnect_interval,
      reconnect_timeout, tombstone_timeout, discover, mdns_iface, label, metrics_addr, http_addr,
      confirmed_suspicion_floor;
  bool replay = false, rejoin = false, disable_compression = false, syslog = false;
  bool leave_on_terminate = false, skip_leave_on_interrupt = false;
  bool purge_left_members = false;
  bool validate_node_names = false;
  std::vector<std::string> join, retry_join, tags, event_handlers, config_files, config_dirs;
  std::vector<std::string> allowed_cidrs;
};

struct config_result {
  agent_config config;
  std::string error;  // names the problem; empty on success
  bool ok() const { return error.empty(); }
};

// Defaults <- config files/dirs <- flags, then validated.
config_result load_config(const agent_flags& flags);

// One JSON document merged into `into` (exposed for tests). `source` names
// the file in error messages.
std::string merge_json(agent_config& into, const std::string& json_text, const std::string& source);
// Checks cross-field rules and value ranges (also run by load_config).
std::string validate(const agent_config& c);

// "ADDR[:PORT]" split; IPv6 in brackets. Empty error on success.
struct host_port {
  std::string host;
  std::uint16_t port = 0;
  bool has_port = false;
};
std::string split_host_port(const std::string& text, host_port& out);
// -http-addr: "HOST:PORT", ":PORT" or "PORT"; no host means 127.0.0.1 (the
// API can leave, join and change tags: loopback unless asked). HOST must be
// an IP. Empty error on success; `out.host` is then the IP to listen on.
std::string parse_http_addr(const std::string& text, host_port& out);

// The local host name (Serf's default node name).
std::string default_node_name();

}  // namespace chorus::agent
