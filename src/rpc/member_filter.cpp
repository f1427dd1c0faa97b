#include "rpc/member_filter.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <regex>

namespace chorus::rpc {

namespace {

struct group {
  std::size_t states = 0;  // automaton states of the group so far (an upper estimate)
  std::size_t last = 0;    // states of the last atom, what a quantifier repeats
};

// Adds with saturation: estimates only need to exceed the limit.
std::size_t sat_add(std::size_t a, std::size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }
std::size_t sat_mul(std::size_t a, std::size_t b) { return b != 0 && a > SIZE_MAX / b ? SIZE_MAX : a * b; }

// Reads "{n}", "{n,}" or "{n,m}" at s[i]; the largest count, or nullopt
// when it is not a well-formed bound (std::regex then rejects it).
std::optional<std::size_t> brace_bound(std::string_view s, std::size_t& i) {
  std::size_t j = i + 1, n = 0, m = 0;
  bool digits = false, comma = false, m_digits = false;
  for (; j < s.size() && s[j] != '}'; ++j) {
    const char c = s[j];
    if (c == ',' && !comma) {
      comma = true;
    } else if (c >= '0' && c <= '9') {
      std::size_t& v = comma ? m : n;
      v = std::min<std::size_t>(v * 10 + static_cast<std::size_t>(c - '0'), 1'000'000);
      (comma ? m_digits : digits) = true;
    } else {
      return std::nullopt;
    }
  }
  if (j == s.size() || !digits) return std::nullopt;
  i = j;
  return comma && m_digits ? std::max(n, m) : comma ? n + 1 : n;
}

}  // namespace

std::string filter_complexity_error(std::string_view s) {
  if (s.size() > filter_limit.length) return "expression too long";
  std::vector<group> stack(1);
  auto atom = [&](std::size_t states) {
    stack.back().states = sat_add(stack.back().states, states);
    stack.back().last = states;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    switch (c) {
      case '\\':
        ++i;  // the escaped character (\d, \., \x41...: one state either way)
        atom(1);
        break;
      case '[':  // a bracket expression is one state
        ++i;
        if (i < s.size() && s[i] == '^') ++i;
        while (i < s.size() && s[i] != ']') i += s[i] == '\\' ? 2 : 1;
        atom(1);
        break;
      case '(':
        if (stack.size() > filter_limit.depth) return "expression nests too deeply";
        stack.emplace_back();
        break;
      case ')': {
        if (stack.size() == 1) {
          atom(1);  // unbalanced: the compiler refuses it
          break;
        }
        const std::size_t inner = sat_add(stack.back().states, 2);
        stack.pop_back();
        atom(inner);
        break;
      }
      case '|':
        stack.back().states = sat_add(stack.back().states, 1);
        stack.back().last = 0;
        break;
      case '*':
      case '+':
      case '?':
        stack.back().states = sat_add(stack.back().states, 2);
        break;
      case '{': {
        auto n = brace_bound(s, i);
        if (!n) {
          atom(1);
          break;
        }
        if (*n > filter_limit.repeat) return "invalid repeat count";
        // The repeated atom is copied up to n times.
        const std::size_t copies = sat_mul(stack.back().last, *n);
        stack.back().states = sat_add(stack.back().states, copies);
        stack.back().last = sat_add(stack.back().last, copies);
        break;
      }
      default:
        atom(1);
    }
    std::size_t total = 0;
    for (const auto& g : stack) total = sat_add(total, g.states);
    if (total > filter_limit.states) return "expression too large";
  }
  return {};
}

std::string filter_members(const members_filtered_request& r, std::vector<member>& members) {
  auto compile = [](const std::string& expr, std::optional<std::regex>& out) -> std::string {
    if (auto e = filter_complexity_error(expr); !e.empty()) return e;
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
