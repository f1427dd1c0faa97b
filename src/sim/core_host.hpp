#pragma once
// A bare swim::core in the simulator: the host's inputs go to the core, the
// core's runtime calls go to the simulator (node_sink). The only place that
// implements swim::runtime for simulations (its I/O half in adapter.hpp).
#include "sim/adapter.hpp"

namespace chorus::sim {

class core_host final : public adapter<swim::core, swim::runtime> {
 public:
  core_host(swim::config cfg, std::uint64_t seed, node_id id, node_sink& sink)
      : adapter(id, sink, std::move(cfg), seed) {}

  // --- host ---------------------------------------------------------------
  void join(time_point now, std::span<const swim::address> seeds, bool) override { machine_.join(now, seeds, rt()); }
  void handle_message(time_point now, const swim::address& from, const swim::packet_message& m) override {
    machine_.handle_message(now, from, m.msg, rt());
  }
  const swim::core& core() const override { return machine_; }

  // --- bare-core commands ---------------------------------------------------
  void restore(time_point now, std::span<const swim::push_node_state> nodes) { machine_.restore(now, nodes, rt()); }
  void queue_user_broadcast(time_point now, std::span<const std::uint8_t> payload) {
    machine_.queue_user_broadcast(now, payload, rt());
  }

 private:
  // --- swim::runtime beyond the I/O half ------------------------------------
  using adapter::start_push_pull;
  // A table the core hands over: the simulator may pass the struct on.
  void start_push_pull(const swim::address& to, swim::exchange_id id, swim::push_pull&& request,
                       time_point deadline) override {
    sink_.start_push_pull(id_, to, id, std::move(request), deadline);
  }
  void member_changed(const swim::member_event& e) override { sink_.member_changed(id_, e); }
  void member_suspected(const swim::member_info& m, std::string_view) override { sink_.member_suspected(id_, m); }
  void user_message(std::span<const std::uint8_t> payload) override { sink_.user_message(id_, payload); }
};

}  // namespace chorus::sim
