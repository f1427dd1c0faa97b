#pragma once
// Serf's Lamport clocks (../shared/protocol/serf.md section 3). Three
// independent ones stamp intents (member clock), user events and queries;
// receivers witness every stamp they see, so causally later messages always
// carry larger times and "newer" is decidable without synchronised clocks.
#include <cstdint>

namespace chorus::agent {

class lamport_clock {
 public:
  std::uint64_t time() const { return t_; }
  // Adds one; returns the new value.
  std::uint64_t increment() { return ++t_; }
  // A time seen elsewhere: move past it (nothing happens if it is older).
  void witness(std::uint64_t v) {
    if (v < t_) return;
    t_ = v + 1;
  }

 private:
  std::uint64_t t_ = 0;
};

}  // namespace chorus::agent
