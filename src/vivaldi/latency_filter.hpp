#pragma once
// Per-peer latency filter: the most recent RTT samples to one peer, in a
// fixed-size array so that update() never allocates. Serf keeps 3 samples and
// uses the median (vivaldi.md section 5 step 2).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace chorus::vivaldi {

class latency_filter {
 public:
  // Small on purpose: filters are stored per peer, so their size is memory
  // traffic on every update.
  static constexpr std::size_t max_size = 5;

  // Adds a sample (dropping the oldest beyond `window`) and returns the
  // element at index len/2 of the sorted window: the median for odd lengths,
  // the upper median for even ones, as Serf does. `window` must be the same
  // on every call of one filter (it comes from the client's config).
  double add_and_median(double sample, std::size_t window) {
    push(sample, window);
    if (window == 3) {
      // The common case (both algorithms' default), without a branch on the
      // fill level, which is unpredictable when peers have 1-3 samples: the
      // initial -inf/+inf in the last slots make median3 return the single
      // sample, then the larger of two (see samples_).
      const double a = samples_[max_size - 3], b = samples_[max_size - 2], c = samples_[max_size - 1];
      return std::max(std::min(a, b), std::min(std::max(a, b), c));
    }
    return sorted_median();
  }

  // Adds a sample and returns the smallest of the window.
  double add_and_min(double sample, std::size_t window) {
    push(sample, window);
    return *std::min_element(samples_.end() - count_, samples_.end());
  }

  std::size_t size() const { return count_; }

 private:
  // Out of line: windows other than 3 are rare, and a call in the middle of
  // the hot path would cost it registers.
  [[gnu::noinline]] double sorted_median() const {
    std::array<double, max_size> sorted;
    const std::size_t n = count_;
    // Insertion sort: at most 5 elements.
    for (std::size_t i = 0; i < n; ++i) {
      const double s = samples_[max_size - n + i];
      std::size_t j = i;
      for (; j > 0 && s < sorted[j - 1]; --j) sorted[j] = sorted[j - 1];
      sorted[j] = s;
    }
    return sorted[n / 2];
  }

  // Shifts every slot down by one and appends: a fixed five-element move,
  // cheaper than ring arithmetic and free of data-dependent branches.
  void push(double sample, std::size_t window) {
    for (std::size_t i = 1; i < max_size; ++i) samples_[i - 1] = samples_[i];
    samples_[max_size - 1] = sample;
    count_ = static_cast<std::uint8_t>(std::min<std::size_t>(count_ + 1u, window));
  }

  // The window's samples are the last count_ slots, oldest first. The
  // initial -inf, +inf in the last two slots are the sentinels of the
  // window-3 median: [-inf, +inf, s] -> s, [+inf, s1, s2] -> max(s1, s2).
  // Other windows only ever read the last count_ slots.
  std::array<double, max_size> samples_{0.0, 0.0, 0.0, -std::numeric_limits<double>::infinity(),
                                        std::numeric_limits<double>::infinity()};
  std::uint8_t count_ = 0;
};

}  // namespace chorus::vivaldi
