#include "agent/config.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent/handlers.hpp"
#include "swim/admission.hpp"
#include "swim/cidr.hpp"
#include "swim/keyring.hpp"

namespace chorus::agent {

namespace {
using json = nlohmann::json;
namespace fs = std::filesystem;
}  // namespace

std::optional<std::chrono::nanoseconds> parse_go_duration(const std::string& text) {
  // Grammar of Go's time.ParseDuration: [-+]? ( number unit )+ | "0".
  std::string s = text;
  bool neg = false;
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  if (s.substr(i) == "0") return std::chrono::nanoseconds(0);
  if (i >= s.size()) return std::nullopt;
  long double total = 0;
  while (i < s.size()) {
    const std::size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == start) return std::nullopt;
    const std::string num = s.substr(start, i - start);
    if (std::count(num.begin(), num.end(), '.') > 1 || num == ".") return std::nullopt;
    const std::size_t ustart = i;
    while (i < s.size() && !std::isdigit(static_cast<unsigned char>(s[i])) && s[i] != '.') ++i;
    const std::string unit = s.substr(ustart, i - ustart);
    long double mult = 0;
    if (unit == "ns")
      mult = 1;
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs")
      mult = 1e3;
    else if (unit == "ms")
      mult = 1e6;
    else if (unit == "s")
      mult = 1e9;
    else if (unit == "m")
      mult = 60e9;
    else if (unit == "h")
      mult = 3600e9;
    else
      return std::nullopt;
    total += std::stold(num) * mult;
  }
  // Go refuses what does not fit an int64 of nanoseconds (~292 years); the
  // margin below 2^63 keeps the rounding below from overflowing.
  if (total > 9.2e18L) return std::nullopt;
  const auto ns = static_cast<std::int64_t>(std::llround(static_cast<double>(total)));
  return std::chrono::nanoseconds(neg ? -ns : ns);
}

std::string format_go_duration(std::chrono::nanoseconds d) {
  // Enough of Go's String() for messages: h, m, s components.
  auto ns = d.count();
  if (ns == 0) return "0s";
  std::string out = ns < 0 ? "-" : "";
  ns = std::llabs(ns);
  if (ns < 1000000000) {
    if (ns % 1000000 == 0) return out + std::to_string(ns / 1000000) + "ms";
    return out + std::to_string(ns) + "ns";
  }
  const auto h = ns / 3600000000000LL;
  ns %= 3600000000000LL;
  const auto m = ns / 60000000000LL;
  ns %= 60000000000LL;
  if (h) out += std::to_string(h) + "h";
  if (h || m) out += std::to_string(m) + "m";
  std::ostringstream sec;
  sec << static_cast<double>(ns) / 1e9;
  return out + sec.str() + "s";
}

std::string default_node_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "chorus";
  return buf;
}

std::string split_host_port(const std::string& text, host_port& out) {
  out = {};
  if (text.empty()) return "empty address";
  std::string port;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos) return "missing ']' in address";
    out.host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return "unexpected characters after ']'";
      port = text.substr(close + 2);
      out.has_port = true;
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon != std::string::npos && text.find(':') != colon) {
      out.host = text;  // bare IPv6 without a port
    } else if (colon != std::string::npos) {
      out.host = text.substr(0, colon);
      port = text.substr(colon + 1);
      out.has_port = true;
    } else {
      out.host = text;
    }
  }
  if (out.has_port) {
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit))
      return "invalid port '" + port + "'";
    const unsigned long p = std::stoul(port);
    if (p > 65535) return "port " + port + " out of range";
    out.port = static_cast<std::uint16_t>(p);
  }
  return {};
}

