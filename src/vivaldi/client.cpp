#include "vivaldi/client.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace chorus::vivaldi {

namespace {
// Below this a distance or error counts as zero (vivaldi.md section 1).
constexpr double zero_threshold = 1.0e-6;

// Sum of squares with four independent accumulators: a shorter dependency
// chain than Serf's index-order sum (the chorus path needs no bit-exactness).
template <std::size_t N>
double sum_of_squares(const double* x, std::size_t n) {
  const std::size_t len = N ? N : n;
  double acc[4] = {0.0, 0.0, 0.0, 0.0};
  std::size_t i = 0;
  for (; i + 4 <= len; i += 4)
    for (std::size_t k = 0; k < 4; ++k) acc[k] += x[i + k] * x[i + k];
  for (; i < len; ++i) acc[0] += x[i] * x[i];
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}
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
      adjustment_scale_(cfg.chorus.adj_gain / (2.0 * static_cast<double>(cfg.adjustment_window_size))) {
  if (!cfg.is_valid()) throw std::invalid_argument("invalid vivaldi config");
}

error client::set_coordinate(const coordinate& c) {
  if (!c.is_compatible_with(coord_)) return error::incompatible_dimensions;
  if (!c.is_valid()) return error::invalid_coordinate;
  coord_ = c;
  return error::none;
}

error client::validate(const coordinate& remote, std::chrono::nanoseconds rtt) const {
  if (!remote.is_compatible_with(coord_)) return error::incompatible_dimensions;
  if (!remote.is_valid()) return error::invalid_coordinate;
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
  observe(by_id_[peer], remote, rtt);
  return error::none;
}

void client::forget(std::string_view peer) {
  if (auto it = by_name_.find(peer); it != by_name_.end()) by_name_.erase(it);
}

void client::forget(peer_id peer) { by_id_.erase(peer); }

void client::observe(peer_state& peer, const coordinate& remote, std::chrono::nanoseconds rtt) {
  if (config_.algo == algorithm::serf)
    serf_step(peer, remote, rtt);
  else
    chorus_step(peer, remote, rtt);
  reset_if_invalid();
  ++updates_;
}

void client::reset_if_invalid() {
  if (coord_.is_valid()) return;
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
    unit_[i] = rng_.uniform() - 0.5;
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

// N = the dimensionality when known at compile time (8, Serf's), so the
// loops unroll and the difference vector stays in registers; 0 = any.
template <std::size_t N>
double client::chorus_spring(const double* rvec, double rheight, double radjustment, double rerror, double rtt,
                             double gain) {
  const std::size_t n = N ? N : coord_.vec.size();
  double* v = coord_.vec.data();
  double diff[N ? N : 64];  // config::is_valid() bounds dimensionality by 64
  for (std::size_t i = 0; i < n; ++i) diff[i] = v[i] - rvec[i];
  const double mag = std::sqrt(sum_of_squares<N>(diff, n));
  const double raw = mag + coord_.height + rheight;
  const double adjusted = raw + coord_.adjustment + radjustment;
  const double dist = adjusted > 0.0 ? adjusted : raw;
  const double r = std::max(rtt, zero_threshold);
  const double weight = coord_.error / std::max(coord_.error + rerror, zero_threshold);
  const double inv_r = 1.0 / r;
  const double wrongness = std::abs(dist - r) * inv_r;
  coord_.error = config_.vivaldi_ce * weight * wrongness + coord_.error * (1.0 - config_.vivaldi_ce * weight);
  coord_.error = std::min(coord_.error, config_.vivaldi_error_max);
  // Relative weight min(rel_max, (ref / r)^p); p = 1.25 (the default) and 1
  // avoid std::pow.
  double rel = 1.0;
  const double p = config_.chorus.rel_p;
  if (p != 0.0 && rtt_ref_ > 0.0) {
    const double ratio = rtt_ref_ * inv_r;
    const double cap = config_.chorus.rel_max;
    if (ratio >= 1.0 && cap <= 1.0)
      rel = cap;
    else
      rel = std::min(cap, p == 1.25 ? ratio * std::sqrt(std::sqrt(ratio)) : p == 1.0 ? ratio : std::pow(ratio, p));
  }
  // Robust push: a link measured much longer than predicted (typically a
  // triangle-inequality violation) may push us away by at most push_cap x
  // max(dist, push_floor x ref) per step.
  double residual = r - dist;
  if (config_.chorus.push_cap > 0.0 && static_cast<double>(chorus_steps_) > config_.chorus.push_after)
    residual = std::min(residual, config_.chorus.push_cap * std::max(dist, config_.chorus.push_floor * rtt_ref_));
  double force = gain * weight * residual * rel;
  const double share = config_.chorus.height_share;
  if (share > 0.0) {
    coord_.height = std::max(coord_.height + share * force, config_.height_min);
    force *= 1.0 - share;
  }
  if (mag > zero_threshold) {
    const double inv = 1.0 / mag;
    for (std::size_t i = 0; i < n; ++i) v[i] += diff[i] * inv * force;
    if (share <= 0.0)
      coord_.height = std::max((coord_.height + rheight) * force * inv + coord_.height, config_.height_min);
    // The move is along the line to the remote, so the new distance needs no
    // second pass over the vector.
    return std::abs(mag + force) + coord_.height + rheight;
  } else {
    // Coinciding points: push apart along a random direction of our own PRNG.
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      diff[i] = rng_.uniform() - 0.5;
      sum += diff[i] * diff[i];
    }
    const double rmag = std::sqrt(sum);
    if (rmag > zero_threshold) {
      for (std::size_t i = 0; i < n; ++i) v[i] += diff[i] / rmag * force;
    } else {
      v[0] += force;
    }
  }
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) sum += (v[i] - rvec[i]) * (v[i] - rvec[i]);
  return std::sqrt(sum) + coord_.height + rheight;
}

