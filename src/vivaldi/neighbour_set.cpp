#include "vivaldi/neighbour_set.hpp"

#include <algorithm>
#include <cmath>

#include "vivaldi/vector_ops.hpp"

namespace chorus::vivaldi {

namespace {
constexpr double min_distance = 1.0e-6;
}

neighbour_set::neighbour_set(std::size_t capacity, std::size_t dimensionality)
    : capacity_(capacity),
      dim_(dimensionality),
      vec_(capacity * dimensionality, 0.0),
      height_(capacity, 0.0),
      adjustment_(capacity, 0.0),
      rtt_(capacity, 0.0),
      error_(capacity, 0.0),
      weight_(capacity, 0.0),
      tag_(capacity, 0),
      seen_(capacity, 0),
      samples_(capacity, 0) {}

// The least recently measured entry: its coordinate is the stalest.
std::size_t neighbour_set::victim() const {
  std::size_t v = 0;
  for (std::size_t i = 1; i < size_; ++i)
    if (seen_[i] < seen_[v]) v = i;
  return v;
}

void neighbour_set::record(neighbour_ref& ref, std::uint32_t tag, const coordinate& remote, double rtt_s,
                           std::uint64_t now, std::uint32_t average, double error_floor) {
  if (capacity_ == 0) return;
  ref.tag = tag;
  std::size_t slot = find(ref);
  if (slot == size_) {
    if (size_ < capacity_) {
      slot = size_++;
    } else {
      slot = victim();
    }
    tag_[slot] = tag;
    samples_[slot] = 0;
  }
  ref.slot = static_cast<std::uint32_t>(slot);
  std::copy(remote.vec.begin(), remote.vec.end(), vec_.begin() + static_cast<std::ptrdiff_t>(slot * dim_));
  height_[slot] = remote.height;
  adjustment_[slot] = remote.adjustment;
  // Averaging the filtered RTTs again takes out most of the remaining
  // jitter; the cap keeps the entry following route changes.
  samples_[slot] = std::min(samples_[slot] + 1, std::max<std::uint32_t>(average, 1));
  const double rtt = samples_[slot] == 1 ? rtt_s : rtt_[slot] + (rtt_s - rtt_[slot]) / samples_[slot];
  rtt_[slot] = std::max(rtt, min_distance);
  const double inv_rtt = 1.0 / rtt_[slot];
  error_[slot] = remote.error;
  weight_[slot] = inv_rtt * inv_rtt / (remote.error + error_floor);
  seen_[slot] = now;
}

double neighbour_set::mean_error() const {
  if (size_ == 0) return 0.0;
  double sum = 0.0;
  for (std::size_t i = 0; i < size_; ++i) sum += error_[i];
  return sum / static_cast<double>(size_);
}

std::size_t neighbour_set::find(const neighbour_ref& ref) const {
  if (ref.tag == 0) return size_;
  if (ref.slot < size_ && tag_[ref.slot] == ref.tag) return ref.slot;
  // Moved by remove(), or evicted: a scan says which.
  return static_cast<std::size_t>(std::find(tag_.begin(), tag_.begin() + static_cast<std::ptrdiff_t>(size_), ref.tag) -
                                  tag_.begin());
}

void neighbour_set::remove(const neighbour_ref& ref) {
  const std::size_t slot = find(ref);
  if (slot == size_) return;
  // Move the last entry into the hole; its peer's ref is fixed lazily (record()
  // finds the tag by a scan when the slot no longer matches).
  const std::size_t last = --size_;
  tag_[slot] = tag_[last];
  tag_[last] = 0;
  if (slot != last) {
    std::copy_n(vec_.begin() + static_cast<std::ptrdiff_t>(last * dim_), dim_,
                vec_.begin() + static_cast<std::ptrdiff_t>(slot * dim_));
    height_[slot] = height_[last];
    adjustment_[slot] = adjustment_[last];
    weight_[slot] = weight_[last];
    error_[slot] = error_[last];
    rtt_[slot] = rtt_[last];
    seen_[slot] = seen_[last];
    samples_[slot] = samples_[last];
  }
}

// Per neighbour: one distance (a square root), two divisions; the weight's
// constant part 1 / (rtt^2 x (error + floor)) is computed once, by record().
template <class V>
bool neighbour_set::fit_impl(coordinate& self, const neighbour_fit_params& p) const {
  const std::size_t n = dim_;
  const V x = V::load(self.vec.data(), n);
  V target = V::zero(n);
  double sw = 0.0, sh = 0.0;
  const double h = self.height, a = self.adjustment;
  for (std::size_t j = 0; j < size_; ++j) {
    const V xj = V::load(vec_.data() + j * n, n);
    const V diff = x - xj;
    const double m = std::sqrt(diff.sum_of_squares());
    const double r = rtt_[j];
    const double raw = m + h + height_[j];
    const double adjusted = raw + a + adjustment_[j];
    const double d = adjusted > 0.0 ? adjusted : raw;
    // One division for two reciprocals: q = 1 / (m x |d - r|).
    const double gap = std::max(std::abs(d - r), min_distance * min_distance);
    const double mm = std::max(m, min_distance);
    const double q = 1.0 / (mm * gap);
    // Weight: relative error (1 / r^2), trust in the neighbour's position
    // (weight_), and a Huber cut: beyond `huber` a relative residual counts
    // linearly, so a detour path cannot drag the fit.
    const double w = weight_[j] * std::min(1.0, p.huber * r * mm * q);
    // Guttman transform for one point: each neighbour votes for the point
    // at its measured (Euclidean) distance along the current direction.
    const double len = std::max(r - (d - m), 0.0);
    const double s = m > min_distance ? len * gap * q : 0.0;
    target = target + (xj + diff * s) * w;
    sw += w;
    sh += w * (r - d);
  }
  const double inv = 1.0 / sw;
  const V moved = x + (target * inv - x) * p.gain;
  moved.store(self.vec.data());
  self.height = std::max(h + p.height_gain * sh * inv, p.height_min);
  return true;
}

bool neighbour_set::fit(coordinate& self, const neighbour_fit_params& p) const {
  if (size_ == 0) return false;
  return dim_ == detail::vec8::max ? fit_impl<detail::vec8>(self, p) : fit_impl<detail::vecn>(self, p);
}

}  // namespace chorus::vivaldi