namespace {

std::string read_file(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return "cannot read " + path;
  std::ostringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return {};
}

// Each key's reader: returns "" or what is wrong with the value.
using setter = std::function<std::string(agent_config&, const json&)>;

setter str(std::string agent_config::*m) {
  return [m](agent_config& c, const json& v) -> std::string {
    if (!v.is_string()) return "must be a string";
    c.*m = v.get<std::string>();
    return {};
  };
}
setter boolean(bool agent_config::*m) {
  return [m](agent_config& c, const json& v) -> std::string {
    if (!v.is_boolean()) return "must be true or false";
    c.*m = v.get<bool>();
    return {};
  };
}
setter integer(int agent_config::*m) {
  return [m](agent_config& c, const json& v) -> std::string {
    // get<int> would wrap 4294967300 to 4: out-of-range values are refused.
    if (!v.is_number_integer()) return "must be an integer";
    if (v.is_number_unsigned() ? v.get<std::uint64_t>() > std::numeric_limits<int>::max()
                               : v.get<std::int64_t>() < std::numeric_limits<int>::min() ||
                                     v.get<std::int64_t>() > std::numeric_limits<int>::max())
      return "out of range";
    c.*m = v.get<int>();
    return {};
  };
}
setter size(std::size_t agent_config::*m) {
  return [m](agent_config& c, const json& v) -> std::string {
    // Unsigned first: get<long long> would turn 2^63 and above negative.
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<long long>() >= 0))
      return "must be a non-negative integer";
    c.*m = v.get<std::size_t>();
    return {};
  };
}
std::string read_duration(const json& v, std::chrono::nanoseconds& out) {
  if (!v.is_string()) return "must be a duration string like \"30s\"";
  auto d = parse_go_duration(v.get<std::string>());
  if (!d) return "invalid duration '" + v.get<std::string>() + "'";
  out = *d;
  return {};
}
setter dur(std::chrono::nanoseconds agent_config::*m) {
  return [m](agent_config& c, const json& v) { return read_duration(v, c.*m); };
}
setter optional_size(std::optional<std::size_t> agent_config::*m) {
  return [m](agent_config& c, const json& v) -> std::string {
    // Unsigned first: get<long long> would turn 2^63 and above negative.
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<long long>() >= 0))
      return "must be a non-negative integer";
    c.*m = v.get<std::size_t>();
    return {};
  };
}
setter optional_number(std::optional<double> agent_config::*m) {
  return [m](agent_config& c, const json& v) -> std::string {
    if (!v.is_number()) return "must be a number";
    c.*m = v.get<double>();
    return {};
  };
}
setter optional_dur(std::optional<std::chrono::nanoseconds> agent_config::*m) {
  return [m](agent_config& c, const json& v) {
    std::chrono::nanoseconds d{};
    auto why = read_duration(v, d);
    if (why.empty()) c.*m = d;
    return why;
  };
}
setter list(std::vector<std::string> agent_config::*m) {
  return [m](agent_config& c, const json& v) -> std::string {
    if (!v.is_array()) return "must be a list of strings";
    for (const auto& e : v) {
      if (!e.is_string()) return "must be a list of strings";
      (c.*m).push_back(e.get<std::string>());
    }
    return {};
  };
}
std::string ignore_string(agent_config&, const json& v) { return v.is_string() ? "" : "must be a string"; }

