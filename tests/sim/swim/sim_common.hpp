#pragma once
// Shared helpers for the simulation tests: seeds (printed, overridable with
// CHORUS_SIM_SEED to replay a failure) and sizes (smaller under sanitizers,
// where everything runs several times slower).
#include <catch2/catch.hpp>
#include <string>

#include "sim/scenario.hpp"
#include "sim/seed.hpp"

namespace chorus::sim::testing {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif
#else
inline constexpr bool sanitized = false;
#endif

inline std::uint64_t seed(std::uint64_t fallback) { return seed_from_env(fallback); }

inline std::string describe(const scenario_result& r) {
  auto sum = [](const summary& s) {
    return "n=" + std::to_string(s.count) + " median=" + std::to_string(s.median) + " p99=" + std::to_string(s.p99) +
           " max=" + std::to_string(s.max);
  };
  return "converged=" + std::to_string(r.converged) + " warmup=" + std::to_string(r.warmup_s) +
         "s join.t100=" + std::to_string(r.join.t100) + " bcast.t100=" + std::to_string(r.broadcast.t100) +
         " bcast.reached=" + std::to_string(r.broadcast.reached) + "/" + std::to_string(r.broadcast.of) +
         " first_suspect{" + sum(r.first_suspect) + "} detection{" + sum(r.detection) + "} detection_all{" +
         sum(r.detection_all) + "} undetected=" + std::to_string(r.undetected) +
         " false_failures=" + std::to_string(r.false_failures) +
         " false_failed_nodes=" + std::to_string(r.false_failed_nodes) +
         " false_suspicions=" + std::to_string(r.false_suspicions) + " healed=" + std::to_string(r.healed_s) +
         " msgs/node/s=" + std::to_string(r.msgs_per_node_s) + " wall=" + std::to_string(r.wall_s) + "s";
}

}  // namespace chorus::sim::testing
