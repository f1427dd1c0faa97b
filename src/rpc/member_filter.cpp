#include "rpc/member_filter.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <regex>

#include "agent/serf/regex_limits.hpp"

namespace chorus::rpc {

std::string filter_members(const members_filtered_request& r, std::vector<member>& members) {
  auto compile = [](const std::string& expr, std::optional<std::regex>& out) -> std::string {
    if (auto e = agent::regex_complexity_error(expr); !e.empty()) return e;
    try {
      // __polynomial: libstdc++'s breadth-first matcher, no exponential
      // backtracking (and no back-references, which RE2 lacks too).
      out.emplace("^" + expr + "$", std::regex::ECMAScript | std::regex_constants::__polynomial);
      return {};
    } catch (const std::regex_error& e) {
      return e.what();
    }
  };
  std::optional<std::regex> name_re, status_re;
  std::map<std::string, std::regex> tag_res;
  if (!r.name.empty())
    if (auto e = compile(r.name, name_re); !e.empty()) return e;
  if (!r.status.empty())
    if (auto e = compile(r.status, status_re); !e.empty()) return e;
  if (r.tags)
    for (const auto& [k, v] : *r.tags) {
      std::optional<std::regex> re;
      if (auto e = compile(v, re); !e.empty()) return e;
      tag_res.emplace(k, std::move(*re));
    }
  std::erase_if(members, [&](const member& m) {
    if (name_re && !std::regex_search(m.name, *name_re)) return true;
    if (status_re && !std::regex_search(m.status, *status_re)) return true;
    for (const auto& [k, re] : tag_res) {
      std::string v;
      if (m.tags)
        if (auto it = m.tags->find(k); it != m.tags->end()) v = it->second;
      if (!std::regex_search(v, re)) return true;
    }
    return false;
  });
  return {};
}

}  // namespace chorus::rpc
