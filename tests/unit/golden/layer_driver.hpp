#pragma once
// What the core's and the Serf layer's drivers have in common: both nodes
// (swim::core, agent::serf) take the same inputs, and both output sinks
// (swim::runtime, agent::serf_runtime) share the transport half. This
// template routes the driver's inputs to the node, with `now_` and itself as
// the sink, and the node's transport effects to the driver's output lines;
// a layer adds its events and commands.
#include <utility>

#include "driver.hpp"

namespace golden {

template <class Node, class Runtime>
class layer_driver : public driver, protected Runtime {
 protected:
  template <class... Args>
  explicit layer_driver(Args&&... args) : node_(std::forward<Args>(args)...) {}

  // The sink the node's entry points take: this driver, as its runtime (the
  // base is protected, so only the driver itself can hand it out).
  Runtime& rt() { return *this; }

  // --- driver ----------------------------------------------------------------
  void deliver(const address& from, const bytes& packet) override { node_.handle_packet(now_, from, packet, rt()); }
  void fire(timer_token t) override { node_.handle_timer(now_, t, rt()); }
  void push_pull_done(exchange_id id, const chorus::swim::push_pull* remote) override {
    if (remote)
      node_.push_pull_completed(now_, id, *remote, rt());
    else
      node_.push_pull_failed(now_, id, rt());
  }
  void tcp_ping_done(exchange_id id, bool ok) override { node_.tcp_ping_completed(now_, id, ok, rt()); }

  // --- the sink's transport half ---------------------------------------------
  chorus::swim::send_result send_packet(const address& to, bytes packet, bool) override {
    sent(to, packet);
    return chorus::swim::send_result::sent;
  }
  void set_timer(time_point at, timer_token t) override { timer(at, t); }
  using Runtime::start_push_pull;
  void start_push_pull(const address& to, exchange_id id, const chorus::swim::push_pull& r, time_point) override {
    push_pull_started(to, id, r.join);
  }
  void start_tcp_ping(const address& to, exchange_id id, const chorus::swim::ping& p, time_point) override {
    tcp_ping_started(to, id, p);
  }

  // Runs the layer's start command once (it must come first).
  template <class Start>
  void start_once(const directive& d, Start start) {
    if (started_) throw std::runtime_error(d.command + ": already started");
    started_ = true;
    start();
  }

  Node node_;

 private:
  bool started_ = false;
};

}  // namespace golden
