#pragma once
// Lifeguard's suspicion timeout (memberlist.md 13.8). SWIM gives a suspect a
// fixed time to refute before it is declared dead. Lifeguard starts that
// timer long (max) when confirmations can be expected and shrinks it towards
// min as *independent* peers confirm the suspicion: one slow accuser alone
// cannot kill a healthy node quickly, many agreeing accusers still can.
//
//   T(c) = max(min, max - log(c + 1) / log(k + 1) * (max - min))
//
// c = confirmations so far (capped at k = suspicion_mult - 2).
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "swim/time.hpp"

namespace chorus::swim {

// min = suspicion_mult * max(1, log10(max(1, n))) * probe_interval, computed
// as memberlist does: the scale factor truncated to whole thousandths first.
inline duration suspicion_timeout_min(int suspicion_mult, std::size_t n, duration probe_interval) {
  const double scale = std::max(1.0, std::log10(std::max(1.0, static_cast<double>(n))));
  const auto thousandths = static_cast<std::int64_t>(scale * 1000);
  return duration{suspicion_mult * thousandths * probe_interval.count() / 1000};
}

// Confirmations to expect: suspicion_mult - 2, or 0 when there are too few
// other peers (n - 2 < k) to send them.
inline int suspicion_confirmations_expected(int suspicion_mult, std::size_t n) {
  const int k = suspicion_mult - 2;
  return (static_cast<std::int64_t>(n) - 2 < k) ? 0 : std::max(0, k);
}

// The timeout after c confirmations, floored to whole milliseconds.
inline duration suspicion_timeout(duration min, duration max, int k, int c) {
  if (k < 1) return min;
  const double frac = std::log(c + 1.0) / std::log(k + 1.0);
  const double raw_ms = (static_cast<double>(max.count()) - frac * static_cast<double>((max - min).count())) / 1000.0;
  const duration t =
      std::chrono::duration_cast<duration>(std::chrono::milliseconds{static_cast<std::int64_t>(std::floor(raw_ms))});
  return t < min ? min : t;
}

// One node's suspicion: who accused, who confirmed, when it started.
class suspicion {
 public:
  suspicion(time_point start, duration min, duration max, int k, std::string accuser)
      : start_(start), min_(min), max_(max), k_(k) {
    if (k_ < 1) max_ = min_;  // nothing can shrink it: plain timeout
    seen_.push_back(std::move(accuser));
  }

  // Records a confirmation from `from`. True if it was new and counted (then
  // the caller re-gossips the suspect and re-arms its timer at deadline()).
  bool confirm(const std::string& from) {
    if (confirmations_ >= k_) return false;
    for (const auto& s : seen_)
      if (s == from) return false;
    seen_.push_back(from);
    ++confirmations_;
    return true;
  }

  // Someone other than `name` accused or confirmed.
  bool accused_by_other_than(const std::string& name) const {
    for (const auto& s : seen_)
      if (s != name) return true;
    return false;
  }

  time_point start() const { return start_; }
  int confirmations() const { return confirmations_; }
  int expected() const { return k_; }
  duration timeout() const { return suspicion_timeout(min_, max_, k_, confirmations_); }
  duration max_timeout() const { return max_; }
  time_point deadline() const { return start_ + timeout(); }

 private:
  time_point start_;
  duration min_, max_;
  int k_;
  int confirmations_ = 0;
  std::vector<std::string> seen_;  // accuser + confirmers; at most k + 1 names
};

}  // namespace chorus::swim
