#include "vivaldi/neighbour_set.hpp"

#include <algorithm>
#include <cmath>

namespace chorus::vivaldi {

namespace {
constexpr double zero_threshold = 1.0e-6;
}

neighbour_set::neighbour_set(std::size_t capacity, std::size_t dimensionality)
    : capacity_(capacity),
      dim_(dimensionality),
      vec_(capacity * dimensionality, 0.0),
      height_(capacity, 0.0),
      adjustment_(capacity, 0.0),
      rtt_(capacity, 0.0),
      error_(capacity, 0.0),
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
                           std::uint64_t now, std::uint32_t average) {
  if (capacity_ == 0) return;
  ref.tag = tag;
  std::size_t slot = find(ref);
  if (slot == size_) {
    slot = size_ < capacity_ ? size_++ : victim();
    tag_[slot] = tag;
    samples_[slot] = 0;
  }
  ref.slot = static_cast<std::uint32_t>(slot);
  std::copy(remote.vec.begin(), remote.vec.end(), vec_.begin() + static_cast<std::ptrdiff_t>(slot * dim_));
  height_[slot] = remote.height;
  adjustment_[slot] = remote.adjustment;
  error_[slot] = remote.error;
  // Averaging the filtered RTTs again takes out most of the remaining
  // jitter; the cap keeps the entry following route changes.
  samples_[slot] = std::min(samples_[slot] + 1, std::max<std::uint32_t>(average, 1));
  rtt_[slot] = samples_[slot] == 1 ? rtt_s : rtt_[slot] + (rtt_s - rtt_[slot]) / samples_[slot];
  seen_[slot] = now;
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
    error_[slot] = error_[last];
    rtt_[slot] = rtt_[last];
    seen_[slot] = seen_[last];
    samples_[slot] = samples_[last];
  }
}

bool neighbour_set::fit(coordinate& self, const neighbour_fit_params& p) const {
  if (size_ == 0) return false;
  const std::size_t n = dim_;
  double* x = self.vec.data();
  double target[64] = {};
  double sw = 0.0, sh = 0.0;
  for (std::size_t j = 0; j < size_; ++j) {
    const double* xj = vec_.data() + j * n;
    double diff[64];
    double m2 = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      diff[i] = x[i] - xj[i];
      m2 += diff[i] * diff[i];
    }
    const double m = std::sqrt(m2);
    const double r = std::max(rtt_[j], zero_threshold);
    const double offsets = self.height + height_[j];
    const double adj = self.adjustment + adjustment_[j];
    const double raw = m + offsets;
    const double d = raw + adj > 0.0 ? raw + adj : raw;
    const double e = (d - r) / r;
    double w = 1.0 / (r * r);
    if (std::abs(e) > p.huber) w *= p.huber / std::abs(e);
    w /= error_[j] + p.error_floor;
    // Guttman transform for one point: each neighbour votes for the point
    // at its measured (Euclidean) distance along the current direction.
    const double len = std::max(r - (d - m), 0.0);
    const double s = m > zero_threshold ? len / m : 0.0;
    for (std::size_t i = 0; i < n; ++i) target[i] += w * (xj[i] + s * diff[i]);
    sw += w;
    sh += w * (r - d);
  }
  const double inv = 1.0 / sw;
  for (std::size_t i = 0; i < n; ++i) x[i] += p.gain * (target[i] * inv - x[i]);
  self.height = std::max(self.height + p.height_gain * sh * inv, p.height_min);
  return true;
}

}  // namespace chorus::vivaldi
