// `members`: the member list, filtered by the agent (members-filtered), as
// Serf's text table or JSON; chorus adds `-near NODE` (sort by estimated RTT).
#include <algorithm>
#include <cstdio>
#include <map>

#include "agent/member_json.hpp"
#include "agent/text_escape.hpp"
#include "cli/commands.hpp"
#include "cli/format.hpp"
#include "cli/session.hpp"

namespace chorus::cli {

namespace {

// Serf joins tags in Go map order (random); we use sorted order, which is
// one of the orders Serf can print. Escaped: a tag is gossiped text.
std::string tag_list(const std::optional<rpc::string_map>& tags) {
  std::string s;
  if (!tags) return s;
  for (const auto& [k, v] : *tags) {
    if (!s.empty()) s += ',';
    s += k + "=" + v;
  }
  return agent::escape_text(s);
}

}  // namespace

int run_members(const members_options& o) {
  rpc::members_filtered_request req;
  req.name = o.name;
  req.status = o.status;
  req.tags.emplace();  // Serf always sends a (possibly empty) map
  if (!o.role.empty()) (*req.tags)["role"] = o.role;
  if (!read_tag_flags(o.tags, *req.tags)) return 1;

  rpc::client c;
  if (!open_session(c, o.rpc)) return 1;
  rpc::members_response resp;
  if (failed("Error retrieving members", c.members_filtered(req, resp))) return 1;

  std::vector<agent::placed_member> members;
  if (resp.members)
    for (auto& m : *resp.members) members.push_back({std::move(m), std::nullopt, std::nullopt});

  const bool near = !o.near.empty();
  if (near) {
    rpc::coordinate_response origin;
    if (failed("Error getting coordinates", c.get_coordinate({o.near}, origin))) return 1;
    if (!origin.ok) {
      out_line("Could not find a coordinate for node \"" + o.near + "\"");
      return 1;
    }
    for (auto& p : members) {
      rpc::coordinate_response cr;
      if (failed("Error getting coordinates", c.get_coordinate({p.m.name}, cr))) return 1;
      if (!cr.ok) continue;
      p.coord = cr.coord;
      p.rtt_seconds = agent::estimate_rtt_seconds(origin.coord, cr.coord);
    }
    agent::sort_nearest_first(members);
  }

  if (o.format == "json") {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& p : members) list.push_back(agent::member_json(p.m, near, p.coord, p.rtt_seconds));
    nlohmann::ordered_json root;
    root["members"] = list;
    out_line(go_json_indent(root));
    return 0;
  }
  if (o.format != "text") {
    out_line("Encoding error: Invalid output format \"" + o.format + "\"");
    return 1;
  }
  // chorus agents explain suspect/failed members in the chorus-stats section
  // "failures" (serf agents do not know the command: output unchanged).
  std::map<std::string, std::string> failures;
  if (o.detailed) {
    rpc::stats_response st;
    if (c.chorus_stats(st).empty())
      if (auto it = st.find("failures"); it != st.end()) failures = it->second;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : members) {
    const auto& m = p.m;
    // Names are gossiped text: escaped, so one member stays on one line and
    // control characters cannot reach the terminal (serf prints them raw).
    std::vector<std::string> row{agent::escape_text(m.name), host_port(m.addr, m.port), m.status, tag_list(m.tags)};
    if (o.detailed) {
      row.push_back("Protocol Version: " + std::to_string(m.delegate_cur));
      row.push_back("Available Protocol Range: [" + std::to_string(m.delegate_min) + ", " +
                    std::to_string(m.delegate_max) + "]");
      // Alive members keep their history in `info`; the table explains
      // only the ones that are not alive.
      if (auto f = failures.find(m.name); f != failures.end() && m.status != "alive")
        row.push_back("Failure: " + agent::escape_text(f->second));
    }
    rows.push_back(std::move(row));
  }
  out_raw(serf_table(rows));
  return 0;
}

}  // namespace chorus::cli
