#pragma once
// The piggyback queue (memberlist.md 13.7, memberlist's
// TransmitLimitedQueue): encoded messages waiting to ride on outgoing packets.
//
// Selection order: fewest transmits first (fresh news spreads first), then
// longest first (fills packets well), then newest first. An item leaves after
// `transmit_limit` sends, retransmit_mult * ceil(log10(N + 1)): epidemic
// gossip reaches all N nodes with high probability in O(log N) rounds.
//
// Named items (memberlist's own: keyed by the node they are about) replace a
// queued item with the same name: newer news about a node supersedes older.
// Unnamed items (Serf's) are unique.
//
// Bounded: past `max_items`, items at the far end of the order (most sent,
// shortest, oldest) are dropped and counted.
//
// Ownership: a plain value, single-threaded, owned by the core.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "swim/messages.hpp"

namespace chorus::swim {

// retransmit_mult * ceil(log10(n + 1)).
int retransmit_limit(int retransmit_mult, std::size_t n);

class broadcast_queue {
 public:
  explicit broadcast_queue(std::size_t max_items = 1024) : max_items_(max_items) {}

  // Queues `msg` (an encoded message). A non-empty `name` invalidates the
  // queued item of that name. `token` != 0 is reported by take() or the
  // `finished` output once the item leaves the queue for any reason.
  void push(std::string name, bytes msg, std::uint64_t token, std::vector<std::uint64_t>& finished);

  // Appends to `out` items whose `overhead + size` fit in `limit` in total,
  // in selection order; counts a transmit for each. Returns the bytes used
  // (overheads included). Tokens of items that reached `transmit_limit` go to
  // `finished`.
  std::size_t take(std::size_t overhead, std::size_t limit, int transmit_limit, std::vector<bytes>& out,
                   std::vector<std::uint64_t>& finished);

  // Drops everything (e.g. on shutdown); tokens go to `finished`.
  void clear(std::vector<std::uint64_t>& finished);

  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  std::uint64_t dropped() const { return dropped_; }
  void set_max_items(std::size_t n) { max_items_ = n; }
  // Smallest size of a queued message (0 when empty): lets callers skip the
  // scan when nothing can fit.
  std::size_t min_size() const { return sizes_.empty() ? 0 : sizes_.begin()->first; }
  std::size_t bytes_queued() const { return bytes_; }

 private:
  struct item {
    int transmits = 0;
    std::uint64_t id = 0;  // insertion order
    std::string name;
    bytes msg;
    std::uint64_t token = 0;
  };
  struct order {
    bool operator()(const item* a, const item* b) const {
      if (a->transmits != b->transmits) return a->transmits < b->transmits;
      if (a->msg.size() != b->msg.size()) return a->msg.size() > b->msg.size();
      return a->id > b->id;
    }
  };
  // The set owns its items (heap-allocated so that re-ordering one after a
  // transmit does not move it and the name index can point at it).
  using set_type = std::set<item*, order>;

  void erase(set_type::iterator it, std::vector<std::uint64_t>& finished);
  void count(std::size_t size, int delta);

 public:
  ~broadcast_queue();
  broadcast_queue(const broadcast_queue&) = delete;
  broadcast_queue& operator=(const broadcast_queue&) = delete;

 private:
  std::size_t max_items_;
  set_type items_;
  std::unordered_map<std::string_view, item*> by_name_;  // views into item::name
  // Message sizes present (size -> items): lets take() stop as soon as
  // nothing left can fit, instead of scanning a long queue of alives.
  std::map<std::size_t, std::size_t> sizes_;
  std::size_t bytes_ = 0;
  std::uint64_t next_id_ = 1;
  std::uint64_t dropped_ = 0;
};

}  // namespace chorus::swim
