#include "metrics.hpp"

#include <algorithm>
#include <cmath>

namespace chorus::bench {

double quantile(const std::vector<double>& v, double q) {
  if (v.empty()) return 0.0;
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = static_cast<std::size_t>(std::ceil(pos));
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

scores score(const matrix& truth, const std::vector<double>& pred) {
  const std::size_t n = truth.n;
  std::vector<double> rel, abs_err;
  std::vector<std::vector<double>> per_node(n);
  rel.reserve(n * n / 2);
  abs_err.reserve(n * n / 2);
  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) {
      const double a = truth.at(i, j);
      if (!(a > 0)) continue;  // unknown pair
      const double e = std::abs(pred[i * n + j] - a);
      const double r = e / a;
      rel.push_back(r);
      abs_err.push_back(e);
      per_node[i].push_back(r);
      per_node[j].push_back(r);
      total += r;
    }
  scores s;
  s.pairs = rel.size();
  if (rel.empty()) return s;
  s.mean_rel_err = total / static_cast<double>(rel.size());
  std::sort(rel.begin(), rel.end());
  std::sort(abs_err.begin(), abs_err.end());
  std::vector<double> medians;
  for (auto& v : per_node) {
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    medians.push_back(quantile(v, 0.5));
  }
  std::sort(medians.begin(), medians.end());
  s.median_rel_err = quantile(rel, 0.5);
  s.p90_rel_err = quantile(rel, 0.9);
  s.p99_rel_err = quantile(rel, 0.99);
  s.median_abs_err_ms = quantile(abs_err, 0.5);
  s.node_median_rel_err_median = quantile(medians, 0.5);
  return s;
}

}  // namespace chorus::bench
