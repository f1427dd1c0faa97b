#include "vivaldi/client.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "vivaldi/vector_ops.hpp"

namespace chorus::vivaldi {

namespace {
// Below this a distance or error counts as zero (vivaldi.md section 1).
constexpr double zero_threshold = 1.0e-6;

}  // namespace

client::client(const config& cfg)
    : config_(cfg),
      coord_(coordinate::origin(cfg.dimensionality, cfg.vivaldi_error_max, cfg.height_min)),
      origin_(coord_),
      adjustment_samples_(cfg.adjustment_window_size, 0.0),
      unit_(cfg.dimensionality, 0.0),
      rng_(cfg.seed),
      inv_tau_(cfg.chorus.anneal_tau > 0 ? 1.0 / cfg.chorus.anneal_tau : 0.0),
      inv_rho_(1.0 / cfg.gravity_rho),
      adjustment_scale_(cfg.chorus.adj_gain / (2.0 * static_cast<double>(cfg.adjustment_window_size))),
      rel_form_(cfg.chorus.rel_p == 0.0    ? rel_form::none
                : cfg.chorus.rel_p == 1.25 ? rel_form::p125
                : cfg.chorus.rel_p == 1.0  ? rel_form::p1
                                           : rel_form::pow) {
  if (!cfg.is_valid()) throw std::invalid_argument("invalid vivaldi config");
  if (cfg.algo == algorithm::chorus) neighbours_ = neighbour_set(cfg.chorus.neighbours, cfg.dimensionality);
}

void client::reserve_peers(std::size_t peers) {
  if (peers > dense_.size()) dense_.resize(peers);
  // Ids that had state in the hash table keep it.
  for (std::size_t id = 0; id < peers; ++id)
    if (by_id_.contains(id)) {
      dense_[id] = by_id_[id];
      by_id_.erase(id);
    }
}

error client::set_coordinate(const coordinate& c) {
  if (!c.is_compatible_with(coord_)) return error::incompatible_dimensions;
  if (!c.is_valid()) return error::invalid_coordinate;
  coord_ = c;
  return error::none;
}

error client::validate(const coordinate& remote, std::chrono::nanoseconds rtt) const {
  if (!remote.is_compatible_with(coord_)) return error::incompatible_dimensions;
  const std::uint64_t scalars =
      finite_carry(remote.error) | finite_carry(remote.adjustment) | finite_carry(remote.height);
  const std::uint64_t vector = remote.vec.size() == detail::vec8::max
                                   ? detail::vec8::load(remote.vec.data(), 8).finite_carry()
                                   : finite_carry(remote.vec.data(), remote.vec.size());
  if (!carry_is_finite(scalars | vector)) return error::invalid_coordinate;  // remote.is_valid(), vectorised
  if (rtt < std::chrono::nanoseconds(0) || rtt > max_rtt) return error::rtt_out_of_range;
  return error::none;
}

error client::update(std::string_view peer, const coordinate& remote, std::chrono::nanoseconds rtt) {
  if (error e = validate(remote, rtt); e != error::none) return e;
  auto it = by_name_.find(peer);
  if (it == by_name_.end()) it = by_name_.emplace(std::string(peer), peer_state{}).first;
  observe(it->second, remote, rtt);
  return error::none;
}

error client::update(peer_id peer, const coordinate& remote, std::chrono::nanoseconds rtt) {
  if (error e = validate(remote, rtt); e != error::none) return e;
  observe(state_of(peer), remote, rtt);
  return error::none;
}

void client::forget(std::string_view peer) {
  if (auto it = by_name_.find(peer); it != by_name_.end()) {
    neighbours_.remove(it->second.neighbour);
    by_name_.erase(it);
  }
}

void client::forget(peer_id peer) {
  if (peer < dense_.size()) {
    neighbours_.remove(dense_[peer].neighbour);
    dense_[peer] = peer_state{};
  } else if (by_id_.contains(peer)) {
    neighbours_.remove(by_id_[peer].neighbour);
    by_id_.erase(peer);
  }
}

void client::observe(peer_state& peer, const coordinate& remote, std::chrono::nanoseconds rtt) {
  if (config_.algo == algorithm::serf) {
    serf_step(peer, remote, rtt);
    reset_if_invalid();
  } else if (!(coord_.vec.size() == detail::vec8::max ? chorus_step<detail::vec8>(peer, remote, rtt)
                                                      : chorus_step<detail::vecn>(peer, remote, rtt))) {
    reset();
  }
  ++updates_;
}

void client::reset() {
  // Serf keeps the adjustment ring and latency filters. The chorus algorithm
  // also restarts as a fresh node: a poisoned adjustment sample would
  // otherwise keep invalidating the coordinate until it leaves the window.
  coord_ = origin_;
  ++resets_;
  if (config_.algo == algorithm::chorus) {
    std::fill(adjustment_samples_.begin(), adjustment_samples_.end(), 0.0);
    adjustment_sum_ = 0.0;
    chorus_steps_ = 0;
    rtt_ref_ = 0.0;
    neighbours_.clear();
    joining_ = false;
  }
}

// ---------------------------------------------------------------------------
// Serf's algorithm. The order of floating-point operations follows
// vivaldi.md exactly: the reference vectors check it bit for bit.

double client::serf_unit_vector_at(const coordinate& other) {
  const std::size_t n = coord_.vec.size();
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    unit_[i] = coord_.vec[i] - other.vec[i];
    sum += unit_[i] * unit_[i];
  }
  const double mag = std::sqrt(sum);
  if (mag > zero_threshold) {
    const double inv = 1.0 / mag;  // multiply by the reciprocal, never divide (bit-exact)
    for (std::size_t i = 0; i < n; ++i) unit_[i] *= inv;
    return mag;
  }
  // The points coincide: any direction will do, chosen by our own PRNG.
  sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    unit_[i] = rng_.unit() - 0.5;
    sum += unit_[i] * unit_[i];
  }
  const double rmag = std::sqrt(sum);
  if (rmag > zero_threshold) {
    const double inv = 1.0 / rmag;
    for (std::size_t i = 0; i < n; ++i) unit_[i] *= inv;
  } else {
    std::fill(unit_.begin(), unit_.end(), 0.0);
    unit_[0] = 1.0;
  }
  return 0.0;
}

