#include "vivaldi/client.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

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
      rng_(cfg.seed) {
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
  // The adjustment ring and latency filters are kept, as in Serf.
  coord_ = origin_;
  ++resets_;
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

void client::chorus_step(peer_state& peer, const coordinate& remote, std::chrono::nanoseconds rtt) {
  serf_step(peer, remote, rtt);  // starting point; replaced step by step below
}

}  // namespace chorus::vivaldi
