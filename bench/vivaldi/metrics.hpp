#pragma once
// Accuracy metrics of PROTOCOL.md section 3, computed exactly as
// score_predictions.py does (same pair order, same quantile definition).
#include <cstddef>
#include <vector>

#include "data.hpp"

namespace chorus::bench {

struct scores {
  std::size_t pairs = 0;
  double median_rel_err = 0, p90_rel_err = 0, p99_rel_err = 0, mean_rel_err = 0;
  double median_abs_err_ms = 0, node_median_rel_err_median = 0;
};

// q-quantile of ascending `v`: linear interpolation, pos = q (n - 1).
double quantile(const std::vector<double>& sorted, double q);

// `pred` is an n*n matrix of predictions in ms, only i < j is read.
scores score(const matrix& truth, const std::vector<double>& pred);

}  // namespace chorus::bench
