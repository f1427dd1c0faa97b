#pragma once
// Seeded generators for extra benchmark inputs: schedules with the semantics
// of PROTOCOL.md section 1.2 (our own PRNG, so not Go's byte stream) and
// synthetic RTT matrices of other shapes, to check that tuning is not
// specific to seattle99.
#include <cstdint>
#include <optional>
#include <string>

#include "data.hpp"

namespace chorus::bench {

// R rounds; each round visits all nodes in a random permutation, each picks
// a uniformly random peer with a known RTT, sample = M[i][j] * exp(sigma Z),
// rounded to 1 us. Writes the .sched text format.
std::optional<std::string> write_schedule(const std::string& path, const matrix& m, const std::string& matrix_name,
                                          std::uint32_t rounds, std::uint64_t seed, double sigma);

// Synthetic matrices (ms):
//  "plane":     random points in a 300 ms square + exponential heights;
//  "clustered": 6 continents, nodes spread around their centre, heights, and
//               a symmetric log-normal per-pair distortion (triangle-inequality
//               violations, like real data).
std::optional<std::string> make_matrix(const std::string& shape, std::size_t n, std::uint64_t seed, matrix& out);

}  // namespace chorus::bench
