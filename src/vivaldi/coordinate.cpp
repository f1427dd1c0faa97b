#include "vivaldi/coordinate.hpp"

#include <cmath>

namespace chorus::vivaldi {

bool coordinate::is_valid() const {
  for (double v : vec)
    if (!std::isfinite(v)) return false;
  return std::isfinite(error) && std::isfinite(adjustment) && std::isfinite(height);
}

}  // namespace chorus::vivaldi
