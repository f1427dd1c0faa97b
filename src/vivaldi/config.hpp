#pragma once
// Tunables of the Vivaldi client. The numeric defaults are Serf's
// DefaultConfig (vivaldi.md section 1); `algo` picks how observations move
// the coordinate. Both algorithms produce coordinates in Serf's wire format
// and estimate RTTs the same way, so mixed clusters keep working.
#include <cstddef>
#include <cstdint>

#include "vivaldi/coordinate.hpp"
#include "vivaldi/error.hpp"

namespace chorus::vivaldi {

enum class algorithm {
  serf,    // Serf 0.9.4's update, bit for bit (reference vectors)
  chorus,  // our improved update (docs/vivaldi.md)
};

// Knobs of the chorus algorithm only; ignored with algorithm::serf. Each one
// is justified by a measurement in docs/vivaldi.md.
struct chorus_tuning {
  // Samples per peer kept by the median latency filter (longer windows
  // measured no better on jitter10 and cost speed).
  std::size_t filter_window = 3;
  // Step gain: starts at cc_start (a fresh node jumps most of the way) and
  // anneals as 1 / (1 + updates / anneal_tau), never below cc_floor x
  // cc_start so that a node keeps tracking route changes.
  double cc_start = 1.0;
  double anneal_tau = 30.0;
  double cc_floor = 0.1;
  // Relative weighting: a sample of RTT r moves the node by
  // min(rel_max, (ref / r)^rel_p) times the usual step, ref being a running
  // mean of this node's RTTs (EWMA gain ref_alpha). Long links, which carry
  // most triangle-inequality violations, then stop dragging short ones.
  double rel_p = 1.25;
  double rel_max = 1.0;
  double ref_alpha = 0.05;
  // Adjustment = adj_gain x Serf's (half the mean residual over the window).
  // 0 since the neighbour fit: the fitted height does its job better.
  double adj_gain = 0.0;
  // Share of each step that goes additively into the height (the rest moves
  // the vector); 0 = Serf's multiplicative height update.
  double height_share = 0.25;
  // After push_after steps (once the node has found its region), a sample
  // longer than predicted pushes by at most
  // push_cap x max(predicted, push_floor x ref) (push_cap 0 = no cap): long
  // detour paths stop inflating the whole embedding.
  double push_cap = 0.25;
  double push_floor = 0.5;
  double push_after = 30.0;
  // Neighbour fit (0 neighbours = off): the node keeps its `neighbours` most
  // recently measured peers (coordinate + filtered RTT) and, after each
  // spring step past fit_after steps, moves fit_gain of the way to where a
  // weighted least-squares fit of its relative errors against all of them
  // puts it, and adds fit_height_gain x the weighted mean residual to its
  // height. Residuals beyond fit_huber (relative) weigh less; each
  // neighbour weighs 1 / (its error estimate + fit_error_floor); an entry's
  // RTT is the mean of its last fit_rtt_average filtered RTTs.
  std::size_t neighbours = 32;
  double fit_gain = 0.5;
  double fit_height_gain = 0.4;
  double fit_huber = 0.1;
  double fit_after = 10.0;
  double fit_error_floor = 0.01;
  std::size_t fit_rtt_average = 3;
  // Joining a settled cluster (0 join_fit_steps = off): while this node's
  // error estimate is above join_error_ratio x the mean of its neighbours'
  // (they know where they are, it does not), it fits as soon as it has
  // join_fit_after neighbours, with join_fit_steps full (undamped)
  // majorisation steps per update instead of one damped one. A cluster that
  // starts together never qualifies: everybody's error is alike.
  double join_error_ratio = 2.0;
  // Only in a node's first join_window steps: a settled node whose error
  // rises (a hard link, a route change) keeps the ordinary damped fit.
  double join_window = 30.0;
  std::size_t join_fit_after = 3;
  std::size_t join_fit_steps = 10;
  // When it leaves that state, its annealing counter jumps to at least
  // join_settled_steps: it is placed, so it steps like a settled node.
  std::size_t join_settled_steps = 100;
};

struct config {
  algorithm algo = algorithm::chorus;
  std::size_t dimensionality = default_dimensionality;
  // Maximum (and initial) error estimate: a fresh node trusts itself least.
  double vivaldi_error_max = default_error_max;
  // Gain of the error moving average.
  double vivaldi_ce = 0.25;
  // Gain of the coordinate step (the spring constant of the Vivaldi paper).
  // Serf's algorithm only: chorus anneals its own gain (chorus.cc_start).
  double vivaldi_cc = 0.25;
  // Adjustment = mean over this many recent (rtt - raw distance) samples / 2:
  // absorbs what the Euclidean model cannot express.
  std::size_t adjustment_window_size = 20;
  // Smallest height: 10 us, so a height never vanishes.
  double height_min = default_height_min;
  // Samples per peer for Serf's median latency filter.
  std::size_t latency_filter_size = 3;
  // Gravity length scale in seconds: keeps the whole system from drifting.
  double gravity_rho = 150.0;
  // Seed of the client's own PRNG (random directions when points coincide).
  std::uint64_t seed = 0;
  chorus_tuning chorus{};

  // Serf's DefaultConfig() with Serf's algorithm.
  static config serf() {
    config c;
    c.algo = algorithm::serf;
    return c;
  }
  // Our defaults (the same as a default-constructed config).
  static config chorus_defaults() { return config{}; }

  // Whether a client can run with this configuration.
  bool is_valid() const {
    return dimensionality >= 1 && dimensionality <= 64 && vivaldi_error_max > 0 && vivaldi_ce > 0 && vivaldi_cc > 0 &&
           adjustment_window_size >= 1 && adjustment_window_size <= 1024 && height_min >= 0 &&
           latency_filter_size >= 1 && latency_filter_size <= 5 && chorus.filter_window >= 1 &&
           chorus.filter_window <= 5 && gravity_rho > 0 && chorus.cc_start > 0 && chorus.anneal_tau >= 0 &&
           chorus.cc_floor > 0 && chorus.rel_max > 0 && chorus.ref_alpha > 0 && chorus.ref_alpha <= 1 &&
           chorus.adj_gain >= 0 && chorus.height_share >= 0 && chorus.height_share < 1 && chorus.push_cap >= 0 &&
           chorus.push_floor >= 0 && chorus.push_after >= 0 && chorus.neighbours <= 1024 && chorus.fit_gain >= 0 &&
           chorus.fit_gain <= 1 && chorus.fit_height_gain >= 0 && chorus.fit_height_gain <= 1 && chorus.fit_huber > 0 &&
           chorus.fit_after >= 0 && chorus.fit_error_floor > 0 && chorus.fit_rtt_average >= 1 &&
           chorus.fit_rtt_average <= 1000 && chorus.join_error_ratio >= 1 && chorus.join_window >= 0 &&
           chorus.join_fit_after >= 1 && chorus.join_fit_steps <= 100;
  }
};

}  // namespace chorus::vivaldi