const std::map<std::string, setter>& keys() {
  static const std::map<std::string, setter> k = {
      {"node_name", str(&agent_config::node_name)},
      {"role",
       [](agent_config& c, const json& v) -> std::string {
         if (!v.is_string()) return "must be a string";
         c.tags["role"] = v.get<std::string>();
         return {};
       }},
      {"disable_coordinates", boolean(&agent_config::disable_coordinates)},
      {"tags",
       [](agent_config& c, const json& v) -> std::string {
         if (!v.is_object()) return "must be an object of strings";
         for (const auto& [key, val] : v.items()) {
           if (!val.is_string()) return "tag '" + key + "' must be a string";
           c.tags[key] = val.get<std::string>();
         }
         return {};
       }},
      {"tags_file", str(&agent_config::tags_file)},
      {"bind", str(&agent_config::bind)},
      {"advertise", str(&agent_config::advertise)},
      {"encrypt_key", str(&agent_config::encrypt_key)},
      {"keyring_file", str(&agent_config::keyring_file)},
      {"log_level", str(&agent_config::log_level)},
      {"rpc_addr", str(&agent_config::rpc_addr)},
      {"rpc_auth", str(&agent_config::rpc_auth)},
      {"protocol", integer(&agent_config::protocol)},
      {"replay_on_join", boolean(&agent_config::replay_on_join)},
      {"query_response_size_limit", size(&agent_config::query_response_size_limit)},
      {"query_size_limit", size(&agent_config::query_size_limit)},
      {"user_event_size_limit", size(&agent_config::user_event_size_limit)},
      {"start_join", list(&agent_config::start_join)},
      {"event_handlers", list(&agent_config::event_handlers)},
      {"profile", str(&agent_config::profile)},
      {"snapshot_path", str(&agent_config::snapshot_path)},
      {"leave_on_terminate", boolean(&agent_config::leave_on_terminate)},
      {"skip_leave_on_interrupt", boolean(&agent_config::skip_leave_on_interrupt)},
      {"discover", str(&agent_config::discover)},
      // Serf 0.10's shape: an object; `interface` is the one key chorus reads.
      {"mdns",
       [](agent_config& c, const json& v) -> std::string {
         if (!v.is_object()) return "must be an object such as {\"interface\": \"eth0\"}";
         for (const auto& [key, val] : v.items())
           if (key != "interface") return "unknown key '" + key + "' (only 'interface')";
         if (!v.contains("interface")) return {};
         if (!v["interface"].is_string()) return "'interface' must be a string";
         c.mdns_iface = v["interface"].get<std::string>();
         return {};
       }},
      {"interface", str(&agent_config::iface)},
      {"reconnect_interval", dur(&agent_config::reconnect_interval)},
      {"reconnect_timeout", dur(&agent_config::reconnect_timeout)},
      {"tombstone_timeout", dur(&agent_config::tombstone_timeout)},
      {"disable_name_resolution", boolean(&agent_config::disable_name_resolution)},
      {"enable_syslog", boolean(&agent_config::enable_syslog)},
      {"syslog_facility", str(&agent_config::syslog_facility)},
      {"retry_join", list(&agent_config::retry_join)},
      {"retry_max_attempts", integer(&agent_config::retry_max_attempts)},
      {"retry_interval", dur(&agent_config::retry_interval)},
      {"rejoin_after_leave", boolean(&agent_config::rejoin_after_leave)},
      // Quirk (serf.md 14): the command line always decides compression.
      {"enable_compression",
       [](agent_config&, const json& v) -> std::string { return v.is_boolean() ? "" : "must be true or false"; }},
      {"statsite_addr", ignore_string},
      {"statsd_addr", ignore_string},
      {"broadcast_timeout", dur(&agent_config::broadcast_timeout)},
      {"label", str(&agent_config::label)},
      {"metrics_addr", str(&agent_config::metrics_addr)},
      {"http_addr", str(&agent_config::http_addr)},
      {"gossip_tcp_max_inbound", optional_size(&agent_config::gossip_tcp_max_inbound)},
      {"gossip_tcp_member_reserve", optional_size(&agent_config::gossip_tcp_member_reserve)},
      {"gossip_tcp_max_per_source", optional_size(&agent_config::gossip_tcp_max_per_source)},
      {"gossip_tcp_first_byte_timeout", optional_dur(&agent_config::gossip_tcp_first_byte_timeout)},
      {"gossip_tcp_min_bytes_per_second", optional_size(&agent_config::gossip_tcp_min_bytes_per_second)},
      {"purge_left_members", boolean(&agent_config::purge_left_members)},
      {"validate_node_names", boolean(&agent_config::validate_node_names)},
      {"allowed_cidrs", list(&agent_config::allowed_cidrs)},
      {"confirmed_suspicion_floor", optional_number(&agent_config::confirmed_suspicion_floor)},
  };
  return k;
}

}  // namespace

std::string merge_json(agent_config& into, const std::string& json_text, const std::string& source) {
  json doc = json::parse(json_text, nullptr, false);
  if (doc.is_discarded()) return "Error decoding '" + source + "': invalid JSON";
  if (!doc.is_object()) return "Error decoding '" + source + "': expected a JSON object";
  for (const auto& [key, val] : doc.items()) {
    auto it = keys().find(key);
    if (it == keys().end()) return "Error decoding '" + source + "': invalid config key " + key;
    if (auto why = it->second(into, val); !why.empty()) return "Error decoding '" + source + "': " + key + ": " + why;
  }
  return {};
}

