// Behaviour of the Vivaldi client, written from vivaldi.md. Every case runs
// with both algorithms unless it is about Serf's exact arithmetic.
#include "vivaldi/client.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

using namespace chorus::vivaldi;
using namespace std::chrono_literals;

namespace {

config with(algorithm a, std::uint64_t seed = 1) {
  config c = a == algorithm::serf ? config::serf() : config::chorus_defaults();
  c.seed = seed;
  return c;
}

double ms(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e6; }

coordinate at(std::initializer_list<double> v, double height = 1e-5) {
  coordinate c;
  std::copy(v.begin(), v.end(), c.vec.begin());
  c.height = height;
  return c;
}

}  // namespace

TEST_CASE("two nodes converge to their measured rtt") {
  const auto algo = GENERATE(algorithm::serf, algorithm::chorus);
  client a(with(algo, 1)), b(with(algo, 2));
  for (int i = 0; i < 200; ++i) {
    REQUIRE(a.update("b", b.get_coordinate(), 50ms) == error::none);
    REQUIRE(b.update("a", a.get_coordinate(), 50ms) == error::none);
  }
  const auto d = a.distance_to(b.get_coordinate());
  REQUIRE(d.ok());
  CHECK(ms(d.value()) == Approx(50.0).epsilon(0.02));
  CHECK(ms(*b.distance_to(a.get_coordinate())) == Approx(50.0).epsilon(0.02));
  CHECK(a.get_coordinate().error < 0.5);  // confidence grew
  CHECK(a.resets() == 0);
  CHECK(a.updates() == 200);
}

TEST_CASE("three nodes embed a triangle") {
  const auto algo = GENERATE(algorithm::serf, algorithm::chorus);
  client n[3] = {client(with(algo, 1)), client(with(algo, 2)), client(with(algo, 3))};
  const std::chrono::nanoseconds rtt[3][3] = {{0ms, 10ms, 30ms}, {10ms, 0ms, 25ms}, {30ms, 25ms, 0ms}};
  for (int round = 0; round < 400; ++round)
    for (peer_id i = 0; i < 3; ++i) {
      const peer_id j = (i + 1 + static_cast<peer_id>(round % 2)) % 3;
      REQUIRE(n[i].update(j, n[j].get_coordinate(), rtt[i][j]) == error::none);
    }
  for (int i = 0; i < 3; ++i)
    for (int j = i + 1; j < 3; ++j) {
      INFO(i << "-" << j);
      CHECK(ms(*n[i].distance_to(n[j].get_coordinate())) == Approx(ms(rtt[i][j])).epsilon(0.1));
    }
}

TEST_CASE("height never drops below its minimum") {
  const auto algo = GENERATE(algorithm::serf, algorithm::chorus);
  client a(with(algo));
  // A remote far away but measured as very close pushes the height down hard.
  const coordinate far = at({0.5, 0.3, 0, 0, 0, 0, 0, 0}, 0.2);
  for (int i = 0; i < 100; ++i) {
    REQUIRE(a.update("far", far, 1ms) == error::none);
    CHECK(a.get_coordinate().height >= a.get_config().height_min);
  }
}

