#pragma once
// Serf messages inside the gossip vectors: decoded with the agent codec,
// rendered with `chorus decode`'s JSON renderer and compared with the
// vector's `serf` object, then re-encoded.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace chorus::test_vectors {

// Checks (Catch2 assertions) one Serf message; returns true when it was checked.
bool check_serf_message(const std::vector<std::uint8_t>& raw, const nlohmann::json& expected);

}  // namespace chorus::test_vectors
