#pragma once
// The protocol versions chorus speaks, carried in every alive message's Vsn
// (memberlist.md section 11). They equal Serf 0.9.4's so a Serf peer accepts us.
#include <cstdint>

namespace chorus::swim {

// memberlist protocol: understands 1..5, runs at 2 (as Serf does).
inline constexpr std::uint8_t protocol_min = 1;
inline constexpr std::uint8_t protocol_max = 5;
inline constexpr std::uint8_t protocol_cur = 2;

// Serf (delegate) protocol: understands 2..5, runs at 5.
inline constexpr std::uint8_t delegate_min = 2;
inline constexpr std::uint8_t delegate_max = 5;
inline constexpr std::uint8_t delegate_cur = 5;

}  // namespace chorus::swim
