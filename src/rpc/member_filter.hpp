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

// Keeps the members matching every filter of `r`. Returns "" or an error
// (an expression that is invalid or too complex); `members` is then unchanged.
std::string filter_members(const members_filtered_request& r, std::vector<member>& members);

}  // namespace chorus::rpc
