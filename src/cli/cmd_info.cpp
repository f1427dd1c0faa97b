// `info` (the agent's stats) and `rtt` (Vivaldi estimates computed here from
// get-coordinate, as Serf's CLI does; chorus adds `rtt -matrix`).
//
// `info` prints Serf's `stats` sections exactly as `serf info` does; against
// a chorus agent it then adds the chorus-stats sections (`failures`: why
// members are suspect or failed; `metrics`: the counters /metrics serves).
// A Serf agent answers chorus-stats with "Unsupported command" (and closes),
// so it is asked last and its absence is not an error.
#include <algorithm>
#include <cstdio>
#include <optional>

#include "agent/member_json.hpp"
#include "agent/text_escape.hpp"
#include "cli/commands.hpp"
#include "cli/format.hpp"
#include "cli/session.hpp"

namespace chorus::cli {

namespace {

std::string milliseconds(double seconds) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", seconds * 1000.0);
  return buf;
}

bool agent_name(rpc::client& c, std::string& name) {
  rpc::stats_response stats;
  if (failed("Error querying agent", c.stats(stats))) return false;
  name = stats["agent"]["name"];
  return true;
}

// nullopt after printing the error; a response with ok=false if unknown.
std::optional<rpc::coordinate_response> coordinate_of(rpc::client& c, const std::string& node) {
  rpc::coordinate_response r;
  if (failed("Error getting coordinates", c.get_coordinate({node}, r))) return std::nullopt;
  return r;
}

int rtt_matrix(rpc::client& c, std::vector<std::string> nodes) {
  if (nodes.empty()) {
    rpc::members_response members;
    if (failed("Error retrieving members", c.members(members))) return 1;
    if (members.members)
      for (const auto& m : *members.members)
        if (m.status == "alive") nodes.push_back(m.name);
    std::sort(nodes.begin(), nodes.end());
  }
  std::vector<std::optional<rpc::coordinate>> coords;
  for (const auto& n : nodes) {
    auto r = coordinate_of(c, n);
    if (!r) return 1;
    coords.push_back(r->ok ? std::optional<rpc::coordinate>(r->coord) : std::nullopt);
  }
  // One row per node; cells are estimated RTTs in ms, "-" without a coordinate.
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header{""};
  for (const auto& n : nodes) header.push_back(agent::escape_text(n));
  rows.push_back(header);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    std::vector<std::string> row{agent::escape_text(nodes[i])};
    for (std::size_t j = 0; j < nodes.size(); ++j) {
      // A node is 0 from itself; the formula would say twice its height.
      if (i == j) {
        row.push_back(coords[i] ? "0.000" : "-");
        continue;
      }
      std::optional<double> est;
      if (coords[i] && coords[j]) est = agent::estimate_rtt_seconds(*coords[i], *coords[j]);
      row.push_back(est ? milliseconds(*est) : "-");
    }
    rows.push_back(std::move(row));
  }
  out_raw(columnize(rows));
  return 0;
}

}  // namespace

int run_info(const info_options& o) {
  rpc::client c;
  if (!open_session(c, o.rpc)) return 1;
  rpc::stats_response stats;
  if (failed("Error querying agent", c.stats(stats))) return 1;
  // The format is checked after the request, in Serf's order: a failed
  // request is reported before a bad -format.
  if (o.format != "json" && o.format != "text") {
    out_line("Encoding error: Invalid output format \"" + o.format + "\"");
    return 1;
  }
  rpc::stats_response extra;
  if (!c.chorus_stats(extra).empty()) extra.clear();  // a Serf agent
  // Serf's sections come first and win: a chorus-stats section of the same
  // name is skipped, so `info` of a chorus agent still starts as serf's.
  if (o.format == "json") {
    nlohmann::ordered_json root = nlohmann::ordered_json::object();
    for (const auto* part : {&stats, &extra})
      for (const auto& [section, kv] : *part) {
        if (part == &extra && stats.count(section)) continue;
        nlohmann::ordered_json s = nlohmann::ordered_json::object();
        for (const auto& [k, v] : kv) s[k] = v;
        root[section] = s;
      }
    out_line(go_json_indent(root));
    return 0;
  }
  std::string text;
  for (const auto* part : {&stats, &extra})
    for (const auto& [section, kv] : *part) {
      if (part == &extra && stats.count(section)) continue;
      // Names, tags and failure texts come from the cluster: escaped so
      // that each stays on its line.
      text += agent::escape_text(section) + ":\n";
      for (const auto& [k, v] : kv) text += "\t" + agent::escape_text(k) + " = " + agent::escape_text(v) + "\n";
    }
  out_raw(text);
  return 0;
}

int run_rtt(const rtt_options& o) {
  if (!o.matrix && (o.args.empty() || o.args.size() > 2)) return usage_error("One or two node names must be specified");
  rpc::client c;
  if (!open_session(c, o.rpc)) return 1;
  if (o.matrix) return rtt_matrix(c, o.args);

  std::vector<std::string> nodes = o.args;
  if (nodes.size() == 1) {
    std::string self;
    if (!agent_name(c, self)) return 1;
    nodes.push_back(self);
  }
  std::vector<rpc::coordinate> coords;
  for (const auto& n : nodes) {
    auto r = coordinate_of(c, n);
    if (!r) return 1;
    if (!r->ok) {
      out_line("Could not find a coordinate for node \"" + n + "\"");
      return 1;
    }
    coords.push_back(r->coord);
  }
  const auto est = agent::estimate_rtt_seconds(coords[0], coords[1]);
  if (!est) {
    out_line("Error computing the distance: the two coordinates are not compatible");
    return 1;
  }
  out_line("Estimated " + agent::escape_text(nodes[0]) + " <-> " + agent::escape_text(nodes[1]) +
           " rtt: " + milliseconds(*est) + " ms");
  return 0;
}

}  // namespace chorus::cli
