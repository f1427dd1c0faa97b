#pragma once
// A closed enum's names as one table instead of a switch per enum:
//
//   const char* to_string(member_state s) {
//     return enum_name<member_state::left>(s, {"alive", "suspect", "dead", "left"});
//   }
//
// The template argument is the enum's last value: a table with a name too few
// or too many fails to compile, so adding a value to the enum without naming
// it is caught where a switch would only warn. Values must run 0, 1, ... Last
// without gaps (in declaration order, which is the table's order). A value
// outside the table (only reachable by casting an integer) gets `fallback`,
// as the switches' trailing `return` did. Header-only and constexpr: the pure
// layers (swim, vivaldi, serf) share it without linking each other.
#include <cstddef>
#include <type_traits>

namespace chorus {

template <auto Last, std::size_t N>
requires std::is_enum_v<decltype(Last)>
constexpr const char* enum_name(decltype(Last) value, const char* const (&names)[N], const char* fallback = "?") {
  static_assert(static_cast<std::size_t>(Last) + 1 == N, "one name for each value from 0 to Last");
  const auto i = static_cast<std::size_t>(value);
  return i < N ? names[i] : fallback;
}

}  // namespace chorus