void client::serf_apply_force(double force, const coordinate& other) {
  const double mag = serf_unit_vector_at(other);
  for (std::size_t i = 0; i < coord_.vec.size(); ++i) coord_.vec[i] += unit_[i] * force;
  if (mag > zero_threshold) {
    coord_.height = (coord_.height + other.height) * force / mag + coord_.height;
    coord_.height = std::max(coord_.height, config_.height_min);
  }
}

void client::serf_step(peer_state& peer, const coordinate& remote, std::chrono::nanoseconds rtt) {
  // Latency filter: median of the last few samples to this peer.
  const double rtt_f = peer.filter.add_and_median(to_seconds(rtt), config_.latency_filter_size);

  // Vivaldi step, against the truncated-nanosecond estimate.
  const double dist = to_seconds(to_nanoseconds(estimate_seconds(coord_, remote)));
  const double r = std::max(rtt_f, zero_threshold);
  const double wrongness = std::abs(dist - r) / r;
  const double total_error = std::max(coord_.error + remote.error, zero_threshold);
  const double weight = coord_.error / total_error;
  coord_.error = config_.vivaldi_ce * weight * wrongness + coord_.error * (1.0 - config_.vivaldi_ce * weight);
  coord_.error = std::min(coord_.error, config_.vivaldi_error_max);
  const double force = config_.vivaldi_cc * weight * (r - dist);
  serf_apply_force(force, remote);

  // Adjustment: half the mean residual over the window (unclamped rtt).
  adjustment_samples_[adjustment_index_] = rtt_f - raw_distance(coord_, remote);
  adjustment_index_ = (adjustment_index_ + 1) % adjustment_samples_.size();
  double sum = 0.0;
  for (double s : adjustment_samples_) sum += s;
  coord_.adjustment = sum / (2.0 * static_cast<double>(adjustment_samples_.size()));

  // Gravity towards the origin.
  const double g = to_seconds(to_nanoseconds(estimate_seconds(origin_, coord_)));
  const double ratio = g / config_.gravity_rho;
  serf_apply_force(-(ratio * ratio), origin_);
}

