// The speed-oriented internals of the client against plain models: the
// branch-free latency filter against a sort, the SSE2 8-D vector against the
// any-dimension one (bit for bit), the flat per-peer array against the hash
// table, and the branch-free validity check against std::isfinite.
#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <deque>
#include <limits>
#include <vector>

#include "common/random.hpp"
#include "vivaldi/client.hpp"
#include "vivaldi/vector_ops.hpp"

using namespace chorus::vivaldi;
using chorus::random_source;
using namespace std::chrono_literals;

namespace {

// Serf's filter: the last `window` samples, sorted, element len/2.
double model_median(const std::deque<double>& window) {
  std::vector<double> v(window.begin(), window.end());
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::uint64_t bits(double x) { return std::bit_cast<std::uint64_t>(x); }

// Doubles of every magnitude and sign, and exact ties.
double any_double(random_source& rng) {
  const double mantissa = rng.unit() - 0.5;
  const int exponent = static_cast<int>(rng.next() % 40) - 20;
  return rng.next() % 8 == 0 ? 0.25 : std::ldexp(mantissa, exponent);
}

}  // namespace

TEST_CASE("latency filter: median of the last samples for every window size") {
  random_source rng(11);
  for (std::size_t window = 1; window <= latency_filter::max_size; ++window) {
    INFO("window " << window);
    latency_filter f;
    std::deque<double> model;
    for (int i = 0; i < 200; ++i) {
      const double s = rng.next() % 5 == 0 ? 0.02 : rng.unit();  // with ties
      model.push_back(s);
      if (model.size() > window) model.pop_front();
      REQUIRE(f.add_and_median(s, window) == model_median(model));
      REQUIRE(f.size() == model.size());
    }
  }
}

TEST_CASE("latency filter: minimum of the last samples") {
  random_source rng(12);
  latency_filter f;
  std::deque<double> model;
  for (int i = 0; i < 100; ++i) {
    const double s = rng.unit();
    model.push_back(s);
    if (model.size() > 4) model.pop_front();
    REQUIRE(f.add_and_min(s, 4) == *std::min_element(model.begin(), model.end()));
  }
}

TEST_CASE("vec8 and vecn compute the same bits") {
  random_source rng(13);
  for (int trial = 0; trial < 1000; ++trial) {
    double a[8], b[8];
    for (int i = 0; i < 8; ++i) {
      a[i] = any_double(rng);
      b[i] = any_double(rng);
    }
    const double s = any_double(rng), t = any_double(rng);
    const auto a8 = detail::vec8::load(a, 8), b8 = detail::vec8::load(b, 8);
    const auto an = detail::vecn::load(a, 8), bn = detail::vecn::load(b, 8);
    REQUIRE(bits((a8 - b8).sum_of_squares()) == bits((an - bn).sum_of_squares()));
    double r8[8], rn[8];
    (a8 + b8.scaled(s, t)).store(r8);
    (an + bn.scaled(s, t)).store(rn);
    for (int i = 0; i < 8; ++i) {
      REQUIRE(bits(r8[i]) == bits(rn[i]));
      REQUIRE(bits(r8[i]) == bits(a[i] + b[i] * s * t));
    }
  }
}

TEST_CASE("branch-free validity checks agree with std::isfinite") {
  const double specials[] = {0.0,
                             -0.0,
                             1.0,
                             -1e308,
                             std::numeric_limits<double>::max(),
                             std::numeric_limits<double>::denorm_min(),
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::quiet_NaN(),
                             -std::numeric_limits<double>::quiet_NaN()};
  for (double special : specials)
    for (int pos = 0; pos < 8; ++pos) {
      double x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
      x[pos] = special;
      INFO(special << " at " << pos);
      CHECK(carry_is_finite(detail::vec8::load(x, 8).finite_carry()) == std::isfinite(special));
      CHECK(carry_is_finite(detail::vecn::load(x, 8).finite_carry()) == std::isfinite(special));
      CHECK(all_finite(x, 8) == std::isfinite(special));
      coordinate c;
      std::copy(x, x + 8, c.vec.begin());
      CHECK(c.is_valid() == std::isfinite(special));
      c = coordinate::origin(3);
      c.vec[pos % 3] = special;
      CHECK(c.is_valid() == std::isfinite(special));
    }
}

TEST_CASE("reserved peer ids: same results as the hash table, and forget() works") {
  const auto algo = GENERATE(algorithm::serf, algorithm::chorus);
  config cfg = algo == algorithm::serf ? config::serf() : config::chorus_defaults();
  client flat(cfg), hashed(cfg);
  // Ids 0..9 are direct-indexed in `flat` (id 3 was seen before reserving:
  // its filter moves over), hashed in `hashed`; id 1000 is hashed in both.
  coordinate far = coordinate::origin(), near = coordinate::origin();
  far.vec[0] = 0.03;
  near.vec[1] = 0.004;
  REQUIRE(flat.update(3, far, 40ms) == error::none);
  REQUIRE(hashed.update(3, far, 40ms) == error::none);
  flat.reserve_peers(10);
  random_source rng(5);
  for (int i = 0; i < 300; ++i) {
    const peer_id id = rng.next() % 3 == 0 ? 1000 : rng.next() % 10;
    const auto rtt = std::chrono::microseconds(1000 + rng.next() % 80000);
    if (i % 50 == 49) {
      flat.forget(id);
      hashed.forget(id);
    }
    REQUIRE(flat.update(id, i % 2 ? far : near, rtt) == error::none);
    REQUIRE(hashed.update(id, i % 2 ? far : near, rtt) == error::none);
    REQUIRE(flat.get_coordinate() == hashed.get_coordinate());
  }
}
