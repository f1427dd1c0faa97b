#pragma once
// The filters of `members-filtered` (serf-rpc.md 4.1): each expression is
// anchored as "^" + expr + "$" by plain concatenation (no grouping, as Serf
// does) and matched against the name, the status and each tag value
// (missing tag = ""). Serf uses Go's RE2 (linear time); std::regex is a
// backtracking engine with recursive compilation, so expressions are first
// bounded (nesting, repetition counts, size of the automaton) and then
// matched in libstdc++'s polynomial mode. Too complex counts as invalid:
// the agent then drops the connection, as Serf does for an invalid regexp.
#include <string>
#include <string_view>
#include <vector>

#include "rpc/protocol.hpp"

namespace chorus::rpc {

// How complex one expression may be: what keeps std::regex's recursive
// compiler and its automaton small. RE2 refuses the same repeat counts.
struct filter_limits {
  std::size_t length = 4096;  // bytes of expression text
  std::size_t depth = 100;    // nested groups: the compiler recurses once per level
  std::size_t repeat = 1000;  // the bound of one {n,m}, as RE2
  std::size_t states = 5000;  // automaton states once the repeats are expanded
};
inline constexpr filter_limits filter_limit{};

// "" when `expr` is within filter_limit, else why not.
std::string filter_complexity_error(std::string_view expr);

// Keeps the members matching every filter of `r`. Returns "" or an error
// (an expression that is invalid or too complex); `members` is then unchanged.
std::string filter_members(const members_filtered_request& r, std::vector<member>& members);

}  // namespace chorus::rpc
