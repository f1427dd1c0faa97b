#include "agent/serf/query_rules.hpp"

#include <algorithm>
#include <cmath>

#include "agent/serf/regex_limits.hpp"
// GCC 12 reports a false -Wmaybe-uninitialized inside <regex> in sanitizer
// builds; the instantiations happen in this file, so the whole file is covered.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <regex>

namespace chorus::agent {

std::vector<query_filter> make_filters(const std::vector<std::string>& nodes,
                                       const std::map<std::string, std::string>& tags) {
  std::vector<query_filter> out;
  if (!nodes.empty()) out.push_back(node_filter{nodes});
  for (const auto& [tag, expr] : tags) out.push_back(tag_filter{tag, expr});
  return out;
}

// The expression comes by gossip from any member: bounded first (a crafted
// one must not exhaust memory or stack on every node), then matched without
// backtracking, as RE2 matches it in Serf.
bool tag_expr_matches(const std::string& expr, const std::string& value) {
  if (!regex_complexity_error(expr).empty()) return false;
  try {
    const std::regex re(expr, std::regex::ECMAScript | std::regex_constants::__polynomial);
    return std::regex_search(value, re);
  } catch (const std::regex_error&) {
    return false;  // Serf: a regex that does not compile matches nothing
  }
}

bool filters_match(const std::vector<query_filter>& filters, const std::string& name, const tag_map& tags) {
  for (const auto& f : filters) {
    if (const auto* n = std::get_if<node_filter>(&f)) {
      if (std::find(n->nodes.begin(), n->nodes.end(), name) == n->nodes.end()) return false;
    } else if (const auto* t = std::get_if<tag_filter>(&f)) {
      auto it = tags.find(t->tag);
      if (!tag_expr_matches(t->expr, it == tags.end() ? std::string() : it->second)) return false;
    } else {
      return false;
    }
  }
  return true;
}

swim::duration default_query_timeout(swim::duration gossip_interval, int mult, std::size_t n) {
  const auto scale = static_cast<std::int64_t>(std::ceil(std::log10(static_cast<double>(n) + 1.0)));
  return gossip_interval * mult * scale;
}

response_collector::verdict response_collector::add(const query_response& r, swim::time_point now) {
  if (r.id != id_) return verdict::wrong_id;
  if (now > deadline_) return verdict::finished;
  auto& set = r.is_ack() ? acks_ : responses_;
  if (!set.insert(r.from).second) return verdict::duplicate;
  return verdict::accepted;
}

}  // namespace chorus::agent

#pragma GCC diagnostic pop
