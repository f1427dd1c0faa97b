#pragma once
// Serf's Lamport clocks (../shared/protocol/serf.md section 3). Three
// independent ones stamp intents (member clock), user events and queries;
// receivers witness every stamp they see, so causally later messages always
// carry larger times and "newer" is decidable without synchronised clocks.
#include <cstdint>

namespace chorus::agent {

// The highest Lamport time accepted from the wire (agent/codec.cpp refuses
// messages above it). Witnessing 2^64 - 1 would wrap a clock to 0 and make
// every later event look old; clocks count up by one per event, so half the
// range is never reached by an honest cluster.
inline constexpr std::uint64_t max_wire_ltime = (std::uint64_t{1} << 63) - 1;

class lamport_clock {
 public:
  std::uint64_t time() const { return t_; }
  // Adds one; returns the new value.
  std::uint64_t increment() { return ++t_; }
  // A time seen elsewhere: move past it (nothing happens if it is older).
  // Saturates instead of wrapping (defence in depth: the codec already
  // refuses times above max_wire_ltime).
  void witness(std::uint64_t v) {
    if (v < t_) return;
    t_ = v == UINT64_MAX ? v : v + 1;
  }

 private:
  std::uint64_t t_ = 0;
};

}  // namespace chorus::agent
