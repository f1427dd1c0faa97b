#include "sim/bootstrap.hpp"

namespace chorus::sim {

bool alive_counts::everywhere(const simulator& sim, std::int64_t expected) const {
  if (n_.size() < sim.size()) return false;
  for (node_id n = 0; n < sim.size(); ++n)
    if (sim.up(n) && n_[n] != expected) return false;
  return true;
}

void join_storm(simulator& sim, const run_params& p, std::function<node_id(node_id)> seed_of,
                std::function<void(node_id)> added) {
  for (std::size_t i = 0; i < p.nodes; ++i) {
    sim.at(time_point{p.join_spacing * static_cast<std::int64_t>(i)}, [&sim, seed_of, added] {
      const node_id n = sim.add_node();
      if (added) added(n);
      if (n > 0) sim.join(n, {seed_of(n)});
    });
  }
  sim.run_until(time_point{p.join_spacing * static_cast<std::int64_t>(p.nodes)});
}

warmup converge(simulator& sim, const run_params& p, const std::function<bool()>& converged) {
  warmup w;
  w.converged = sim.run_until_true(converged, p.max_warmup, 500ms);
  w.seconds = secs(sim.now().time_since_epoch());
  return w;
}

}  // namespace chorus::sim
