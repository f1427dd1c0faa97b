#pragma once
// Per-peer latency filter: the most recent RTT samples to one peer, in a
// fixed-size ring so that update() never allocates. Serf keeps 3 samples and
// uses the median (vivaldi.md section 5 step 2).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace chorus::vivaldi {

class latency_filter {
 public:
  // Small on purpose: filters live inline in the per-peer hash table, so
  // their size is memory traffic on every update.
  static constexpr std::size_t max_size = 5;

  // Adds a sample (dropping the oldest beyond `window`) and returns the
  // element at index len/2 of the sorted window: the median for odd lengths,
  // the upper median for even ones, as Serf does.
  double add_and_median(double sample, std::size_t window) {
    push(sample, window);
    if (count_ <= 2) return count_ == 1 ? samples_[0] : std::max(samples_[0], samples_[1]);
    if (count_ == 3) {  // the common case, without sorting
      const double a = samples_[0], b = samples_[1], c = samples_[2];
      return std::max(std::min(a, b), std::min(std::max(a, b), c));
    }
    std::array<double, max_size> sorted;
    std::copy_n(samples_.begin(), count_, sorted.begin());
    std::sort(sorted.begin(), sorted.begin() + count_);
    return sorted[count_ / 2];
  }

  // Adds a sample and returns the smallest of the window.
  double add_and_min(double sample, std::size_t window) {
    push(sample, window);
    return *std::min_element(samples_.begin(), samples_.begin() + count_);
  }

  std::size_t size() const { return count_; }

 private:
  // Samples are kept oldest first; windows are tiny, so shifting is cheaper
  // than ring arithmetic and keeps the order Serf sorts from.
  void push(double sample, std::size_t window) {
    if (count_ >= window) {
      for (std::size_t i = 1; i < count_; ++i) samples_[i - 1] = samples_[i];
      --count_;
    }
    samples_[count_++] = sample;
  }

  std::array<double, max_size> samples_{};
  std::uint8_t count_ = 0;
};

}  // namespace chorus::vivaldi
