#include "sim/faults.hpp"

#include <array>
#include <utility>

namespace chorus::sim {

namespace {
constexpr std::array<std::pair<fault_kind, std::string_view>, 8> names{{
    {fault_kind::none, "none"},
    {fault_kind::lossy, "lossy"},
    {fault_kind::deaf, "deaf"},
    {fault_kind::mute, "mute"},
    {fault_kind::flip_flop, "flip-flop"},
    {fault_kind::starved, "starved"},
    {fault_kind::mass_crash, "mass-crash"},
    {fault_kind::partial_partition, "partial-partition"},
}};

// Deaf from `t` for flip_every, healthy for as long, again and again.
void flip(simulator& sim, const fault_plan& f, node_id n, time_point t, time_point end, bool deaf) {
  if (t >= end) return;
  sim.at(t, [&sim, f, n, t, end, deaf] {
    if (deaf)
      sim.net().set_node_loss(n, 1.0, 0, false);
    else
      sim.net().clear_node_loss(n);
    flip(sim, f, n, t + f.flip_every, end, !deaf);
  });
}

// Frozen for starve_for at the start of every starve_period.
void starve(simulator& sim, const fault_plan& f, node_id n, time_point t, time_point end) {
  if (t >= end) return;
  sim.at(t, [&sim, f, n, t, end] {
    if (sim.up(n)) sim.stall(n, f.starve_for, simulator::stall_mode::freeze);
    starve(sim, f, n, t + f.starve_period, end);
  });
}
}  // namespace

std::optional<fault_kind> parse_fault(std::string_view name) {
  for (const auto& [k, n] : names)
    if (n == name) return k;
  return std::nullopt;
}

std::string_view fault_name(fault_kind k) {
  for (const auto& [kind, n] : names)
    if (kind == k) return n;
  return "?";
}

std::vector<node_id> faulty_nodes(const fault_plan& f) {
  switch (f.kind) {
    case fault_kind::lossy:
    case fault_kind::deaf:
    case fault_kind::mute:
    case fault_kind::flip_flop:
      return {1};
    case fault_kind::starved: {
      std::vector<node_id> v;
      for (std::size_t i = 0; i < f.starved_nodes; ++i) v.push_back(static_cast<node_id>(1 + i));
      return v;
    }
    default:
      return {};
  }
}

void schedule_fault(simulator& sim, const fault_plan& f, time_point start, time_point end) {
  const node_id n = 1;
  switch (f.kind) {
    case fault_kind::lossy:
      sim.at(start, [&sim, f, n] { sim.net().set_node_loss(n, f.lossy_loss, f.lossy_loss, true); });
      break;
    case fault_kind::deaf:
      sim.at(start, [&sim, n] { sim.net().set_node_loss(n, 1.0, 0, false); });
      break;
    case fault_kind::mute:
      sim.at(start, [&sim, n] { sim.net().set_node_loss(n, 0, 1.0, false); });
      break;
    case fault_kind::flip_flop:
      flip(sim, f, n, start, end, true);
      break;
    case fault_kind::starved:
      for (node_id v : faulty_nodes(f)) starve(sim, f, v, start, end);
      break;
    case fault_kind::partial_partition:
      sim.at(start, [&sim] {
        sim.net().set_link_loss(partition_a, partition_b, 1.0);
        sim.net().set_link_loss(partition_b, partition_a, 1.0);
      });
      break;
    case fault_kind::none:
    case fault_kind::mass_crash:
      break;
  }
}

}  // namespace chorus::sim