std::string parse_http_addr(const std::string& text, host_port& out) {
  const std::string what = "Invalid HTTP address '" + text + "': ";
  const bool bare_port = !text.empty() && std::all_of(text.begin(), text.end(), ::isdigit);
  if (auto e = split_host_port(bare_port ? ":" + text : text, out); !e.empty()) return what + e;
  if (!out.has_port) return what + "a port is required ([HOST:]PORT)";
  if (out.host.empty()) out.host = "127.0.0.1";
  unsigned char buf[16];
  if (inet_pton(AF_INET, out.host.c_str(), buf) != 1 && inet_pton(AF_INET6, out.host.c_str(), buf) != 1)
    return what + "not an IP address";
  return {};
}

std::string validate(const agent_config& c) {
  if (c.node_name.empty()) return "node name must not be empty";
  host_port hp;
  if (auto e = split_host_port(c.bind, hp); !e.empty()) return "Invalid bind address '" + c.bind + "': " + e;
  if (!c.advertise.empty())
    if (auto e = split_host_port(c.advertise, hp); !e.empty())
      return "Invalid advertise address '" + c.advertise + "': " + e;
  if (auto e = split_host_port(c.rpc_addr, hp); !e.empty()) return "Invalid RPC address '" + c.rpc_addr + "': " + e;
  if (!c.metrics_addr.empty()) {
    if (auto e = split_host_port(c.metrics_addr, hp); !e.empty())
      return "Invalid metrics address '" + c.metrics_addr + "': " + e;
    if (!hp.has_port) return "Invalid metrics address '" + c.metrics_addr + "': a port is required (HOST:PORT)";
  }
  if (!c.http_addr.empty()) {
    host_port http;
    if (auto e = parse_http_addr(c.http_addr, http); !e.empty()) return e;
  }
  if (c.protocol < 2 || c.protocol > 5)
    return "Serf protocol version " + std::to_string(c.protocol) + " is not supported (must be 2-5)";
  if (c.profile != "lan" && c.profile != "wan" && c.profile != "local")
    return "Unknown profile: " + c.profile + " (must be lan, wan or local)";
  // Serf's levels, compared case-insensitively as Serf's agent does.
  static const char* levels[] = {"trace", "debug", "info", "warn", "err"};
  std::string lvl = c.log_level;
  std::transform(lvl.begin(), lvl.end(), lvl.begin(), ::tolower);
  if (std::find(std::begin(levels), std::end(levels), lvl) == std::end(levels))
    return "Invalid log level: " + c.log_level + ". Valid log levels are: [TRACE DEBUG INFO WARN ERR]";
  if (!c.encrypt_key.empty()) {
    auto k = swim::key_from_base64(c.encrypt_key);
    if (!k.ok()) return "Invalid encryption key: " + k.error;
  }
  if (!c.encrypt_key.empty() && !c.keyring_file.empty())
    return "Encryption key not allowed while using a keyring (-encrypt and -keyring-file are exclusive)";
  for (const auto& h : c.event_handlers) {
    handler_spec spec;
    if (auto e = parse_handler_spec(h, spec); !e.empty()) return e;
  }
  if (c.retry_interval < std::chrono::seconds(1))
    return "retry_interval must be at least 1s (got " + format_go_duration(c.retry_interval) + ")";
  if (c.broadcast_timeout < std::chrono::seconds(1))
    return "broadcast_timeout must be at least 1s (got " + format_go_duration(c.broadcast_timeout) + ")";
  if (c.retry_max_attempts < 0) return "retry_max_attempts must not be negative";
  for (auto d : {c.reconnect_interval, c.reconnect_timeout, c.tombstone_timeout})
    if (d.count() < 0) return "durations must not be negative";
  if (c.label.size() > 255) return "label is longer than 255 bytes";
  if (c.gossip_tcp_max_inbound == 0u) return "gossip_tcp_max_inbound must be at least 1";
  if (c.gossip_tcp_max_per_source == 0u) return "gossip_tcp_max_per_source must be at least 1";
  if (c.gossip_tcp_first_byte_timeout && c.gossip_tcp_first_byte_timeout->count() < 0)
    return "gossip_tcp_first_byte_timeout must not be negative";
  // !(in range), so that NaN is refused too.
  if (c.confirmed_suspicion_floor && !(*c.confirmed_suspicion_floor >= 0.05 && *c.confirmed_suspicion_floor <= 1.0))
    return "confirmed_suspicion_floor must be between 0.05 and 1 (1 = memberlist's timeouts)";
  if (c.user_event_size_limit > 9 * 1024) return "user_event_size_limit is over the sane limit of 9216 bytes";
  if (c.validate_node_names)
    if (auto e = swim::node_name_problem(c.node_name); !e.empty())
      return "Invalid node name '" + c.node_name + "' (-validate-node-names): " + e;
  std::vector<swim::cidr> ranges;
  if (auto e = swim::parse_cidr_list(c.allowed_cidrs, ranges); !e.empty()) return "allowed_cidrs: " + e;
  return {};
}

