#pragma once
// The few vector operations of the chorus update, for two shapes of vector:
// `vec8` (Serf's 8 dimensions, known at compile time: four SSE2 registers of
// two doubles, so the update keeps both vectors in registers with no loop
// and no stack traffic; plain x86-64, no -march needed) and `vecn` (any
// dimensionality up to config's 64, for other configurations).
//
// Every operation is element-wise or a sum in a fixed order, and both shapes
// compute exactly the same IEEE-754 results: the chorus figures in
// docs/vivaldi.md do not depend on which one runs. Internal to client.cpp.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "vivaldi/coordinate.hpp"

namespace chorus::vivaldi::detail {

// GCC/Clang vector extension: two doubles, one SSE2 register.
using d2 = double __attribute__((vector_size(16)));
using u2 = std::uint64_t __attribute__((vector_size(16)));

class vec8 {
 public:
  static constexpr std::size_t max = 8;

  static vec8 load(const double* x, std::size_t /*n*/) { return {load2(x), load2(x + 2), load2(x + 4), load2(x + 6)}; }
  void store(double* x) const {
    store2(x, a_);
    store2(x + 2, b_);
    store2(x + 4, c_);
    store2(x + 6, d_);
  }

  vec8 operator-(const vec8& o) const { return {a_ - o.a_, b_ - o.b_, c_ - o.c_, d_ - o.d_}; }
  vec8 operator+(const vec8& o) const { return {a_ + o.a_, b_ + o.b_, c_ + o.c_, d_ + o.d_}; }
  // (v x s) x t, element-wise, in that order.
  vec8 scaled(double s, double t) const {
    const d2 vs = {s, s}, vt = {t, t};
    return {a_ * vs * vt, b_ * vs * vt, c_ * vs * vt, d_ * vs * vt};
  }
  vec8 operator*(double s) const {
    const d2 vs = {s, s};
    return {a_ * vs, b_ * vs, c_ * vs, d_ * vs};
  }
  static vec8 zero(std::size_t /*n*/) { return {d2{0, 0}, d2{0, 0}, d2{0, 0}, d2{0, 0}}; }
  // The order of vecn's four-accumulator sum: accumulator k holds
  // x[k]^2 + x[k+4]^2; result (acc0 + acc1) + (acc2 + acc3).
  double sum_of_squares() const {
    const d2 acc01 = a_ * a_ + c_ * c_;
    const d2 acc23 = b_ * b_ + d_ * d_;
    return (acc01[0] + acc01[1]) + (acc23[0] + acc23[1]);
  }
  // See finite_carry(double) in coordinate.hpp.
  std::uint64_t finite_carry() const {
    const u2 c = carry2(a_) | carry2(b_) | carry2(c_) | carry2(d_);
    return c[0] | c[1];
  }

 private:
  vec8(d2 a, d2 b, d2 c, d2 d) : a_(a), b_(b), c_(c), d_(d) {}
  static d2 load2(const double* x) {
    d2 v;
    std::memcpy(&v, x, sizeof v);  // an unaligned 16-byte load
    return v;
  }
  static void store2(double* x, d2 v) { std::memcpy(x, &v, sizeof v); }
  static u2 carry2(d2 v) {
    const u2 exponent = {0x7ff0'0000'0000'0000ULL, 0x7ff0'0000'0000'0000ULL};
    const u2 lsb = {0x0010'0000'0000'0000ULL, 0x0010'0000'0000'0000ULL};
    return (std::bit_cast<u2>(v) & exponent) + lsb;
  }
  d2 a_, b_, c_, d_;  // (x0, x1), (x2, x3), (x4, x5), (x6, x7)
};

class vecn {
 public:
  static constexpr std::size_t max = 64;

  static vecn load(const double* x, std::size_t n) {
    vecn v(n);
    std::memcpy(v.x_, x, n * sizeof(double));
    return v;
  }
  void store(double* x) const { std::memcpy(x, x_, n_ * sizeof(double)); }

  vecn operator-(const vecn& o) const {
    vecn r(n_);
    for (std::size_t i = 0; i < n_; ++i) r.x_[i] = x_[i] - o.x_[i];
    return r;
  }
  vecn operator+(const vecn& o) const {
    vecn r(n_);
    for (std::size_t i = 0; i < n_; ++i) r.x_[i] = x_[i] + o.x_[i];
    return r;
  }
  vecn operator*(double s) const {
    vecn r(n_);
    for (std::size_t i = 0; i < n_; ++i) r.x_[i] = x_[i] * s;
    return r;
  }
  static vecn zero(std::size_t n) {
    vecn r(n);
    for (std::size_t i = 0; i < n; ++i) r.x_[i] = 0.0;
    return r;
  }
  vecn scaled(double a, double b) const {
    vecn r(n_);
    for (std::size_t i = 0; i < n_; ++i) r.x_[i] = x_[i] * a * b;
    return r;
  }
  // Four independent accumulators (a shorter dependency chain than an
  // index-order sum; the chorus algorithm needs no Serf bit-exactness).
  double sum_of_squares() const {
    // Accumulator i % 4 for whole groups of four, accumulator 0 for the rest.
    double acc[4] = {0.0, 0.0, 0.0, 0.0};
    const std::size_t groups = n_ / 4 * 4;
    for (std::size_t i = 0; i < n_; ++i) acc[i < groups ? i % 4 : 0] += x_[i] * x_[i];
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
  }
  std::uint64_t finite_carry() const { return vivaldi::finite_carry(x_, n_); }

 private:
  explicit vecn(std::size_t n) : n_(n) {}
  std::size_t n_;
  double x_[max];
};

}  // namespace chorus::vivaldi::detail
