#include "replay.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace chorus::bench {

std::vector<vivaldi::client> make_clients(const vivaldi::config& cfg, std::size_t n) {
  std::vector<vivaldi::client> clients;
  clients.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    vivaldi::config c = cfg;
    c.seed = cfg.seed * 1'000'003 + i;  // one independent PRNG per node
    clients.emplace_back(c);
    clients.back().reserve_peers(n);  // the member count is known, as in an agent
  }
  return clients;
}

void predictions(const std::vector<vivaldi::client>& clients, std::vector<double>& pred) {
  const std::size_t n = clients.size();
  pred.assign(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      if (i != j)
        pred[i * n + j] =
            static_cast<double>(clients[i].distance_to(clients[j].get_coordinate()).value().count()) / 1e6;
}

namespace {

void apply(std::vector<vivaldi::client>& clients, const sample& s) {
  (void)clients[s.node].update(vivaldi::peer_id{s.peer}, clients[s.peer].get_coordinate(),
                               std::chrono::nanoseconds(s.rtt_ns));
}

// Median relative error over the pairs i < j with a known RTT for which
// `take(i, j)` holds.
template <class Take>
double median_over(const matrix& truth, const std::vector<double>& pred, Take take) {
  std::vector<double> rel;
  for (std::size_t i = 0; i < truth.n; ++i)
    for (std::size_t j = i + 1; j < truth.n; ++j) {
      const double a = truth.at(i, j);
      if (a > 0 && take(i, j)) rel.push_back(std::abs(pred[i * truth.n + j] - a) / a);
    }
  std::sort(rel.begin(), rel.end());
  return quantile(rel, 0.5);
}

}  // namespace

std::map<std::uint32_t, scores> replay(const vivaldi::config& cfg, const matrix& truth, const schedule& sched,
                                       const std::vector<std::uint32_t>& checkpoints) {
  auto clients = make_clients(cfg, truth.n);
  std::map<std::uint32_t, scores> out;
  std::vector<double> pred;
  auto checkpoint = [&](std::uint32_t r) {
    if (std::find(checkpoints.begin(), checkpoints.end(), r) == checkpoints.end()) return;
    predictions(clients, pred);
    out[r] = score(truth, pred);
  };
  checkpoint(0);
  std::size_t k = 0;
  for (std::uint32_t round = 1; round <= sched.rounds; ++round) {
    for (; k < sched.samples.size() && sched.samples[k].round == round; ++k) apply(clients, sched.samples[k]);
    checkpoint(round);
  }
  return out;
}

late_join_result late_join(const vivaldi::config& cfg, const matrix& truth, const schedule& sched, double fraction,
                           std::uint32_t join_round, std::uint64_t seed) {
  const std::size_t n = truth.n;
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  late_join_result r;
  r.late_nodes = std::clamp<std::size_t>(static_cast<std::size_t>(std::lround(fraction * static_cast<double>(n))), 1,
                                         n > 1 ? n - 1 : 1);
  std::vector<bool> late(n, false);
  for (std::size_t i = 0; i < r.late_nodes; ++i) late[order[i]] = true;

  auto clients = make_clients(cfg, n);
  auto from_start = make_clients(cfg, n);
  std::vector<double> pred;
  std::size_t k = 0;
  for (std::uint32_t round = 1; round <= sched.rounds; ++round) {
    for (; k < sched.samples.size() && sched.samples[k].round == round; ++k) {
      const auto& s = sched.samples[k];
      if (round > join_round || (!late[s.node] && !late[s.peer])) apply(clients, s);
      apply(from_start, s);
    }
    if (round <= join_round) continue;
    predictions(clients, pred);
    r.late_median_at_end = median_over(truth, pred, [&](std::size_t i, std::size_t j) { return late[i] || late[j]; });
    r.cluster_median_at_end =
        median_over(truth, pred, [&](std::size_t i, std::size_t j) { return !late[i] && !late[j]; });
    const auto late_pair = [&](std::size_t i, std::size_t j) { return late[i] || late[j]; };
    predictions(from_start, pred);
    r.same_pairs_from_start_at_end = median_over(truth, pred, late_pair);
    r.curve.push_back({r.late_median_at_end, r.cluster_median_at_end, r.same_pairs_from_start_at_end});
    if (!r.rounds_to_match_from_start && r.late_median_at_end <= r.same_pairs_from_start_at_end)
      r.rounds_to_match_from_start = round - join_round;
    if (!r.rounds_to_cluster_median && r.late_median_at_end <= r.cluster_median_at_end)
      r.rounds_to_cluster_median = round - join_round;
    if (!r.rounds_to_within_10pct && r.late_median_at_end <= 1.1 * r.cluster_median_at_end)
      r.rounds_to_within_10pct = round - join_round;
  }
  return r;
}

}  // namespace chorus::bench