namespace {

// Step 1 of load_config: the config files, then each config directory's
// *.json files in name order (Serf's order: a later file overrides an
// earlier one, lists accumulate).
std::string read_config_files(const agent_flags& f, agent_config& c) {
  auto load = [&](const std::string& path) -> std::string {
    std::string text;
    if (auto e = read_file(path, text); !e.empty()) return "Error reading '" + path + "': " + e;
    return merge_json(c, text, path);
  };
  for (const auto& path : f.config_files) {
    if (fs::is_directory(path)) return "Error reading '" + path + "': is a directory (use -config-dir)";
    if (auto e = load(path); !e.empty()) return e;
    c.config_files.push_back(path);
  }
  for (const auto& dir : f.config_dirs) {
    // error_code overloads: an unreadable directory is reported, not thrown.
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return "Error reading '" + dir + "': not a directory";
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.is_regular_file() && entry.path().extension() == ".json") names.push_back(entry.path().string());
    std::sort(names.begin(), names.end());
    for (const auto& path : names)
      if (auto e = load(path); !e.empty()) return e;
    c.config_dirs.push_back(dir);
  }
  return {};
}

// Step 2: the flags that replace a value of the files as they are.
void apply_value_flags(const agent_flags& f, agent_config& c) {
  if (f.node) c.node_name = *f.node;
  if (f.role) c.tags["role"] = *f.role;
  if (f.bind) c.bind = *f.bind;
  if (f.advertise) c.advertise = *f.advertise;
  if (f.iface) c.iface = *f.iface;
  if (f.rpc_addr) c.rpc_addr = *f.rpc_addr;
  if (f.rpc_auth) c.rpc_auth = *f.rpc_auth;
  if (f.encrypt) c.encrypt_key = *f.encrypt;
  if (f.keyring_file) c.keyring_file = *f.keyring_file;
  if (f.tags_file) c.tags_file = *f.tags_file;
  if (f.profile) c.profile = *f.profile;
  if (f.snapshot) c.snapshot_path = *f.snapshot;
  if (f.log_level) c.log_level = *f.log_level;
  if (f.discover) c.discover = *f.discover;
  if (f.mdns_iface) c.mdns_iface = *f.mdns_iface;
  if (f.label) c.label = *f.label;
  if (f.metrics_addr) c.metrics_addr = *f.metrics_addr;
  if (f.http_addr) c.http_addr = *f.http_addr;
}

// An integer flag as Go's flag package takes it: all of the text must be the
// number (std::stoi alone would accept "5x").
std::string int_flag(const std::optional<std::string>& v, const char* flag, int& out) {
  if (!v) return {};
  try {
    std::size_t used = 0;
    out = std::stoi(*v, &used);
    if (used != v->size()) throw std::invalid_argument("trailing characters");
  } catch (...) {
    return "invalid value \"" + *v + "\" for flag -" + flag;
  }
  return {};
}

// A number flag, all of the text a number (Go's ParseFloat).
std::string number_flag(const std::optional<std::string>& v, const char* flag, std::optional<double>& out) {
  if (!v) return {};
  try {
    std::size_t used = 0;
    out = std::stod(*v, &used);
    if (used != v->size()) throw std::invalid_argument("trailing characters");
  } catch (...) {
    return "invalid value \"" + *v + "\" for flag -" + flag;
  }
  return {};
}

std::string duration_flag(const std::optional<std::string>& v, const char* flag, std::chrono::nanoseconds& out) {
  if (!v) return {};
  auto d = parse_go_duration(*v);
  if (!d) return "invalid value \"" + *v + "\" for flag -" + flag + ": invalid duration";
  out = *d;
  return {};
}

