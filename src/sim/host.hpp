#pragma once
// One simulated node as the simulator sees it: a protocol state machine
// behind its runtime adapter (`host`), and the simulator's side of that
// runtime (`node_sink`).
//
// The simulator drives either layer with the same event queue and network:
// core_host.hpp wraps a bare swim::core, serf_host.hpp an agent::serf (which
// owns its core). Each adapter is one small class in one file: it turns the
// simulator's events into the state machine's entry points, and the state
// machine's runtime calls into node_sink calls with its node id. A change to
// swim::runtime or agent::serf_runtime touches only that file.
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "sim/event_queue.hpp"
#include "swim/address.hpp"
#include "swim/core.hpp"
#include "swim/packet.hpp"

namespace chorus::sim {

// What a node's runtime adapter hands to the simulator. Called from inside
// the state machine's entry points (swim::runtime's contract): everything is
// queued, nothing re-enters a node.
class node_sink {
 public:
  // --- the I/O half of the runtime (see swim::runtime for the contracts) ---
  virtual swim::send_result send_packet(node_id from, const swim::address& to, swim::bytes packet, bool crc) = 0;
  virtual void set_timer(node_id n, time_point at, swim::timer_token token) = 0;
  // A table the node keeps (a join's, sent to each seed).
  virtual void start_push_pull(node_id from, const swim::address& to, swim::exchange_id id,
                               const swim::push_pull& request, time_point deadline) = 0;
  // A table the node hands over (the simulator may pass the struct on).
  virtual void start_push_pull(node_id from, const swim::address& to, swim::exchange_id id, swim::push_pull&& request,
                               time_point deadline) = 0;
  virtual void start_tcp_ping(node_id from, const swim::address& to, swim::exchange_id id, const swim::ping& request,
                              time_point deadline) = 0;
  // Runs `fn` as node n's own work at the current time, after the call in
  // progress returned; dropped if the node crashes first. For what an agent
  // does in answer to an event (a query response).
  virtual void defer(node_id n, std::function<void()> fn) = 0;
  virtual time_point now() const = 0;

  // --- news from a bare core (the Serf layer reports through serf_hooks) ---
  virtual void member_changed(node_id n, const swim::member_event& e) = 0;
  virtual void member_suspected(node_id n, const swim::member_info& m) = 0;
  virtual void user_message(node_id n, std::span<const std::uint8_t> payload) = 0;

 protected:
  ~node_sink() = default;
};

// The inputs of one node's state machine.
class host {
 public:
  virtual ~host() = default;
  virtual void start(time_point now) = 0;
  // replay: Serf's replay of old user events (bare cores ignore it).
  virtual void join(time_point now, std::span<const swim::address> seeds, bool replay) = 0;
  virtual void leave(time_point now) = 0;
  // A datagram's payload when the packet layer is off: a message or a compound.
  virtual void handle_packet(time_point now, const swim::address& from, std::span<const std::uint8_t> payload) = 0;
  // One message of a datagram the simulator opened (options::seal).
  virtual void handle_message(time_point now, const swim::address& from, const swim::packet_message& m) = 0;
  virtual void handle_timer(time_point now, swim::timer_token token) = 0;
  virtual swim::push_pull handle_push_pull(time_point now, const swim::address& from,
                                           const swim::push_pull& remote) = 0;
  virtual std::optional<swim::ack> handle_stream_ping(const swim::ping& p) const = 0;
  virtual void push_pull_completed(time_point now, swim::exchange_id id, const swim::push_pull& remote) = 0;
  virtual void push_pull_failed(time_point now, swim::exchange_id id) = 0;
  virtual void tcp_ping_completed(time_point now, swim::exchange_id id, bool ok) = 0;
  // The node's memberlist core (a Serf node's is inside its serf object).
  virtual const swim::core& core() const = 0;
};

}  // namespace chorus::sim
