#include "vivaldi/coordinate.hpp"

#include <cmath>
#include <cstdint>
#include <limits>

namespace chorus::vivaldi {

coordinate coordinate::origin(std::size_t dimensionality, double error_max, double height_min) {
  coordinate c;
  c.vec.assign(dimensionality, 0.0);
  c.error = error_max;
  c.adjustment = 0.0;
  c.height = height_min;
  return c;
}

double raw_distance(const coordinate& a, const coordinate& b) {
  double sum = 0.0;
  for (std::size_t i = 0; i < a.vec.size(); ++i) {
    const double d = a.vec[i] - b.vec[i];
    sum += d * d;
  }
  return std::sqrt(sum) + a.height + b.height;
}

double estimate_seconds(const coordinate& a, const coordinate& b) {
  const double raw = raw_distance(a, b);
  const double adjusted = raw + a.adjustment + b.adjustment;
  return adjusted > 0.0 ? adjusted : raw;
}

result<std::chrono::nanoseconds> estimate_rtt(const coordinate& a, const coordinate& b) {
  if (!a.is_compatible_with(b)) return error::incompatible_dimensions;
  if (!a.is_valid() || !b.is_valid()) return error::invalid_coordinate;
  return to_nanoseconds(estimate_seconds(a, b));
}

double to_seconds(std::chrono::nanoseconds d) {
  const std::int64_t ns = d.count();
  const std::int64_t whole = ns / 1'000'000'000;
  const std::int64_t rest = ns % 1'000'000'000;
  return static_cast<double>(whole) + static_cast<double>(rest) / 1e9;
}

std::chrono::nanoseconds to_nanoseconds(double seconds) {
  const double ns = seconds * 1e9;
  // 2^63 is exactly representable; anything at or beyond it saturates.
  constexpr double limit = 9223372036854775808.0;
  if (!(ns < limit)) return std::chrono::nanoseconds(std::numeric_limits<std::int64_t>::max());
  if (!(ns > -limit)) return std::chrono::nanoseconds(std::numeric_limits<std::int64_t>::min());
  return std::chrono::nanoseconds(static_cast<std::int64_t>(ns));  // truncates toward zero, like Go
}

}  // namespace chorus::vivaldi
