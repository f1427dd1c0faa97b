#pragma once
// Bounds on a regular expression before std::regex sees it. Serf matches
// member filters (RPC members-filtered) and query tag filters (which arrive
// by gossip from any member) with Go's RE2, linear in time and bounded in
// size. libstdc++'s std::regex compiles recursively, expands counted
// repeats into copies of the automaton and overflows a long on a long
// number, so an expression is first checked here and matched in its
// polynomial mode; too complex counts as invalid.
#include <cstddef>
#include <string>
#include <string_view>

namespace chorus::agent {

// How complex one expression may be: what keeps std::regex's recursive
// compiler and its automaton small. RE2 refuses the same repeat counts.
struct regex_limits {
  std::size_t length = 4096;  // bytes of expression text
  std::size_t depth = 100;    // nested groups: the compiler recurses once per level
  std::size_t repeat = 1000;  // the bound of one {n,m}, as RE2
  std::size_t states = 5000;  // automaton states once the repeats are expanded
};
inline constexpr regex_limits regex_limit{};

// "" when `expr` is within regex_limit, else why not.
std::string regex_complexity_error(std::string_view expr);

}  // namespace chorus::agent
