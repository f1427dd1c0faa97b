#pragma once
// Protocol time as data (STYLE #2): the core never reads a clock. Whoever
// drives it (the Asio transport, the simulator) passes `now` into every call.
// Integer microseconds over int64: exact, totally ordered, and cheap to
// compare, so two runs with the same inputs give the same outputs.
#include <chrono>
#include <cstdint>

namespace chorus::swim {

// A clock with no now(): only a tag for time points on the driver's timeline.
// The epoch is whatever the driver chooses (the simulator starts at 0; the
// Asio layer uses steady_clock's epoch).
struct protocol_clock {
  using rep = std::int64_t;
  using period = std::micro;
  using duration = std::chrono::duration<rep, period>;
  using time_point = std::chrono::time_point<protocol_clock, duration>;
  static constexpr bool is_steady = true;
};

using duration = protocol_clock::duration;
using time_point = protocol_clock::time_point;

using namespace std::chrono_literals;

}  // namespace chorus::swim
