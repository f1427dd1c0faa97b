#pragma once
// Replays a schedule on one Vivaldi client per matrix row (PROTOCOL.md
// section 1.2) and scores it: the building block of the suite and of the
// late-joiner mode. The timed single run stays in main.cpp.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "data.hpp"
#include "metrics.hpp"
#include "vivaldi/client.hpp"

namespace chorus::bench {

// One client per node, each with its own PRNG seed, peers 0..n-1 reserved.
std::vector<vivaldi::client> make_clients(const vivaldi::config& cfg, std::size_t n);

// pred[i * n + j] = node i's estimate for node j, in ms.
void predictions(const std::vector<vivaldi::client>& clients, std::vector<double>& pred);

// Scores at each checkpoint round (those beyond the schedule are absent).
std::map<std::uint32_t, scores> replay(const vivaldi::config& cfg, const matrix& truth, const schedule& sched,
                                       const std::vector<std::uint32_t>& checkpoints);

// Late joiners: a seeded `fraction` of the nodes (at least one) takes no part
// before `join_round` (their lines, and lines probing them, are skipped, as
// if they did not exist yet), then the schedule runs on unchanged.
struct late_join_result {
  std::size_t late_nodes = 0;
  // First round after join_round at which the median relative error of the
  // pairs with a late node is at most that of the pairs of nodes already
  // there (the cluster's); nothing if that never happens.
  std::optional<std::uint32_t> rounds_to_cluster_median;
  // The same within 10 % of the cluster's median (the late nodes' own pairs
  // may simply be harder to embed than the average pair).
  std::optional<std::uint32_t> rounds_to_within_10pct;
  double late_median_at_end = 0, cluster_median_at_end = 0;
  // First round after join_round at which the late nodes' pairs are as
  // accurate as the same pairs in a run where every node starts at round 1
  // (at the same round): as good as if they had been there all along.
  std::optional<std::uint32_t> rounds_to_match_from_start;
  double same_pairs_from_start_at_end = 0;
  // Per round after join_round: late pairs, cluster pairs, late pairs when all start at round 1.
  std::vector<std::array<double, 3>> curve;
};
late_join_result late_join(const vivaldi::config& cfg, const matrix& truth, const schedule& sched, double fraction,
                           std::uint32_t join_round, std::uint64_t seed);

}  // namespace chorus::bench
