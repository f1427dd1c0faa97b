#pragma once
// The Vivaldi client of one node: owns the local coordinate and turns RTT
// observations of peers into coordinate moves (vivaldi.md section 5).
//
// Pure computation: no I/O, no clock, no global state; the only randomness is
// the client's own seeded PRNG. update() does not allocate once a peer has
// been seen (fixed-size filters, preallocated scratch space). Not thread-safe:
// one owner calls it.
//
// Two algorithms share this interface (config::algo):
//  - algorithm::serf reproduces Serf 0.9.4 bit for bit;
//  - algorithm::chorus is our more accurate variant (docs/vivaldi.md).
// Both keep Serf's coordinate format and estimate, so coordinates made by one
// are understood by the other.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/random.hpp"
#include "vivaldi/config.hpp"
#include "vivaldi/coordinate.hpp"
#include "vivaldi/error.hpp"
#include "vivaldi/latency_filter.hpp"
#include "vivaldi/neighbour_set.hpp"
#include "vivaldi/peer_table.hpp"

namespace chorus::vivaldi {

// RTT samples above this are absurd and refused, as in Serf.
inline constexpr std::chrono::nanoseconds max_rtt = std::chrono::seconds(10);

// A compact peer key for callers that number their peers (the benchmark, a
// simulator); the agent keys peers by node name.
using peer_id = std::uint64_t;

class client {
 public:
  // Precondition: cfg.is_valid() (a broken configuration is a programming
  // error and throws std::invalid_argument).
  explicit client(const config& cfg = config{});

  const coordinate& get_coordinate() const { return coord_; }
  const config& get_config() const { return config_; }

  // Replaces the local coordinate (e.g. restored from a snapshot).
  [[nodiscard]] error set_coordinate(const coordinate& c);

  // One observation: `rtt` to `peer`, whose coordinate is `remote`. On any
  // error nothing changes. Peer state (latency filter) is kept per key;
  // names and numeric ids are separate key spaces.
  [[nodiscard]] error update(std::string_view peer, const coordinate& remote, std::chrono::nanoseconds rtt);
  [[nodiscard]] error update(peer_id peer, const coordinate& remote, std::chrono::nanoseconds rtt);

  // Estimated RTT from this node to `other`.
  result<std::chrono::nanoseconds> distance_to(const coordinate& other) const { return estimate_rtt(coord_, other); }

  // Preallocates per-peer state for the numeric peer ids 0 .. peers-1 (a
  // flat array indexed by id: no hashing, no allocation in update(), even
  // for peers seen for the first time). Other ids live in a hash table that
  // grows as needed.
  void reserve_peers(std::size_t peers);

  // Drops the per-peer state (call when a member is reaped).
  void forget(std::string_view peer);
  void forget(peer_id peer);

  // How often the local coordinate went invalid and was reset to the origin.
  std::uint64_t resets() const { return resets_; }
  // Accepted observations.
  std::uint64_t updates() const { return updates_; }

 private:
  struct peer_state {
    latency_filter filter;
    neighbour_ref neighbour;  // chorus: where this peer sits in neighbours_
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  error validate(const coordinate& remote, std::chrono::nanoseconds rtt) const;
  void observe(peer_state& peer, const coordinate& remote, std::chrono::nanoseconds rtt);
  peer_state& state_of(peer_id peer) { return peer < dense_.size() ? dense_[peer] : by_id_[peer]; }

  // Serf's algorithm, bit for bit.
  void serf_step(peer_state& peer, const coordinate& remote, std::chrono::nanoseconds rtt);
  void serf_apply_force(double force, const coordinate& other);
  double serf_unit_vector_at(const coordinate& other);  // fills unit_, returns magnitude
  // Our algorithm. V = the vector type (detail::vec8 for Serf's 8
  // dimensions, detail::vecn for any). Returns whether the new coordinate
  // is valid (finite).
  template <class V>
  bool chorus_step(peer_state& peer, const coordinate& remote, std::chrono::nanoseconds rtt);
  [[gnu::always_inline]] inline double relative_weight(double ratio) const;
  [[gnu::cold, gnu::noinline]] double relative_weight_pow(double ratio) const;
  [[gnu::cold, gnu::noinline]] double separate(double* x, const double* rv, std::size_t n, double force);

  void reset_if_invalid() {
    if (!coord_.is_valid()) reset();
  }
  void reset();
  void fit_neighbours(peer_state& peer, const coordinate& remote, double rtt_f);

  config config_;
  coordinate coord_;
  coordinate origin_;
  std::vector<double> adjustment_samples_;
  std::size_t adjustment_index_ = 0;
  double adjustment_sum_ = 0.0;  // chorus: running sum of adjustment_samples_
  std::vector<double> unit_;     // scratch for unit vectors
  random_source rng_;
  double inv_tau_;           // chorus: 1 / anneal_tau
  double inv_rho_;           // chorus: 1 / gravity_rho
  double adjustment_scale_;  // chorus: adj_gain / (2 x window)
  enum class rel_form : std::uint8_t { none, p125, p1, pow };
  rel_form rel_form_;              // chorus: how (ref / rtt)^rel_p is computed
  std::int64_t chorus_steps_ = 0;  // chorus: steps since start or reset (drives annealing; signed: cheaper to convert)
  double rtt_ref_ = 0.0;           // chorus: running mean of filtered RTTs (scale of the relative weight)
  neighbour_set neighbours_;       // chorus: the measured peers the local fit uses
  std::uint32_t next_tag_ = 0;     // chorus: last neighbour tag handed out
  bool joining_ = false;           // chorus: fitting as a newcomer among settled peers (join_fit_steps)

  std::unordered_map<std::string, peer_state, string_hash, std::equal_to<>> by_name_;
  std::vector<peer_state> dense_;  // ids below reserve_peers(n)
  peer_table<peer_state> by_id_;   // any other id
  std::uint64_t resets_ = 0;
  std::uint64_t updates_ = 0;
};

}  // namespace chorus::vivaldi