// Step 3: the numbers, each of which must parse; the first bad one is reported.
std::string apply_number_flags(const agent_flags& f, agent_config& c) {
  if (auto e = int_flag(f.protocol, "protocol", c.protocol); !e.empty()) return e;
  if (auto e = int_flag(f.retry_max, "retry-max", c.retry_max_attempts); !e.empty()) return e;
  if (auto e = number_flag(f.confirmed_suspicion_floor, "confirmed-suspicion-floor", c.confirmed_suspicion_floor);
      !e.empty())
    return e;
  for (auto e : {duration_flag(f.retry_interval, "retry-interval", c.retry_interval),
                 duration_flag(f.broadcast_timeout, "broadcast-timeout", c.broadcast_timeout),
                 duration_flag(f.reconnect_interval, "reconnect-interval", c.reconnect_interval),
                 duration_flag(f.reconnect_timeout, "reconnect-timeout", c.reconnect_timeout),
                 duration_flag(f.tombstone_timeout, "tombstone-timeout", c.tombstone_timeout)})
    if (!e.empty()) return e;
  return {};
}

// Step 4: switches only turn a file's setting on (a flag left out is not
// "false"), except compression, which the command line always decides
// (serf.md 14); lists add to the files' lists.
void apply_switch_and_list_flags(const agent_flags& f, agent_config& c) {
  if (f.replay) c.replay_on_join = true;
  if (f.rejoin) c.rejoin_after_leave = true;
  if (f.syslog) c.enable_syslog = true;
  if (f.leave_on_terminate) c.leave_on_terminate = true;
  if (f.skip_leave_on_interrupt) c.skip_leave_on_interrupt = true;
  if (f.purge_left_members) c.purge_left_members = true;
  if (f.validate_node_names) c.validate_node_names = true;
  c.enable_compression = !f.disable_compression;
  c.start_join.insert(c.start_join.end(), f.join.begin(), f.join.end());
  c.retry_join.insert(c.retry_join.end(), f.retry_join.begin(), f.retry_join.end());
  c.event_handlers.insert(c.event_handlers.end(), f.event_handlers.begin(), f.event_handlers.end());
  c.allowed_cidrs.insert(c.allowed_cidrs.end(), f.allowed_cidrs.begin(), f.allowed_cidrs.end());
}

// Step 5: tags from -tag, or from the tags file, never both.
std::string apply_tags(const agent_flags& f, agent_config& c) {
  for (const auto& t : f.tags) {
    const auto eq = t.find('=');
    if (eq == std::string::npos) return "invalid value \"" + t + "\" for flag -tag: expected KEY=VALUE";
    c.tags[t.substr(0, eq)] = t.substr(eq + 1);
  }
  if (!f.tags.empty() && !c.tags_file.empty())
    return "Tags file and tags flags may not be used together (-tag and -tags-file are exclusive)";
  // A tags file replaces the tags when it exists: the agent rewrites it at
  // every tag change, so it holds the latest set (a missing one is written at
  // the first change).
  if (c.tags_file.empty() || !fs::exists(c.tags_file)) return {};
  std::string text;
  if (auto e = read_file(c.tags_file, text); !e.empty()) return e;
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return "Failed to decode tags file '" + c.tags_file + "'";
  c.tags.clear();
  for (const auto& [k, v] : doc.items()) {
    if (!v.is_string()) return "Failed to decode tags file '" + c.tags_file + "': tag " + k + " is not a string";
    c.tags[k] = v.get<std::string>();
  }
  return {};
}

// Defaults <- config files <- flags, then validated; the first error stops.
std::string assemble(const agent_flags& f, agent_config& c) {
  if (auto e = read_config_files(f, c); !e.empty()) return e;
  apply_value_flags(f, c);
  if (auto e = apply_number_flags(f, c); !e.empty()) return e;
  apply_switch_and_list_flags(f, c);
  if (auto e = apply_tags(f, c); !e.empty()) return e;
  if (c.node_name.empty()) c.node_name = default_node_name();
  // Kept so that a SIGHUP reload can redo all of this with the files re-read.
  c.origin = std::make_shared<const agent_flags>(f);
  return validate(c);
}

}  // namespace

config_result load_config(const agent_flags& f) {
  config_result r;
  r.error = assemble(f, r.config);
  return r;
}

}  // namespace chorus::agent
