#pragma once
// The simulator's one event queue (STYLE #4): events ordered by (time,
// sequence number), so events due at the same time run in the order they
// were scheduled and a seed replays exactly.
//
// Layout, for speed at scale: the heap orders 16-byte keys; the events
// themselves sit in a slab with a free list (a 10,000-node run keeps ~10^5
// events pending, and sifting 100-byte events through the heap cost more than
// dispatching them). The heap is 4-ary: a node's four children share a cache
// line, half the levels of a binary heap (each level was a cache miss at 10^5
// events).
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "swim/messages.hpp"
#include "swim/time.hpp"

namespace chorus::sim {

using swim::duration;
using swim::time_point;
using namespace std::chrono_literals;
using node_id = std::uint32_t;

// What an event asks of its node. The order is part of the trace hash (a
// kind is mixed in as its number): append only.
enum class event_kind : std::uint8_t {
  packet,        // a UDP datagram arrives
  timer,         // a timer the node asked for fires
  pp_request,    // a peer's push/pull request arrives (we answer)
  pp_response,   // the answer to our push/pull arrives
  pp_failed,     // our push/pull failed (refused, timed out)
  ping_request,  // a peer's TCP ping arrives
  ping_result,   // our TCP ping's outcome (data: the ack, empty: failed)
  action,        // a scripted function (simulator::at)
  reconnect,     // the Serf-like reconnect tick of a bare core
  node_action,   // a function bound to one life of a node (simulator::defer)
};

struct event {
  time_point at;
  std::uint64_t seq;
  event_kind kind;
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

class event_queue {
 public:
  // Assigns the sequence number; `e.at` must not be in the past (the
  // simulator clamps it).
  void push(event e);
  // Whether an event is due at or before `t`.
  bool due(time_point t) const { return heap_.size() > heap_pad && heap_[heap_pad].at <= t.time_since_epoch().count(); }
  // Removes and returns the earliest event. Only when something is due.
  event pop();

 private:
  struct queued {
    std::int64_t at;         // microseconds
    std::uint64_t seq_slot;  // sequence number << slot_bits | slab slot
    bool before(const queued& o) const { return at != o.at ? at < o.at : seq_slot < o.seq_slot; }
  };
  static constexpr int slot_bits = 24;  // 16 M pending events; 2^40 events per run
  void heap_push(queued q);
  void heap_pop();

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
  std::vector<event> slab_;
  std::vector<std::uint32_t> free_slots_;
  std::uint64_t seq_ = 0;
};

}  // namespace chorus::sim
