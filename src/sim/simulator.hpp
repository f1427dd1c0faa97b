#pragma once
// Many SWIM cores in one process over virtual time (STYLE #4-#7).
//
// One event queue ordered by (time, sequence number): pop what is due,
// dispatch it to its node's core, push the core's outputs back. Nodes exchange
// BYTES through the real codec (codec.hpp for datagrams, stream.hpp for TCP
// exchanges), so every simulation is also a codec test and its byte counts
// are honest. One exception, for speed at scale (options::wire_every): a
// push/pull table may be handed to the receiving core as the struct the
// sender built, charged at its exact encoded size (stream_body_size);
// encoding and decoding a 10,000-node table (~700 KB) was a sixth of a
// 10,000-node run. Every wire_every-th table still goes through the codec
// (its size checked against stream_body_size), and a table received either
// way leaves the same trace, so runs with and without the shortcut can be
// compared (tests/sim/swim/wire_test.cpp). Instance state only: simulators can run side by
// side. Randomness: one root seed; each node's core and the network get their
// own generator derived from it.
//
// Faults: loss, one-way loss and partitions (network.hpp); crash (the node
// drops everything, its timers die), restart (a fresh core with the same name
// and address joins a live node), stall (the node processes nothing for a
// while; what arrived meanwhile is handled, in order, when it wakes up: a GC
// pause or a starved VM, Lifeguard's motivating case).
//
// Above memberlist, Serf re-joins failed members every 30 s (its "reconnect"
// loop, with probability failed/alive per tick); without it a partition
// longer than the failure detector never heals.
// The simulator plays that role when options::reconnect is set.
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "sim/network.hpp"
#include "swim/core.hpp"

namespace chorus::sim {

struct options {
  std::uint64_t seed = 1;
  std::string profile = "lan";  // lan | wan | local
  swim::lifeguard_config lifeguard;
  duration dead_node_reclaim_time = 0s;
  std::size_t max_broadcasts = 1024;
  bool reconnect = true;              // Serf-like reconnect of failed members
  duration reconnect_interval = 30s;  // Serf's ReconnectInterval
  bool record_trace = false;          // keep a text line per dispatched event
  // Every wire_every-th push/pull table (request or reply) is encoded and
  // decoded; the others are handed over as structs (see above). 1: all
  // through the codec; 0: none (except Join tables, always encoded).
  std::uint32_t wire_every = 1;
};

using node_id = std::uint32_t;

class simulator {
 public:
  explicit simulator(options opt);
  ~simulator();
  simulator(const simulator&) = delete;
  simulator& operator=(const simulator&) = delete;

  // --- building a cluster -------------------------------------------------
  // Adds and starts a node named "n<id>" at 10.x.y.z:7946.
  node_id add_node();
  // Gives every node the full table at once (core::restore): a formed
  // cluster without replaying the join storm.
  void restore_full_membership();
  // Node `n` joins the nodes in `seeds` (push/pull with Join=true), now.
  void join(node_id n, const std::vector<node_id>& seeds);
  // Runs `fn` at virtual time `t` (a scripted event).
  void at(time_point t, std::function<void()> fn);

  // --- running ------------------------------------------------------------
  time_point now() const { return now_; }
  void run_until(time_point t);
  void run_for(duration d) { run_until(now_ + d); }
  // Runs until `pred()` holds (checked every `step`) or `timeout` passes.
  bool run_until_true(const std::function<bool()>& pred, duration timeout, duration step = 100ms);

  // --- faults -------------------------------------------------------------
  network& net() { return net_; }
  void crash(node_id n);
  void restart(node_id n);  // fresh core, joins a random live node
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
  swim::core& core(node_id n) { return *nodes_[n].core; }
  // A user broadcast queued at node n now (swim::core::queue_user_broadcast).
  void queue_user_broadcast(node_id n, std::span<const std::uint8_t> payload);
  static std::string name_of(node_id n) { return "n" + std::to_string(n); }
  static swim::address address_of(node_id n);
  // Inverse of name_of; size() when not a simulator name.
  node_id id_of(std::string_view name) const;
  // Member state of `subject` in `observer`'s table (nullopt: unknown).
  std::optional<swim::member_state> state_in(node_id observer, node_id subject) const;

  std::function<void(time_point, node_id observer, const swim::member_event&)> on_member_event;
  std::function<void(time_point, node_id observer, node_id subject)> on_suspect;
  std::function<void(time_point, node_id receiver, std::span<const std::uint8_t> payload)> on_user_message;

