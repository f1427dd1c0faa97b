#pragma once
// Lifeguard local health awareness (memberlist.md 13.9). A node that misses
// its own acks is more likely slow itself (CPU starvation, a full socket
// buffer, a GC pause) than surrounded by dead peers. The score counts that
// evidence; the probe interval stretches by (score + 1), so a sick node probes
// less eagerly and gives peers' acks more time before accusing them.
#include <algorithm>

#include "swim/time.hpp"

namespace chorus::swim {

class awareness {
 public:
  // max_multiplier: scores live in [0, max_multiplier - 1]. enabled = false
  // pins the score at 0 (plain SWIM, for comparison runs).
  explicit awareness(int max_multiplier = 8, bool enabled = true)
      : max_(std::max(1, max_multiplier)), enabled_(enabled) {}

  // +1 for a failed probe or a refutation, -1 for a successful probe,
  // +missing-nacks for a failed probe whose helpers stayed silent.
  void apply_delta(int delta) {
    if (!enabled_) return;
    score_ = std::clamp(score_ + delta, 0, max_ - 1);
  }
  int score() const { return score_; }
  bool enabled() const { return enabled_; }
  bool at_max() const { return score_ >= max_ - 1; }
  duration scale(duration timeout) const { return timeout * (score_ + 1); }

 private:
  int max_;
  bool enabled_;
  int score_ = 0;
};

}  // namespace chorus::swim
