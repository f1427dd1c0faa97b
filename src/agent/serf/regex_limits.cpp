#include "agent/serf/regex_limits.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace chorus::agent {

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

// A run of more digits than any valid count at s[i], or after a comma
// there: libstdc++'s parser reads a count into a long before checking it.
bool long_number_at(std::string_view s, std::size_t i) {
  std::size_t run = 0;
  for (; i < s.size() && s[i] != '}'; ++i) {
    run = s[i] >= '0' && s[i] <= '9' ? run + 1 : 0;
    if (run > 7) return true;
  }
  return false;
}

}  // namespace

std::string regex_complexity_error(std::string_view s) {
  if (s.size() > regex_limit.length) return "expression too long";
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
        // A back-reference (\1...): RE2 has none, libstdc++'s polynomial
        // mode refuses them, and its parser overflows a long on a long number.
        if (i < s.size() && s[i] >= '1' && s[i] <= '9') return "invalid escape sequence";
        atom(1);
        break;
      case '[':  // a bracket expression is one state
        ++i;
        if (i < s.size() && s[i] == '^') ++i;
        for (; i < s.size() && s[i] != ']'; ++i)
          if (s[i] == '\\' && ++i < s.size() && s[i] >= '1' && s[i] <= '9') return "invalid escape sequence";
        atom(1);
        break;
      case '(':
        if (stack.size() > regex_limit.depth) return "expression nests too deeply";
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
        if (long_number_at(s, i + 1)) return "invalid repeat count";
        auto n = brace_bound(s, i);
        if (!n) {
          atom(1);
          break;
        }
        if (*n > regex_limit.repeat) return "invalid repeat count";
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
    if (total > regex_limit.states) return "expression too large";
  }
  return {};
}

}  // namespace chorus::agent