  struct totals {
    std::uint64_t events = 0;
    std::uint64_t udp_packets = 0, udp_bytes = 0, udp_dropped = 0, udp_oversize = 0;
    std::uint64_t tcp_exchanges = 0, tcp_bytes = 0, tcp_failed = 0;
    std::uint64_t decode_errors = 0;  // includes encoded sizes that disagreed with stream_body_size
    std::uint64_t push_pull_tables = 0, push_pull_tables_encoded = 0;
    std::uint64_t stall_dropped = 0;  // datagrams beyond a stalled node's receive buffer
  };
  // A stalled node's socket receive buffer: memberlist asks the kernel for
  // 2 MiB (its UDP read buffer); datagrams beyond that are dropped.
  static constexpr std::size_t stall_backlog_bytes = 2u << 20;
  const totals& stats() const { return totals_; }
  // FNV-1a over every dispatched event (time, node, kind, bytes) and member
  // event: equal hashes = identical runs.
  std::uint64_t trace_hash() const { return trace_hash_; }
  const std::vector<std::string>& trace() const { return trace_; }

 private:
  enum class ev : std::uint8_t {
    packet,
    timer,
    pp_request,
    pp_response,
    pp_failed,
    ping_request,
    ping_result,
    action,
    reconnect
  };
  struct event {
    time_point at;
    std::uint64_t seq;
    ev kind;
    node_id node;         // where it is dispatched
    node_id from;         // sender / initiator
    std::uint32_t epoch;  // the target's life this event belongs to (timers, exchange results)
    std::uint64_t token;  // timer token, exchange id, or action index
    time_point deadline;  // TCP exchanges
    swim::bytes data;
    std::unique_ptr<swim::push_pull> table = nullptr;  // a push/pull handed over without the codec
    std::size_t table_size = 0;                        // its encoded size
    std::size_t size() const { return table ? table_size : data.size(); }
  };
  // A push/pull table on its way: bytes or the struct (options::wire_every).
  struct table_payload {
    swim::bytes data;
    std::unique_ptr<swim::push_pull> table;
    std::size_t size = 0;
  };
  table_payload pack(swim::push_pull&& p);
  // The heap orders 16-byte keys; the events themselves sit in a slab with
  // a free list (a 10,000-node run keeps ~10^5 events pending, and sifting
  // 100-byte events through the heap cost more than dispatching them). The
  // heap is 4-ary: a node's four children share a cache line, half the
  // levels of a binary heap (each level was a cache miss at 10^5 events).
  // The order is (time, sequence number), as before.
  struct queued {
    std::int64_t at;         // microseconds
    std::uint64_t seq_slot;  // sequence number << slot_bits | slab slot
    bool before(const queued& o) const { return at != o.at ? at < o.at : seq_slot < o.seq_slot; }
  };
  static constexpr int slot_bits = 24;  // 16 M pending events; 2^40 events per run
  void heap_push(queued q);
  void heap_pop();
  class node_runtime;
  struct node {
    std::unique_ptr<swim::core> core;
    std::unique_ptr<node_runtime> rt;
    bool up = true;
    std::uint32_t epoch = 0;
    time_point stalled_until{};
    stall_mode stall_kind = stall_mode::freeze;
    std::size_t backlog_bytes = 0;  // datagrams held while stalled
    std::vector<node_id> failed;    // members seen failed (reconnect candidates)
  };

  node_id id_of_address(const swim::address& a) const;
  void push(event e);
  void dispatch(event& e);
  void make_core(node_id n);
  void mix(std::uint64_t v);
  void mix_bytes(std::span<const std::uint8_t> b);
  void mix_table(std::size_t size, const swim::push_pull* t);
  swim::config make_config(node_id n) const;

  options opt_;
  chorus::random_source root_rng_;
  chorus::random_source net_rng_;
  network net_;
  std::vector<node> nodes_;
  // 4-ary min-heap; element i at heap_[i + 3] in 64-byte aligned storage, so
  // that the children of i (4i+1 .. 4i+4) fill one cache line.
  template <class T>
  struct aligned_allocator {
    using value_type = T;
    aligned_allocator() = default;
    template <class U>
    aligned_allocator(const aligned_allocator<U>&) {}
    T* allocate(std::size_t n) { return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{64})); }
    void deallocate(T* p, std::size_t) { ::operator delete (p, std::align_val_t{64}); }
    bool operator==(const aligned_allocator&) const { return true; }
  };
  static constexpr std::size_t heap_pad = 3;
  std::vector<queued, aligned_allocator<queued>> heap_ = std::vector<queued, aligned_allocator<queued>>(heap_pad);
  std::uint64_t tables_sent_ = 0;
  std::vector<event> slab_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::function<void()>> actions_;
  time_point now_{};
  std::uint64_t seq_ = 0;
  totals totals_;
  std::uint64_t trace_hash_ = 1469598103934665603ULL;
  std::vector<std::string> trace_;
};

}  // namespace chorus::sim
