#pragma once
// The one seed variable of every simulation (STYLE #3): a test prints the
// seed it ran with, and CHORUS_SIM_SEED=<n> replays that run.
#include <cstdint>
#include <cstdlib>

namespace chorus::sim {

inline constexpr const char* seed_variable = "CHORUS_SIM_SEED";

// CHORUS_SIM_SEED when set, else `fallback`.
inline std::uint64_t seed_from_env(std::uint64_t fallback) {
  if (const char* s = std::getenv(seed_variable)) return std::strtoull(s, nullptr, 10);
  return fallback;
}

}  // namespace chorus::sim