// ---------------------------------------------------------------------------
// The chorus algorithm (docs/vivaldi.md explains and measures every choice).
//
// Written for speed (the bench's 10 M updates/s goal) without changing a
// single bit of the results: the rare cases (a longer filter's sort,
// std::pow, the random direction) are out-of-line calls off the hot path;
// both coordinates are read into fixed-size
// local arrays (N = 8 is known at compile time: the loops unroll and
// vectorise, and stores cannot alias the client's fields); data-dependent
// choices are min/max instead of branches; each norm is computed once. The
// floating-point operations and their order are those the figures in
// docs/vivaldi.md were measured with.

// Relative weight min(rel_max, (ref / r)^p).
inline double client::relative_weight(double ratio) const {
  const double rel_max = config_.chorus.rel_max;
  switch (rel_form_) {
    case rel_form::none:
      return 1.0;
    case rel_form::p125:
      // A power >= 1 of a ratio >= 1 is >= 1, so min() alone also covers
      // "ratio >= 1 and rel_max <= 1 gives rel_max", without a branch the
      // CPU would mispredict half the time.
      return std::min(rel_max, ratio * std::sqrt(std::sqrt(ratio)));
    case rel_form::p1:
      return std::min(rel_max, ratio);
    case rel_form::pow:
      break;
  }
  return relative_weight_pow(ratio);
}

double client::relative_weight_pow(double ratio) const {
  const double rel_max = config_.chorus.rel_max;
  return ratio >= 1.0 && rel_max <= 1.0 ? rel_max : std::min(rel_max, std::pow(ratio, config_.chorus.rel_p));
}

// Coinciding points: push apart along a random direction of our own PRNG.
// Returns the new |x - remote|.
double client::separate(double* x, const double* rv, std::size_t n, double force) {
  double dir[64];
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    dir[i] = rng_.unit() - 0.5;
    sum += dir[i] * dir[i];
  }
  const double rmag = std::sqrt(sum);
  if (rmag > zero_threshold) {
    for (std::size_t i = 0; i < n; ++i) x[i] += dir[i] / rmag * force;
  } else {
    x[0] += force;
  }
  sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) sum += (x[i] - rv[i]) * (x[i] - rv[i]);
  return std::sqrt(sum);
}

