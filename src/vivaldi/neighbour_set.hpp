#pragma once
// A bounded set of the peers a node has measured, with each one's latest
// coordinate and filtered RTT, and the local fit against all of them: the
// chorus algorithm's step that moves a node to where its whole neighbourhood,
// not just the last spring, says it belongs (docs/vivaldi.md, "neighbour
// fit").
//
// Fixed capacity, allocated once: memory is O(min(capacity, peers measured))
// per client and the fit costs O(capacity) per update. Deterministic: no
// randomness, eviction and fitting depend only on the observations.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "vivaldi/coordinate.hpp"

namespace chorus::vivaldi {

// Where a peer's entry lives: kept in the client's per-peer state so that a
// lookup is one comparison. A slot is valid only while the entry there still
// carries the same tag (an evicted peer's slot is simply reused).
struct neighbour_ref {
  std::uint32_t tag = 0;  // 0 = no tag assigned yet
  std::uint32_t slot = 0;
};

// Knobs of the fit (chorus_tuning holds the configured values).
struct neighbour_fit_params {
  double gain;         // fraction of the way to the fitted position moved per update
  double height_gain;  // fraction of the weighted mean residual added to the height
  double huber;        // relative residual beyond which a neighbour's weight decays as huber / |e|
  double height_min;
};

class neighbour_set {
 public:
  neighbour_set() = default;
  neighbour_set(std::size_t capacity, std::size_t dimensionality);

  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  // Mean of the neighbours' error estimates as recorded (0 when empty): how
  // settled the peers this node measures are. A pass over the entries: the
  // client asks only during its first steps.
  double mean_error() const;

  // Records (or refreshes) the peer behind `ref` (tagged `tag`, unique per
  // peer and never 0) with its coordinate and filtered RTT in seconds; the
  // entry's RTT is the running mean of the last `average` filtered RTTs
  // (about: an exponential average once full). `now` orders entries by
  // freshness for eviction. The entry weighs 1 / (the remote's error
  // estimate + error_floor) in the fit.
  void record(neighbour_ref& ref, std::uint32_t tag, const coordinate& remote, double rtt_s, std::uint64_t now,
              std::uint32_t average, double error_floor);
  // Drops the peer behind `ref` if it is still in the set.
  void remove(const neighbour_ref& ref);
  void clear() { size_ = 0; }

  // One majorisation step of the local fit: with the neighbours' coordinates
  // held fixed, moves `self` (vector and height) towards the minimiser of
  // the weighted squared relative error over all neighbours, each weight
  // 1 / rtt^2 with a Huber cut on the relative residual (detour paths count
  // less), divided by the neighbour's own error estimate (a neighbour that
  // is still finding its place counts less). Returns false when there is nothing to fit.
  bool fit(coordinate& self, const neighbour_fit_params& p) const;

 private:
  std::size_t find(const neighbour_ref& ref) const;  // slot, or size_ if absent
  std::size_t victim() const;
  template <class V>
  bool fit_impl(coordinate& self, const neighbour_fit_params& p) const;

  std::size_t capacity_ = 0;
  std::size_t dim_ = 0;
  std::size_t size_ = 0;
  // Structure of arrays: the fit streams over vectors and scalars only.
  std::vector<double> vec_;  // capacity_ x dim_
  std::vector<double> height_;
  std::vector<double> adjustment_;
  std::vector<double> rtt_;
  std::vector<double> error_;   // the remote's error estimate when last recorded
  std::vector<double> weight_;  // 1 / (rtt^2 x (error + error_floor)): the fit's weight before the Huber cut
  std::vector<std::uint32_t> tag_;
  std::vector<std::uint64_t> seen_;
  std::vector<std::uint32_t> samples_;  // observations averaged into rtt_
};

}  // namespace chorus::vivaldi
