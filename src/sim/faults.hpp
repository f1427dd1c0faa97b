#pragma once
// The hard faults of issue 15, scripted on a simulator: one node that loses
// 80 % of its traffic both ways, one that hears no UDP (deaf), one that sends
// none (mute), a deaf node switched on and off (flip-flop), nodes frozen 4 s
// of every 5 s (starved), many nodes crashed at once and restarted (mass
// crash), and two nodes that cannot reach each other while everyone else
// reaches both (partial partition). bench/faults/run.py makes the same
// faults with iptables and SIGSTOP on real agents.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "sim/simulator.hpp"

namespace chorus::sim {

enum class fault_kind : std::uint8_t { none, lossy, deaf, mute, flip_flop, starved, mass_crash, partial_partition };

std::optional<fault_kind> parse_fault(std::string_view name);
std::string_view fault_name(fault_kind k);

struct fault_plan {
  fault_kind kind = fault_kind::none;
  duration start = 10s;       // into the measurement window; the fault lasts to its end
  double lossy_loss = 0.8;    // lossy: each direction, UDP and TCP
  duration flip_every = 20s;  // flip-flop: deaf for this long, then healthy as long, ...
  std::size_t starved_nodes = 2;
  duration starve_period = 5s, starve_for = 4s;  // starved: frozen starve_for of every starve_period
  // Mass crash: this many killed at once, restarted with the same names
  // scenario_params::restart_after later.
  std::size_t crash_count = 10;
};

// The nodes the fault itself breaks (node ids 1, 2, ...): they are not
// healthy, their failures are detections, not false failures. None for a
// mass crash (the crashed nodes are tracked as crashes) and for a partial
// partition (its two nodes are healthy: everyone else reaches both).
std::vector<node_id> faulty_nodes(const fault_plan& f);
// The two nodes a partial partition separates.
inline constexpr node_id partition_a = 1, partition_b = 2;

// Schedules every fault but the mass crash (the scenario crashes and
// restarts those nodes itself, to time their detection) from `start` to
// `end`.
void schedule_fault(simulator& sim, const fault_plan& f, time_point start, time_point end);

}  // namespace chorus::sim
