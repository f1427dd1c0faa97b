#pragma once
// Many nodes in one process over virtual time (STYLE #4-#7): bare SWIM cores
// or Serf agents (options::layer), on one event queue and one network model.
//
// One event queue ordered by (time, sequence number) (event_queue.hpp): pop
// what is due, dispatch it to its node, push the node's outputs back. Each
// node is a protocol state machine behind its runtime adapter (host.hpp:
// core_host for a bare swim::core, serf_host for an agent::serf). Nodes
// exchange bytes through the real codec, with or without the packet layer
// (wire.hpp). Instance state only: simulators can run side by side.
// Randomness: one root seed; each node's state machine and the network get
// their own generator derived from it, so a seed replays a run.
//
// Faults: loss, one-way loss and partitions (network.hpp); crash (the node
// drops everything, its timers die), restart (a fresh node with the same name
// and address joins a live node), stall (the node processes nothing for a
// while; what arrived meanwhile is handled, in order, when it wakes up: a GC
// pause or a starved VM, Lifeguard's motivating case).
//
// Above memberlist, Serf re-joins failed members every 30 s (its "reconnect"
// loop, with probability failed/alive per tick); without it a partition
// longer than the failure detector never heals. Serf nodes run their own;
// for bare cores the simulator plays that role when options::reconnect is set.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/core_host.hpp"
#include "sim/event_queue.hpp"
#include "sim/measure.hpp"
#include "sim/network.hpp"
#include "sim/serf_host.hpp"
#include "sim/trace.hpp"
#include "sim/wire.hpp"

namespace chorus::sim {

enum class node_layer : std::uint8_t {
  swim,  // bare swim::cores (memberlist)
  serf,  // agent::serf nodes: events, queries, intents on top of memberlist
};

struct options {
  std::uint64_t seed = 1;
  node_layer layer = node_layer::swim;
  std::string profile = "lan";  // lan | wan | local
  swim::lifeguard_config lifeguard;
  duration dead_node_reclaim_time = 0s;
  std::size_t max_broadcasts = 1024;
  // swim::config's; memberlist_confirmed_min_scale (1) for memberlist's timeouts
  double suspicion_confirmed_min_scale = swim::chorus_confirmed_min_scale;
  duration refuted_floor_window = swim::config{}.refuted_floor_window;  // swim::config's
  bool reconnect = true;              // Serf-like reconnect of failed members (bare cores)
  duration reconnect_interval = 30s;  // Serf's ReconnectInterval
  bool record_trace = false;          // keep a text line per dispatched event
  // Every wire_every-th push/pull table (request or reply) is encoded and
  // decoded; the others are handed over as structs (wire.hpp). 1: all
  // through the codec; 0: none (except Join tables, always encoded).
  std::uint32_t wire_every = 1;
  // The packet layer (wire.hpp): datagrams sealed and opened, streams sealed;
  // nodes given a keyring encrypt.
  bool seal = false;
  bool compress = true;      // with seal: LZW (datagrams only when it is shorter, as memberlist)
  bool record_serf = false;  // keep what each Serf node reported (simulator::seen)
};

// The options a scripted run's parameters imply; each scenario adds its own.
options options_for(const run_params& p, node_layer layer);

// How a node is made (Serf nodes: tags and a keyring; bare cores ignore both).
struct node_spec {
  agent::tag_map tags;
  const swim::keyring* keys = nullptr;  // copied into the node's own keyring
};

class simulator : private node_sink {
 public:
  explicit simulator(options opt);
  ~simulator();
  simulator(const simulator&) = delete;
  simulator& operator=(const simulator&) = delete;

  // --- building a cluster -------------------------------------------------
  // Adds and starts a node named "n<id>" at 10.x.y.z:7946.
  node_id add_node(const node_spec& spec = {});
  // A formed cluster without replaying the join storm (N^2 alive receipts,
  // and as many join intents with Serf): every bare core gets the full
  // table at once (core::restore: as if learned long ago, nothing gossiped);
  // every Serf node gets it as one push/pull from n0 (memberlist then
  // gossips each new member once more, as after any join).
  void restore_full_membership();
  // Node `n` joins the nodes in `seeds` (push/pull with Join=true), now.
  void join(node_id n, const std::vector<node_id>& seeds, bool replay = false);
  // Runs `fn` at virtual time `t` (a scripted event).
  void at(time_point t, std::function<void()> fn);
  // Tweaks a Serf node's config before it is created (index: its node id).
  std::function<void(agent::serf_config&, node_id)> configure_serf;

  // --- running ------------------------------------------------------------
  time_point now() const override { return now_; }
  void run_until(time_point t);
  void run_for(duration d) { run_until(now_ + d); }
  // Runs until `pred()` holds (checked every `step`) or `timeout` passes.
  bool run_until_true(const std::function<bool()>& pred, duration timeout, duration step = 100ms);

  // --- faults -------------------------------------------------------------
  network& net() { return net_; }
  void crash(node_id n);
  void restart(node_id n);                // a fresh node, joins a random live node
  void restart(node_id n, node_id seed);  // a fresh node, joins `seed`
  // How a stalled node misbehaves.
  //  freeze:  the whole process pauses (GC pause, SIGSTOP, a descheduled
  //           VM): no timer fires, nothing is sent, what arrives waits in
  //           the socket buffer; on waking, overdue timers run first, then
  //           the backlog.
  //  receive: only the receive path starves (CPU exhaustion with the
  //           packet handler behind): timers fire and the node keeps
  //           probing and gossiping, but acks, nacks, gossip and TCP
  //           replies wait until the stall ends. The node sees its own
  //           probes time out: the case Lifeguard's awareness and nacks are
  //           built for.
  enum class stall_mode : std::uint8_t { freeze, receive };
  void stall(node_id n, duration d, stall_mode mode = stall_mode::freeze);
  void leave(node_id n);  // graceful leave

