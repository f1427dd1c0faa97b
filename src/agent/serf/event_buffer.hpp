#pragma once
// Recent user events and queries, for de-duplication and anti-entropy
// (../shared/protocol/serf.md sections 7, 9.2, 11).
//
// Both are rings of `size` slots indexed by LTime mod size. A slot holds one
// Lamport time and everything seen with it; a newer time replaces the slot.
// Anything older than (current clock - size) is "old" and rejected, since its
// slot may have been reused and a duplicate could no longer be recognised.
// The event ring is also what a push/pull carries in `Events`, nil slots
// included.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "agent/serf/messages.hpp"

namespace chorus::agent {

enum class buffer_verdict : std::uint8_t {
  fresh,      // new: deliver and rebroadcast
  too_early,  // below the minimum time (snapshot restore, non-replay join)
  old,        // older than the ring covers
  duplicate,  // already seen
};
const char* to_string(buffer_verdict v);

class event_buffer {
 public:
  explicit event_buffer(std::size_t size = 512) : slots_(size ? size : 1) {}
  // `clock_now` is the event clock after witnessing e.ltime.
  buffer_verdict add(std::uint64_t ltime, std::string_view name, std::span<const std::uint8_t> payload,
                     std::uint64_t clock_now);
  std::uint64_t min_time() const { return min_time_; }
  void raise_min_time(std::uint64_t t) {
    if (t > min_time_) min_time_ = t;
  }
  const std::vector<std::optional<event_slot>>& slots() const { return slots_; }

 private:
  std::vector<std::optional<event_slot>> slots_;
  std::uint64_t min_time_ = 0;
};

class query_buffer {
 public:
  explicit query_buffer(std::size_t size = 512) : slots_(size ? size : 1) {}
  buffer_verdict add(std::uint64_t ltime, std::uint32_t id, std::uint64_t clock_now);
  std::uint64_t min_time() const { return min_time_; }
  void raise_min_time(std::uint64_t t) {
    if (t > min_time_) min_time_ = t;
  }

 private:
  struct slot {
    std::uint64_t ltime = 0;
    std::vector<std::uint32_t> ids;
  };
  std::vector<std::optional<slot>> slots_;
  std::uint64_t min_time_ = 0;
};

}  // namespace chorus::agent