template <class V>
bool client::chorus_step(peer_state& peer, const coordinate& remote, std::chrono::nanoseconds rtt) {
  const chorus_tuning& t = config_.chorus;
  // The vectors are loaded first: their loads overlap the scalar work.
  const std::size_t n = coord_.vec.size();
  double* v = coord_.vec.data();
  V x = V::load(v, n);
  const V diff = x - V::load(remote.vec.data(), n);

  const double rtt_f = peer.filter.add_and_median(static_cast<double>(rtt.count()) * 1e-9, t.filter_window);
  const double ref = chorus_steps_ == 0 ? rtt_f : rtt_ref_ + t.ref_alpha * (rtt_f - rtt_ref_);
  rtt_ref_ = ref;

  // Annealed gain: large while the node knows little, small once it has
  // averaged over many peers (less jitter in the final coordinate).
  double gain = t.cc_start;
  if (t.anneal_tau > 0.0) gain *= std::max(t.cc_floor, 1.0 / (1.0 + static_cast<double>(chorus_steps_) * inv_tau_));
  ++chorus_steps_;
  const bool push_capped = t.push_cap > 0.0 && static_cast<double>(chorus_steps_) > t.push_after;

  const double r = std::max(rtt_f, zero_threshold);
  const double inv_r = 1.0 / r;
  // Long links, which carry most triangle-inequality violations, weigh less.
  const double rel = rel_form_ != rel_form::none && ref > 0.0 ? relative_weight(ref * inv_r) : 1.0;
  double error = coord_.error;
  const double weight = error / std::max(error + remote.error, zero_threshold);
  double height = coord_.height;
  const double rheight = remote.height;
  const double height_min = config_.height_min;

  // The spring between us and the remote, of measured length rtt_f.
  const double mag = std::sqrt(diff.sum_of_squares());
  const double raw = mag + height + rheight;
  const double adjusted = raw + coord_.adjustment + remote.adjustment;
  const double dist = adjusted > 0.0 ? adjusted : raw;
  const double wrongness = std::abs(dist - r) * inv_r;
  error = config_.vivaldi_ce * weight * wrongness + error * (1.0 - config_.vivaldi_ce * weight);
  error = std::min(error, config_.vivaldi_error_max);
  // Robust push: a link measured much longer than predicted (typically a
  // triangle-inequality violation) may push us away by at most push_cap x
  // max(dist, push_floor x ref) per step.
  double residual = r - dist;
  if (push_capped) residual = std::min(residual, t.push_cap * std::max(dist, t.push_floor * ref));
  double force = gain * weight * residual * rel;
  const double share = t.height_share;
  if (share > 0.0) {
    height = std::max(height + share * force, height_min);
    force *= 1.0 - share;
  }
  double raw_after;
  if (mag > zero_threshold) [[likely]] {
    const double inv = 1.0 / mag;
    x = x + diff.scaled(inv, force);
    if (share <= 0.0) height = std::max((height + rheight) * force * inv + height, height_min);
    // The move is along the line to the remote, so the new distance needs no
    // second pass over the vector.
    raw_after = std::abs(mag + force) + height + rheight;
  } else {
    double moved[V::max];
    x.store(moved);
    raw_after = separate(moved, remote.vec.data(), n, force) + height + rheight;
    x = V::load(moved, n);
  }

  // Adjustment: half the mean residual over the window, as a running sum.
  const double sample = rtt_f - raw_after;
  adjustment_sum_ += sample - adjustment_samples_[adjustment_index_];
  adjustment_samples_[adjustment_index_] = sample;
  if (++adjustment_index_ == adjustment_samples_.size()) {
    adjustment_index_ = 0;
    // Once per window, recompute the sum so rounding errors cannot pile up.
    adjustment_sum_ = 0.0;
    for (double a : adjustment_samples_) adjustment_sum_ += a;
  }
  const double adjustment = adjustment_sum_ * adjustment_scale_;

  // Gravity towards the origin (origin_.height is height_min).
  const double gmag = std::sqrt(x.sum_of_squares());
  double g = gmag + height + height_min;
  if (g + adjustment > 0.0) g += adjustment;
  const double ratio = g * inv_rho_;
  const double gforce = -(ratio * ratio);
  if (gmag > zero_threshold) {
    const double inv = 1.0 / gmag;
    x = x + x.scaled(inv, gforce);
    height = std::max((height + height_min) * gforce * inv + height, height_min);
  }

  x.store(v);
  coord_.height = height;
  coord_.error = error;
  coord_.adjustment = adjustment;
  if (neighbours_.capacity() == 0)
    return carry_is_finite(x.finite_carry() | finite_carry(height) | finite_carry(error) | finite_carry(adjustment));
  // The fit moved the vector and the height: check what it stored.
  fit_neighbours(peer, remote, rtt_f);
  return carry_is_finite(V::load(v, n).finite_carry() | finite_carry(coord_.height) | finite_carry(error) |
                         finite_carry(adjustment));
}

// The neighbour fit (docs/vivaldi.md): remember this peer, then move towards
// the position that fits all remembered peers best.
void client::fit_neighbours(peer_state& peer, const coordinate& remote, double rtt_f) {
  const chorus_tuning& t = config_.chorus;
  if (peer.neighbour.tag == 0) peer.neighbour.tag = ++next_tag_;
  neighbours_.record(peer.neighbour, peer.neighbour.tag, remote, rtt_f, updates_,
                     static_cast<std::uint32_t>(t.fit_rtt_average), t.fit_error_floor);
  if (t.join_fit_steps > 0 && static_cast<double>(chorus_steps_) <= t.join_window &&
      neighbours_.size() >= t.join_fit_after && coord_.error > t.join_error_ratio * neighbours_.mean_error()) {
    // A newcomer among settled peers: their positions are as good as fixed,
    // so fit to them fully now instead of waiting for the spring to anneal.
    for (std::size_t i = 0; i < t.join_fit_steps; ++i)
      neighbours_.fit(coord_, {1.0, t.fit_height_gain, t.fit_huber, config_.height_min});
    joining_ = true;
    return;
  }
  if (joining_) {
    // Placed among settled peers: from now on anneal like a node that has
    // been there a while, or the young spring's big steps undo the fit.
    joining_ = false;
    chorus_steps_ = std::max(chorus_steps_, static_cast<std::int64_t>(t.join_settled_steps));
  }
  if (static_cast<double>(chorus_steps_) <= t.fit_after) return;
  neighbours_.fit(coord_, {t.fit_gain, t.fit_height_gain, t.fit_huber, config_.height_min});
}

}  // namespace chorus::vivaldi
