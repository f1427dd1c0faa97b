#include "sim/event_queue.hpp"

#include <algorithm>
#include <stdexcept>

namespace chorus::sim {

void event_queue::push(event e) {
  e.seq = seq_++;
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slab_.size());
    slab_.emplace_back();
  }
  if (slot >> slot_bits) throw std::length_error("simulator: more than 2^24 pending events");
  heap_push({e.at.time_since_epoch().count(), (e.seq << slot_bits) | slot});
  slab_[slot] = std::move(e);
}

event event_queue::pop() {
  const auto slot = static_cast<std::uint32_t>(heap_[heap_pad].seq_slot & ((1u << slot_bits) - 1));
  heap_pop();
  event e = std::move(slab_[slot]);
  slab_[slot].data = swim::bytes{};  // the slab keeps no payloads alive
  free_slots_.push_back(slot);
  return e;
}

void event_queue::heap_push(queued q) {
  // Sift up from the new leaf, moving parents down into the hole.
  heap_.push_back(q);
  std::size_t i = heap_.size() - 1 - heap_pad;
  while (i > 0) {
    const std::size_t parent = (i - 1) / 4;
    if (!q.before(heap_[parent + heap_pad])) break;
    heap_[i + heap_pad] = heap_[parent + heap_pad];
    i = parent;
  }
  heap_[i + heap_pad] = q;
}

void event_queue::heap_pop() {
  // Move the last element into the root's hole and sift it down.
  const queued last = heap_.back();
  heap_.pop_back();
  const std::size_t n = heap_.size() - heap_pad;
  if (n == 0) return;
  queued* h = heap_.data() + heap_pad;
  std::size_t i = 0;
  for (;;) {
    const std::size_t first = 4 * i + 1;
    if (first >= n) break;
    std::size_t best = first;
    const std::size_t end = std::min(first + 4, n);
    for (std::size_t c = first + 1; c < end; ++c)
      if (h[c].before(h[best])) best = c;
    if (!h[best].before(last)) break;
    h[i] = h[best];
    i = best;
  }
  h[i] = last;
}

}  // namespace chorus::sim
