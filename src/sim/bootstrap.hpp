#pragma once
// Forming the cluster a scripted run measures, for either layer: the join
// storm (node i added at i * join_spacing, joining an earlier node), and the
// wait until every up node holds every member alive, counted from each
// node's member events.
#include <cstdint>
#include <functional>
#include <vector>

#include "sim/measure.hpp"
#include "sim/simulator.hpp"

namespace chorus::sim {

// Per observer, how many members it holds alive (itself included).
class alive_counts {
 public:
  void assign(std::size_t nodes, std::int64_t alive) { n_.assign(nodes, alive); }
  void add(node_id observer, std::int64_t delta) {
    if (n_.size() <= observer) n_.resize(observer + 1, 0);
    n_[observer] += delta;
  }
  // Every up node holds `expected`.
  bool everywhere(const simulator& sim, std::int64_t expected) const;

 private:
  std::vector<std::int64_t> n_;
};

// Adds p.nodes nodes, node i at i * p.join_spacing; each but node 0 then
// joins seed_of(i). `added(i)` runs right after node i is added. Returns
// once the last one was added.
void join_storm(simulator& sim, const run_params& p, std::function<node_id(node_id)> seed_of,
                std::function<void(node_id)> added = {});

// Runs until `converged()` holds (checked every 500 ms, for at most
// p.max_warmup): whether it did, and the virtual seconds since the start.
struct warmup {
  bool converged = false;
  double seconds = 0;
};
warmup converge(simulator& sim, const run_params& p, const std::function<bool()>& converged);

}  // namespace chorus::sim