TEST_CASE("an invalid observation is refused and changes nothing") {
  const auto algo = GENERATE(algorithm::serf, algorithm::chorus);
  client a(with(algo)), twin(with(algo));
  const coordinate peer = at({0.01, 0.02, 0, 0, 0, 0, 0, 0});
  REQUIRE(a.update("p", peer, 20ms) == error::none);
  REQUIRE(twin.update("p", peer, 20ms) == error::none);

  coordinate nan_vec = peer;
  nan_vec.vec[3] = std::numeric_limits<double>::quiet_NaN();
  coordinate inf_height = peer;
  inf_height.height = std::numeric_limits<double>::infinity();
  coordinate nan_error = peer;
  nan_error.error = std::numeric_limits<double>::quiet_NaN();
  coordinate nan_adjustment = peer;
  nan_adjustment.adjustment = -std::numeric_limits<double>::infinity();
  coordinate three_d = peer;
  three_d.vec.resize(3);
  coordinate nine_d = peer;
  nine_d.vec.push_back(0.0);

  const coordinate before = a.get_coordinate();
  CHECK(a.update("p", nan_vec, 20ms) == error::invalid_coordinate);
  CHECK(a.update("p", inf_height, 20ms) == error::invalid_coordinate);
  CHECK(a.update("p", nan_error, 20ms) == error::invalid_coordinate);
  CHECK(a.update(7, nan_adjustment, 20ms) == error::invalid_coordinate);
  CHECK(a.update("p", three_d, 20ms) == error::incompatible_dimensions);
  CHECK(a.update("p", nine_d, 20ms) == error::incompatible_dimensions);
  CHECK(a.update("p", peer, -1ns) == error::rtt_out_of_range);
  CHECK(a.update("p", peer, 10s + 1ns) == error::rtt_out_of_range);
  CHECK(a.update("p", peer, std::chrono::hours(1)) == error::rtt_out_of_range);
  CHECK(a.get_coordinate() == before);
  CHECK(a.updates() == 1);

  // The latency filter did not see the refused samples either: the next
  // accepted update lands exactly where the twin's does.
  REQUIRE(a.update("p", peer, 22ms) == error::none);
  REQUIRE(twin.update("p", peer, 22ms) == error::none);
  CHECK(a.get_coordinate() == twin.get_coordinate());
}

TEST_CASE("rtt bounds are inclusive: 0 and exactly 10 s are accepted") {
  const auto algo = GENERATE(algorithm::serf, algorithm::chorus);
  client a(with(algo));
  const coordinate peer = at({0.01, 0, 0, 0, 0, 0, 0, 0});
  CHECK(a.update("p", peer, 0ns) == error::none);
  CHECK(a.update("q", peer, 10s) == error::none);
  CHECK(a.get_coordinate().is_valid());
}

TEST_CASE("errors have readable messages") {
  CHECK(to_string(error::incompatible_dimensions) == "dimensions aren't compatible");
  CHECK(to_string(error::invalid_coordinate) == "coordinate is invalid");
  CHECK(to_string(error::rtt_out_of_range).find("10 s") != std::string_view::npos);
}

TEST_CASE("the latency filter takes the median of the last three samples") {
  latency_filter f;
  CHECK(f.add_and_median(0.010, 3) == 0.010);
  CHECK(f.add_and_median(0.030, 3) == 0.030);  // two samples: the larger one
  CHECK(f.add_and_median(0.020, 3) == 0.020);
  CHECK(f.add_and_median(5.000, 3) == 0.030);  // 10 ms dropped; median of 30, 20, 5000
  CHECK(f.add_and_median(0.001, 3) == 0.020);
  CHECK(f.size() == 3);
  latency_filter g;
  for (double s : {0.05, 0.04, 0.07, 0.06}) g.add_and_min(s, 3);
  CHECK(g.add_and_min(0.08, 3) == 0.06);
}

TEST_CASE("a single rtt spike is filtered out, and forget() drops the filter") {
  const auto algo = GENERATE(algorithm::serf, algorithm::chorus);
  client a(with(algo)), clean(with(algo));
  const coordinate peer = at({0.02, 0, 0, 0, 0, 0, 0, 0});
  for (int i = 0; i < 3; ++i) {
    REQUIRE(a.update("p", peer, 20ms) == error::none);
    REQUIRE(clean.update("p", peer, 20ms) == error::none);
  }
  REQUIRE(a.update("p", peer, 3s) == error::none);
  REQUIRE(clean.update("p", peer, 20ms) == error::none);
  // The spike never reached the coordinate step.
  CHECK(ms(*a.distance_to(peer)) == Approx(ms(*clean.distance_to(peer))).epsilon(0.01));

  client b(with(algo)), kept(with(algo));
  for (int i = 0; i < 3; ++i) {
    REQUIRE(b.update("p", peer, 20ms) == error::none);
    REQUIRE(kept.update("p", peer, 20ms) == error::none);
  }
  b.forget("p");
  REQUIRE(b.update("p", peer, 3s) == error::none);  // a fresh filter has only the spike
  REQUIRE(kept.update("p", peer, 3s) == error::none);
  CHECK(ms(*b.distance_to(peer)) > 1.5 * ms(*kept.distance_to(peer)));
}