  // --- observing ----------------------------------------------------------
  std::size_t size() const { return nodes_.size(); }
  bool up(node_id n) const { return nodes_[n].up; }
  bool stalled(node_id n) const { return nodes_[n].stalled_until > now_; }
  const swim::core& core(node_id n) const { return nodes_[n].machine->core(); }
  static std::string name_of(node_id n) { return "n" + std::to_string(n); }
  static swim::address address_of(node_id n);
  // Inverse of name_of; size() when not a simulator name.
  node_id id_of(std::string_view name) const;
  // Member state of `subject` in `observer`'s memberlist table (nullopt: unknown).
  std::optional<swim::member_state> state_in(node_id observer, node_id subject) const;

  // --- bare cores -----------------------------------------------------------
  // A user broadcast queued at node n now (swim::core::queue_user_broadcast).
  void queue_user_broadcast(node_id n, std::span<const std::uint8_t> payload);
  std::function<void(time_point, node_id observer, const swim::member_event&)> on_member_event;
  std::function<void(time_point, node_id observer, node_id subject)> on_suspect;
  std::function<void(time_point, node_id receiver, std::span<const std::uint8_t> payload)> on_user_message;

  // --- Serf nodes -----------------------------------------------------------
  serf_hooks serf_events;
  agent::serf& serf(node_id n) { return serf_of(n).serf(); }
  // Runs fn(serf, its runtime, now) on node n: how a driver issues a command.
  template <class F>
  auto with_serf(node_id n, F fn) {
    auto& h = serf_of(n);
    return fn(h.serf(), h.runtime(), now_);
  }
  observed& seen(node_id n) { return serf_of(n).seen(); }  // options::record_serf
  swim::keyring& keyring(node_id n) { return *nodes_[n].keys; }
  // Serf status of `subject` at `observer` (none: unknown).
  agent::member_status status_in(node_id observer, node_id subject);
  // Every other up node holds `subject` at status `s`.
  bool status_everywhere(node_id subject, agent::member_status s);

  // A stalled node's socket receive buffer: memberlist asks the kernel for
  // 2 MiB (its UDP read buffer); datagrams beyond that are dropped.
  static constexpr std::size_t stall_backlog_bytes = 2u << 20;
  totals stats() const;
  // FNV-1a over every dispatched event (time, node, kind, bytes) and member
  // event: equal hashes = identical runs.
  std::uint64_t trace_hash() const { return trace_.hash(); }
  const std::vector<std::string>& trace() const { return trace_.lines(); }

 private:
  using ev = event_kind;
  struct node {
    std::unique_ptr<sim::host> machine;
    std::unique_ptr<swim::keyring> keys = std::make_unique<swim::keyring>();  // stable: a serf holds a pointer
    agent::tag_map tags;
    bool up = true;
    std::uint32_t epoch = 0;
    time_point stalled_until{};
    stall_mode stall_kind = stall_mode::freeze;
    std::size_t backlog_bytes = 0;  // datagrams held while stalled
    std::vector<node_id> failed;    // members seen failed (reconnect candidates, bare cores)
  };

  // --- node_sink (what the runtime adapters call) ----------------------------
  swim::send_result send_packet(node_id from, const swim::address& to, swim::bytes packet, bool crc) override;
  void set_timer(node_id n, time_point at, swim::timer_token token) override;
  void start_push_pull(node_id from, const swim::address& to, swim::exchange_id id, const swim::push_pull& request,
                       time_point deadline) override;
  void start_push_pull(node_id from, const swim::address& to, swim::exchange_id id, swim::push_pull&& request,
                       time_point deadline) override;
  void start_tcp_ping(node_id from, const swim::address& to, swim::exchange_id id, const swim::ping& request,
                      time_point deadline) override;
  void defer(node_id n, std::function<void()> fn) override;
  void member_changed(node_id n, const swim::member_event& e) override;
  void member_suspected(node_id n, const swim::member_info& m) override;
  void user_message(node_id n, std::span<const std::uint8_t> payload) override;

  // --- building and steps of the event loop (simulator.cpp, dispatch.cpp) ----
  void make_node(node_id n);
  void revive(node_id n);  // up again, a fresh state machine
  swim::config make_config(node_id n) const;
  core_host& bare_of(node_id n);
  serf_host& serf_of(node_id n);
  node_id id_of_address(const swim::address& a) const;
  const swim::keyring* keys_of(node_id n) const;
  void push(event e);
  void start_exchange(node_id from, const swim::address& to, swim::exchange_id id, stream_payload payload,
                      time_point deadline, ev request_kind, ev fail_kind);
  void dispatch(event& e);
  void fail_at_down_node(event& e);
  bool hold_while_stalled(event& e);
  // Mixes the event into the trace; a push/pull event's table (decoded into
  // `opened` when it came as bytes; nullptr when undecodable).
  const swim::push_pull* trace_event(event& e, swim::opened_stream& opened);
  void deliver_packet(event& e);
  void answer_push_pull(event& e, const swim::push_pull* table);
  void answer_ping(event& e);
  void finish_ping(event& e);
  void reconnect_tick(event& e);

  options opt_;
  chorus::random_source root_rng_;
  chorus::random_source net_rng_;
  network net_;
  wire wire_;
  std::vector<node> nodes_;
  event_queue queue_;
  std::vector<std::function<void()>> actions_;
  time_point now_{};
  totals totals_;
  run_trace trace_;
};

}  // namespace chorus::sim