void client::chorus_step(peer_state& peer, const coordinate& remote, std::chrono::nanoseconds rtt) {
  const chorus_tuning& t = config_.chorus;
  const double rtt_f = peer.filter.add_and_median(static_cast<double>(rtt.count()) * 1e-9, t.filter_window);
  rtt_ref_ = chorus_steps_ == 0 ? rtt_f : rtt_ref_ + t.ref_alpha * (rtt_f - rtt_ref_);

  // Annealed gain: large while the node knows little, small once it has
  // averaged over many peers (less jitter in the final coordinate).
  double gain = t.cc_start;
  if (t.anneal_tau > 0.0) gain *= std::max(t.cc_floor, 1.0 / (1.0 + static_cast<double>(chorus_steps_) * inv_tau_));
  ++chorus_steps_;

  const std::size_t n = coord_.vec.size();
  const double raw_after =
      n == 8 ? chorus_spring<8>(remote.vec.data(), remote.height, remote.adjustment, remote.error, rtt_f, gain)
             : chorus_spring<0>(remote.vec.data(), remote.height, remote.adjustment, remote.error, rtt_f, gain);

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
  coord_.adjustment = adjustment_sum_ * adjustment_scale_;

  // Gravity towards the origin.
  double* v = coord_.vec.data();
  const double mag = std::sqrt(n == 8 ? sum_of_squares<8>(v, n) : sum_of_squares<0>(v, n));
  double g = mag + coord_.height + origin_.height;
  if (g + coord_.adjustment > 0.0) g += coord_.adjustment;
  const double ratio = g * inv_rho_;
  const double force = -(ratio * ratio);
  if (mag > zero_threshold) {
    const double inv = 1.0 / mag;
    for (std::size_t i = 0; i < n; ++i) v[i] += v[i] * inv * force;
    coord_.height = std::max((coord_.height + origin_.height) * force * inv + coord_.height, config_.height_min);
  }
}

}  // namespace chorus::vivaldi
