#pragma once
// A Vivaldi network coordinate, in Serf's units and wire fields
// (../shared/protocol/vivaldi.md section 2): an 8-D Euclidean position plus a
// height (the access-link latency), an adjustment term and an error estimate.
// Everything is in seconds except `error`, which is dimensionless.
#include <vector>

namespace chorus::vivaldi {

inline constexpr int default_dimensionality = 8;

struct coordinate {
  std::vector<double> vec = std::vector<double>(default_dimensionality, 0.0);
  double error = 1.5;
  double adjustment = 0.0;
  double height = 1.0e-5;

  bool operator==(const coordinate&) const = default;

  // No component is NaN or infinite.
  bool is_valid() const;
  // Same dimensionality.
  bool is_compatible_with(const coordinate& other) const { return vec.size() == other.vec.size(); }
};

}  // namespace chorus::vivaldi