TEST_CASE("coinciding coordinates separate along a seeded random direction") {
  const auto algo = GENERATE(algorithm::serf, algorithm::chorus);
  const coordinate fresh = coordinate::origin();
  client a(with(algo, 42)), same_seed(with(algo, 42)), other_seed(with(algo, 43));
  REQUIRE(a.update("p", fresh, 10ms) == error::none);
  REQUIRE(same_seed.update("p", fresh, 10ms) == error::none);
  REQUIRE(other_seed.update("p", fresh, 10ms) == error::none);
  double moved = 0.0;
  for (double v : a.get_coordinate().vec) moved += v * v;
  CHECK(std::sqrt(moved) > 1e-4);
  CHECK(a.get_coordinate() == same_seed.get_coordinate());
  CHECK(a.get_coordinate().vec != other_seed.get_coordinate().vec);
}

TEST_CASE("gravity pulls a far cluster back towards the origin") {
  const auto algo = GENERATE(algorithm::serf, algorithm::chorus);
  // Two nodes that agree perfectly with each other, far from the origin: the
  // only force left is gravity.
  client a(with(algo, 1)), b(with(algo, 2));
  REQUIRE(a.set_coordinate(at({100.0, 0, 0, 0, 0, 0, 0, 0})) == error::none);
  REQUIRE(b.set_coordinate(at({100.05, 0, 0, 0, 0, 0, 0, 0})) == error::none);
  const double start = a.get_coordinate().vec[0];
  for (int i = 0; i < 50; ++i) {
    REQUIRE(a.update("b", b.get_coordinate(), 50ms) == error::none);
    REQUIRE(b.update("a", a.get_coordinate(), 50ms) == error::none);
  }
  CHECK(a.get_coordinate().vec[0] < start - 0.1);
  CHECK(b.get_coordinate().vec[0] < 100.05 - 0.1);
  CHECK(a.get_coordinate().vec[0] > 0.0);  // pulled back, not thrown past the origin
}

TEST_CASE("a coordinate that overflows is reset and counted") {
  const auto algo = GENERATE(algorithm::serf, algorithm::chorus);
  client a(with(algo));
  coordinate huge = at({1e308, 0, 0, 0, 0, 0, 0, 0});
  huge.error = 0.1;
  REQUIRE(a.set_coordinate(huge) == error::none);
  coordinate opposite = at({-1e308, 0, 0, 0, 0, 0, 0, 0});
  opposite.error = 0.1;
  REQUIRE(a.update("p", opposite, 10ms) == error::none);
  CHECK(a.resets() == 1);
  CHECK(a.get_coordinate() == coordinate::origin());
  // Still usable afterwards.
  REQUIRE(a.update("q", at({0.01, 0, 0, 0, 0, 0, 0, 0}), 10ms) == error::none);
  CHECK(a.get_coordinate().is_valid());
}

TEST_CASE("set_coordinate refuses invalid or incompatible coordinates") {
  client a(with(algorithm::chorus));
  coordinate bad = coordinate::origin();
  bad.height = std::numeric_limits<double>::quiet_NaN();
  CHECK(a.set_coordinate(bad) == error::invalid_coordinate);
  CHECK(a.set_coordinate(coordinate::origin(3)) == error::incompatible_dimensions);
  CHECK(a.get_coordinate() == coordinate::origin());
}

