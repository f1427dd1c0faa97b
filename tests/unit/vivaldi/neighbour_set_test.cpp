// The chorus algorithm's neighbour set and local fit (docs/vivaldi.md,
// "neighbour fit"): bounded memory, refresh in place, forget, and a fit that
// finds the position its neighbours' RTTs describe while ignoring a detour.
#include "vivaldi/neighbour_set.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "vivaldi/client.hpp"

using namespace chorus::vivaldi;

namespace {

coordinate at(double x, double y, double height = 1e-5) {
  coordinate c;
  c.vec[0] = x;
  c.vec[1] = y;
  c.height = height;
  c.error = 0.1;
  return c;
}

const neighbour_fit_params fit_params{1.0, 0.0, 0.1, 1e-5};

// Four neighbours at the corners of a 100 ms square; the RTTs say the node
// sits at (0.03, 0.02) s.
struct square {
  neighbour_set set{8, default_dimensionality};
  neighbour_ref refs[4];
  coordinate corners[4] = {at(0, 0), at(0.1, 0), at(0, 0.1), at(0.1, 0.1)};
  double rtt_to(const coordinate& c, double x, double y) const {
    return std::hypot(c.vec[0] - x, c.vec[1] - y) + c.height + 1e-5;
  }
  void record_all(double x, double y) {
    for (std::uint32_t i = 0; i < 4; ++i) set.record(refs[i], i + 1, corners[i], rtt_to(corners[i], x, y), i, 1, 0.01);
  }
};

}  // namespace

TEST_CASE("neighbour set: never holds more than its capacity, refreshes a known peer in place") {
  neighbour_set set(4, default_dimensionality);
  neighbour_ref refs[10];
  for (std::uint32_t i = 0; i < 10; ++i) set.record(refs[i], i + 1, at(0.01 * i, 0), 0.02, i, 3, 0.01);
  CHECK(set.size() == 4);
  CHECK(set.capacity() == 4);
  // The most recently seen peer is still there: refreshing it does not grow the set.
  set.record(refs[9], 10, at(0.5, 0), 0.03, 11, 3, 0.01);
  CHECK(set.size() == 4);
}

TEST_CASE("neighbour set: remove drops the peer and keeps the others findable") {
  neighbour_set set(4, default_dimensionality);
  neighbour_ref a, b, c;
  set.record(a, 1, at(0, 0), 0.02, 1, 3, 0.01);
  set.record(b, 2, at(0.01, 0), 0.02, 2, 3, 0.01);
  set.record(c, 3, at(0.02, 0), 0.02, 3, 3, 0.01);
  set.remove(a);
  CHECK(set.size() == 2);
  set.remove(a);  // twice is harmless
  CHECK(set.size() == 2);
  // c was moved into a's slot: recording it again must find it, not add it.
  set.record(c, 3, at(0.02, 0.01), 0.02, 4, 3, 0.01);
  CHECK(set.size() == 2);
  set.clear();
  CHECK(set.size() == 0);
  coordinate self = at(0.05, 0.05);
  CHECK_FALSE(set.fit(self, fit_params));  // nothing to fit: unchanged
  CHECK(self.vec[0] == 0.05);
}

TEST_CASE("neighbour fit: converges to the position the measured rtts describe") {
  square s;
  s.record_all(0.03, 0.02);
  coordinate self = at(0.07, 0.09);
  for (int i = 0; i < 50; ++i) REQUIRE(s.set.fit(self, fit_params));
  CHECK(self.vec[0] == Approx(0.03).margin(1e-4));
  CHECK(self.vec[1] == Approx(0.02).margin(1e-4));
}

TEST_CASE("neighbour fit: one detour path barely moves the fit, thanks to the huber cut") {
  auto fitted = [](double huber) {
    square s;
    s.record_all(0.03, 0.02);
    neighbour_ref far;
    const coordinate c = at(0.05, 0.05);
    // Measured 5x longer than the geometry says: a detour.
    s.set.record(far, 9, c, 5 * s.rtt_to(c, 0.03, 0.02), 9, 1, 0.01);
    coordinate self = at(0.03, 0.02);
    for (int i = 0; i < 50; ++i) REQUIRE(s.set.fit(self, {1.0, 0.0, huber, 1e-5}));
    return std::hypot(self.vec[0] - 0.03, self.vec[1] - 0.02);
  };
  const double robust = fitted(0.1), plain = fitted(1e9);
  CHECK(robust < plain / 2);
}

TEST_CASE("neighbour fit: the height takes up a constant excess on every link") {
  square s;
  // Every link 20 ms longer than the square: a 20 ms access link.
  for (std::uint32_t i = 0; i < 4; ++i)
    s.set.record(s.refs[i], i + 1, s.corners[i], s.rtt_to(s.corners[i], 0.05, 0.05) + 0.02, i, 1, 0.01);
  coordinate self = at(0.05, 0.05);
  for (int i = 0; i < 100; ++i) REQUIRE(s.set.fit(self, {0.5, 0.5, 0.1, 1e-5}));
  CHECK(self.height == Approx(0.02).margin(2e-3));
}

