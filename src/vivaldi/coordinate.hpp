#pragma once
// A Vivaldi network coordinate, in Serf's units and wire fields
// (../shared/protocol/vivaldi.md section 2): an 8-D Euclidean position plus a
// height (the access-link latency), an adjustment term and an error estimate.
// Everything is in seconds except `error`, which is dimensionless.
//
// The estimate between two coordinates is the same for both of our
// algorithms, so a chorus node reads coordinates made by Serf nodes (and the
// other way round) without any translation.
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "vivaldi/error.hpp"

namespace chorus::vivaldi {

inline constexpr int default_dimensionality = 8;
inline constexpr double default_error_max = 1.5;
inline constexpr double default_height_min = 1.0e-5;

// Non-finite detection without branches, so the compiler can vectorise it and
// a hot path pays no mispredictions: a double is NaN or infinite exactly when
// its exponent field is all ones, and then adding the exponent's lowest bit
// carries into bit 63. OR the carries of many values, test bit 63 once.
inline std::uint64_t finite_carry(double x) {
  return (std::bit_cast<std::uint64_t>(x) & 0x7ff0'0000'0000'0000ULL) + 0x0010'0000'0000'0000ULL;
}
inline bool carry_is_finite(std::uint64_t carry) { return (carry >> 63) == 0; }

// No value in x[0..n) is NaN or infinite. N > 0: n is N, known at compile
// time (the loop unrolls).
template <std::size_t N = 0>
inline std::uint64_t finite_carry(const double* x, std::size_t n = N) {
  std::uint64_t carry = 0;
#pragma GCC unroll 8
  for (std::size_t i = 0; i < (N ? N : n); ++i) carry |= finite_carry(x[i]);
  return carry;
}
inline bool all_finite(const double* x, std::size_t n) { return carry_is_finite(finite_carry(x, n)); }

struct coordinate {
  std::vector<double> vec = std::vector<double>(default_dimensionality, 0.0);
  double error = default_error_max;
  double adjustment = 0.0;
  double height = default_height_min;

  bool operator==(const coordinate&) const = default;

  // A fresh coordinate: at the origin, maximal error, minimal height.
  static coordinate origin(std::size_t dimensionality = default_dimensionality, double error_max = default_error_max,
                           double height_min = default_height_min);

  // No component is NaN or infinite.
  bool is_valid() const {
    const std::uint64_t scalars = finite_carry(error) | finite_carry(adjustment) | finite_carry(height);
    return carry_is_finite(scalars | (vec.size() == std::size_t{default_dimensionality}
                                          ? finite_carry<default_dimensionality>(vec.data())
                                          : finite_carry(vec.data(), vec.size())));
  }
  // Same dimensionality.
  bool is_compatible_with(const coordinate& other) const { return vec.size() == other.vec.size(); }
};

// |a.vec - b.vec| + a.height + b.height, in seconds, without adjustments.
// Precondition: compatible coordinates.
double raw_distance(const coordinate& a, const coordinate& b);

// The estimated round-trip time between two coordinates (Serf's DistanceTo):
// raw distance plus both adjustments unless that would make it non-positive,
// truncated to whole nanoseconds. Refuses incompatible or invalid input
// instead of crashing as Serf does.
result<std::chrono::nanoseconds> estimate_rtt(const coordinate& a, const coordinate& b);

// The same estimate in seconds before the nanosecond truncation (what the
// chorus algorithm works with internally). Precondition: compatible.
double estimate_seconds(const coordinate& a, const coordinate& b);

// Go's Duration.Seconds(): whole seconds and the nanosecond remainder are
// converted separately, which is what makes Serf's arithmetic bit-exact.
double to_seconds(std::chrono::nanoseconds d);
// Go's time.Duration(seconds * 1e9): truncation toward zero, saturated so
// that absurd (but finite) values cannot overflow.
std::chrono::nanoseconds to_nanoseconds(double seconds);

}  // namespace chorus::vivaldi
