#include "generate.hpp"

#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

#include "common/random.hpp"

namespace chorus::bench {

namespace {

class rng {
 public:
  explicit rng(std::uint64_t seed) : src_(seed) {}
  double uniform() { return src_.unit(); }
  // Uniform in [0, n) without modulo bias.
  std::size_t below(std::size_t n) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t x;
    do x = src_.next();
    while (x >= limit);
    return static_cast<std::size_t>(x % n);
  }
  // Standard normal (Box-Muller; one value per call keeps the stream simple).
  double normal() {
    double u1;
    do u1 = uniform();
    while (u1 <= 0.0);
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }

 private:
  chorus::random_source src_;
};

}  // namespace

std::optional<std::string> write_schedule(const std::string& path, const matrix& m, const std::string& matrix_name,
                                          std::uint32_t rounds, std::uint64_t seed, double sigma) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return "cannot write " + path;
  std::fprintf(f,
               "# vivaldi-eval schedule v1 matrix=%s nodes=%zu rounds=%u seed=%llu jitter=lognormal sigma=%g "
               "generator=chorus-vivaldi-bench(xoshiro256**)\n# columns: round node peer rtt_ms\n",
               matrix_name.c_str(), m.n, rounds, static_cast<unsigned long long>(seed), sigma);
  rng r(seed);
  std::vector<std::size_t> order(m.n), known;
  for (std::uint32_t round = 1; round <= rounds; ++round) {
    std::iota(order.begin(), order.end(), 0);
    for (std::size_t k = m.n - 1; k > 0; --k) std::swap(order[k], order[r.below(k + 1)]);  // Fisher-Yates
    for (std::size_t i : order) {
      known.clear();
      for (std::size_t j = 0; j < m.n; ++j)
        if (j != i && m.at(i, j) > 0) known.push_back(j);
      if (known.empty()) continue;
      const std::size_t j = known[r.below(known.size())];
      const double z = r.normal();
      double ms = m.at(i, j) * std::exp(sigma * z);
      ms = std::round(ms * 1000.0) / 1000.0;
      if (ms < 0.001) ms = 0.001;
      std::fprintf(f, "%u %zu %zu %.3f\n", round, i, j, ms);
    }
  }
  return std::fclose(f) == 0 ? std::nullopt : std::optional<std::string>("error writing " + path);
}

std::optional<std::string> make_matrix(const std::string& shape, std::size_t n, std::uint64_t seed, matrix& out) {
  if (n < 2) return "need at least 2 nodes";
  rng r(seed);
  std::vector<double> x(n), y(n), h(n);
  if (shape == "plane") {
    for (std::size_t i = 0; i < n; ++i) {
      x[i] = 300.0 * r.uniform();
      y[i] = 300.0 * r.uniform();
      h[i] = -5.0 * std::log(1.0 - r.uniform());  // exponential, mean 5 ms
    }
  } else if (shape == "clustered") {
    constexpr int clusters = 6;
    double cx[clusters], cy[clusters];
    for (int c = 0; c < clusters; ++c) cx[c] = 250.0 * r.uniform(), cy[c] = 250.0 * r.uniform();
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t c = r.below(clusters);
      x[i] = cx[c] + 12.0 * r.normal();
      y[i] = cy[c] + 12.0 * r.normal();
      h[i] = 1.0 - 8.0 * std::log(1.0 - r.uniform());  // access links: 1 ms + exponential mean 8 ms
    }
  } else {
    return "unknown matrix shape '" + shape + "' (plane, clustered)";
  }
  const double distortion = shape == "clustered" ? 0.25 : 0.0;
  out.n = n;
  out.ms.assign(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) {
      double d = std::hypot(x[i] - x[j], y[i] - y[j]) + h[i] + h[j];
      if (distortion > 0) d *= std::exp(distortion * r.normal());
      d = std::max(0.1, std::round(d * 10.0) / 10.0);
      out.ms[i * n + j] = out.ms[j * n + i] = d;
    }
  return std::nullopt;
}

}  // namespace chorus::bench