TEST_CASE("chorus client: same inputs give the same coordinate, and forget() changes what follows") {
  auto run = [](bool forget) {
    client c(config::chorus_defaults());
    for (int round = 0; round < 60; ++round)
      for (peer_id p = 0; p < 3; ++p) {
        const coordinate remote = at(0.01 * static_cast<double>(p), 0.02);
        REQUIRE(c.update(p, remote, std::chrono::milliseconds(20 + 10 * p)) == error::none);
        if (forget && round == 30 && p == 2) c.forget(peer_id{2});
      }
    return c.get_coordinate();
  };
  const coordinate a = run(false), b = run(false), c = run(true);
  CHECK(a.vec == b.vec);
  CHECK(a.height == b.height);
  CHECK(a.vec != c.vec);  // its filter and neighbour entry start afresh
}

TEST_CASE("neighbour set: mean_error is the mean of the recorded peers' error estimates") {
  neighbour_set set(4, default_dimensionality);
  CHECK(set.mean_error() == 0.0);
  neighbour_ref a, b;
  coordinate settled = at(0, 0), fresh = at(0.01, 0);
  settled.error = 0.1;
  fresh.error = 1.5;
  set.record(a, 1, settled, 0.02, 1, 3, 0.01);
  set.record(b, 2, fresh, 0.02, 2, 3, 0.01);
  CHECK(set.mean_error() == Approx(0.8));
  set.remove(b);
  CHECK(set.mean_error() == Approx(0.1));
  // Refreshed and evicted entries leave the mean too.
  neighbour_set two(2, default_dimensionality);
  neighbour_ref r[3];
  for (std::uint32_t i = 0; i < 3; ++i) {
    coordinate c = at(0.01 * i, 0);
    c.error = 0.2 * (i + 1);  // 0.2, 0.4, 0.6: the first is evicted
    two.record(r[i], i + 1, c, 0.02, i, 3, 0.01);
  }
  CHECK(two.mean_error() == Approx(0.5));
  settled.error = 0.2;
  two.record(r[2], 3, settled, 0.02, 5, 3, 0.01);
  CHECK(two.mean_error() == Approx(0.3));
}

namespace {

// Five settled peers (error 0.05) in a plane, and a newcomer at (0.03, 0.02)
// that measures each of them once, in order. Returns the newcomer's worst
// relative error over the five links afterwards.
const coordinate newcomer_peers[5] = {at(0, 0), at(0.1, 0), at(0, 0.1), at(0.1, 0.1), at(0.05, -0.05)};

double newcomer_rtt(const coordinate& p) { return std::hypot(p.vec[0] - 0.03, p.vec[1] - 0.02) + p.height + 1e-5; }

// The newcomer after `rounds` rounds of measuring each peer once.
client newcomer(std::size_t join_fit_steps, double peer_error, int rounds) {
  config cfg = config::chorus_defaults();
  cfg.chorus.join_fit_steps = join_fit_steps;
  client c(cfg);
  for (int round = 0; round < rounds; ++round)
    for (peer_id i = 0; i < 5; ++i) {
      coordinate p = newcomer_peers[i];
      p.error = peer_error;
      const auto rtt = std::chrono::nanoseconds(static_cast<std::int64_t>(newcomer_rtt(p) * 1e9));
      REQUIRE(c.update(i, p, rtt) == error::none);
    }
  return c;
}

double newcomer_worst_error(std::size_t join_fit_steps, double peer_error) {
  const client c = newcomer(join_fit_steps, peer_error, 1);
  const auto& peers = newcomer_peers;
  auto rtt = newcomer_rtt;
  double worst = 0.0;
  for (const auto& p : peers)
    worst = std::max(worst, std::abs(estimate_seconds(c.get_coordinate(), p) - rtt(p)) / rtt(p));
  return worst;
}

}  // namespace

TEST_CASE("chorus client: a newcomer among settled peers fits itself after a few of them") {
  // The default waits for its 11th update before fitting: after five
  // samples the spring alone leaves it far off.
  const double waiting = newcomer_worst_error(0, 0.05);
  const double joining = newcomer_worst_error(config::chorus_defaults().chorus.join_fit_steps, 0.05);
  CHECK(waiting > 0.15);
  CHECK(joining < 0.05);
}

TEST_CASE("chorus client: a cluster starting together does not take the newcomer path") {
  // Peers as unsure as the node itself (fresh error estimates): the join
  // fit must not start, so the result is the plain algorithm's, bit for bit.
  const double fresh = config::chorus_defaults().vivaldi_error_max;
  CHECK(newcomer_worst_error(config::chorus_defaults().chorus.join_fit_steps, fresh) == newcomer_worst_error(0, fresh));
}

TEST_CASE("chorus client: once placed, a newcomer steps like a settled node") {
  // After four rounds its error estimate is down near its peers': it has
  // left the newcomer path, and a contradicting sample (a new peer measured
  // at twice the true distance) moves it much less than a node of the same
  // age that waited for its 11th update.
  auto moved = [](std::size_t join_fit_steps) {
    client c = newcomer(join_fit_steps, 0.05, 4);
    const coordinate before = c.get_coordinate();
    coordinate far = at(-0.05, 0.08);
    far.error = 0.05;
    const auto rtt = std::chrono::nanoseconds(static_cast<std::int64_t>(2 * newcomer_rtt(far) * 1e9));
    REQUIRE(c.update(peer_id{9}, far, rtt) == error::none);
    const coordinate after = c.get_coordinate();
    return std::hypot(after.vec[0] - before.vec[0], after.vec[1] - before.vec[1]);
  };
  CHECK(moved(config::chorus_defaults().chorus.join_fit_steps) < moved(0) / 2);
}
