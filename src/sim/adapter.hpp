#pragma once
// What the two runtime adapters (core_host.hpp, serf_host.hpp) share: the
// state machine's inputs, called with the adapter as its runtime, and the
// I/O half of that runtime, forwarded to the simulator with the node's id.
// swim::core and agent::serf take the same arguments at these entry points,
// and swim::runtime and agent::serf_runtime declare the same I/O calls.
#include <utility>

#include "sim/host.hpp"

namespace chorus::sim {

template <class Machine, class Runtime>
class adapter : public host, protected Runtime {
 public:
  template <class... Args>
  adapter(node_id id, node_sink& sink, Args&&... machine_args)
      : machine_(std::forward<Args>(machine_args)...), id_(id), sink_(sink) {}

  // --- host ---------------------------------------------------------------
  void start(time_point now) override { machine_.start(now, rt()); }
  void leave(time_point now) override { machine_.leave(now, rt()); }
  void handle_packet(time_point now, const swim::address& from, std::span<const std::uint8_t> payload) override {
    machine_.handle_packet(now, from, payload, rt());
  }
  void handle_timer(time_point now, swim::timer_token token) override { machine_.handle_timer(now, token, rt()); }
  swim::push_pull handle_push_pull(time_point now, const swim::address& from, const swim::push_pull& remote) override {
    return machine_.handle_push_pull(now, from, remote, rt());
  }
  std::optional<swim::ack> handle_stream_ping(const swim::ping& p) const override {
    return machine_.handle_stream_ping(p);
  }
  void push_pull_completed(time_point now, swim::exchange_id id, const swim::push_pull& remote) override {
    machine_.push_pull_completed(now, id, remote, rt());
  }
  void push_pull_failed(time_point now, swim::exchange_id id) override { machine_.push_pull_failed(now, id, rt()); }
  void tcp_ping_completed(time_point now, swim::exchange_id id, bool ok) override {
    machine_.tcp_ping_completed(now, id, ok, rt());
  }

 protected:
  Runtime& rt() { return *this; }

  // --- the runtime's I/O half ----------------------------------------------
  swim::send_result send_packet(const swim::address& to, swim::bytes packet, bool crc) override {
    return sink_.send_packet(id_, to, std::move(packet), crc);
  }
  void set_timer(time_point at, swim::timer_token token) override { sink_.set_timer(id_, at, token); }
  void start_push_pull(const swim::address& to, swim::exchange_id id, const swim::push_pull& request,
                       time_point deadline) override {
    sink_.start_push_pull(id_, to, id, request, deadline);
  }
  void start_tcp_ping(const swim::address& to, swim::exchange_id id, const swim::ping& request,
                      time_point deadline) override {
    sink_.start_tcp_ping(id_, to, id, request, deadline);
  }

  Machine machine_;
  node_id id_;
  node_sink& sink_;
};

}  // namespace chorus::sim