TEST_CASE("estimates include heights and adjustments, ignoring a negative total") {
  CHECK(estimate_rtt(coordinate::origin(), coordinate::origin()).value() == 20000ns);
  coordinate a = at({0.001, 0, 0, 0, 0, 0, 0, 0}), b = coordinate::origin();
  a.adjustment = b.adjustment = -0.01;
  CHECK(estimate_rtt(a, b).value() == 1020000ns);  // adjustment would go negative: ignored
  a.adjustment = b.adjustment = 0.0005;
  CHECK(estimate_rtt(a, b).value() == 2020000ns);
  CHECK(estimate_rtt(a, coordinate::origin(4)).error_code() == error::incompatible_dimensions);
  b.vec[0] = std::numeric_limits<double>::infinity();
  CHECK(estimate_rtt(a, b).error_code() == error::invalid_coordinate);
  // Absurd but finite coordinates saturate instead of overflowing.
  coordinate far = at({1e300, 0, 0, 0, 0, 0, 0, 0});
  CHECK(estimate_rtt(far, coordinate::origin()).value().count() == std::numeric_limits<std::int64_t>::max());
}

TEST_CASE("go-style duration conversions") {
  CHECK(to_seconds(1500ms) == 1.5);
  CHECK(to_seconds(-1500ms) == -1.5);
  CHECK(to_nanoseconds(0.0079999999) == 7999999ns);  // truncation, not rounding
  CHECK(to_nanoseconds(-0.0000000019) == -1ns);
}

TEST_CASE("peer ids and names are separate peers") {
  client a(with(algorithm::serf));
  const coordinate peer = at({0.02, 0, 0, 0, 0, 0, 0, 0});
  REQUIRE(a.update(1, peer, 20ms) == error::none);
  REQUIRE(a.update("1", peer, 20ms) == error::none);
  a.forget(1);
  a.forget("1");
  a.forget("never-seen");
  CHECK(a.updates() == 2);
}

TEST_CASE("an invalid configuration is a programming error") {
  config c;
  c.dimensionality = 0;
  CHECK_FALSE(c.is_valid());
  CHECK_THROWS_AS(client(c), std::invalid_argument);
  c = config{};
  c.latency_filter_size = 6;
  CHECK_FALSE(c.is_valid());
  CHECK(config{}.is_valid());
  CHECK(config{}.algo == algorithm::chorus);
  CHECK(config::serf().algo == algorithm::serf);
}

TEST_CASE("mixed cluster: a chorus node and a serf node agree on their rtt") {
  client serf_node(with(algorithm::serf, 1)), chorus_node(with(algorithm::chorus, 2));
  for (int i = 0; i < 300; ++i) {
    REQUIRE(serf_node.update("c", chorus_node.get_coordinate(), 80ms) == error::none);
    REQUIRE(chorus_node.update("s", serf_node.get_coordinate(), 80ms) == error::none);
  }
  CHECK(ms(*chorus_node.distance_to(serf_node.get_coordinate())) == Approx(80.0).epsilon(0.05));
  CHECK(ms(*serf_node.distance_to(chorus_node.get_coordinate())) == Approx(80.0).epsilon(0.05));
}

TEST_CASE("chorus anneals: a fresh node moves further on its first sample than later ones") {
  client a(with(algorithm::chorus));
  const coordinate far = at({0.1, 0, 0, 0, 0, 0, 0, 0});
  const double start = ms(*a.distance_to(far));
  REQUIRE(a.update("p", far, 20ms) == error::none);
  const double first_fraction = (start - ms(*a.distance_to(far))) / (start - 20.0);
  CHECK(first_fraction > 0.3);
  for (int i = 0; i < 500; ++i) REQUIRE(a.update("q", at({0.0, 0.05, 0, 0, 0, 0, 0, 0}), 30ms) == error::none);
  const double before = ms(*a.distance_to(far));
  REQUIRE(a.update("p", far, 20ms) == error::none);
  const double later_fraction = (before - ms(*a.distance_to(far))) / (before - 20.0);
  CHECK(later_fraction > 0.0);
  CHECK(later_fraction < first_fraction / 2);
}
