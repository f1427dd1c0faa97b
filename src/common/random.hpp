#pragma once
// The one pseudo-random generator of every layer (STYLE #3): each swim core,
// Serf node, Vivaldi client and simulated network owns one, seeded; no global
// state, so simulations run side by side and replay from a seed.
// xoshiro256** seeded through splitmix64: fully specified, so a seed replays
// identically on every platform and standard library
// (std::uniform_int_distribution is not). Header-only: the pure layers share
// it without linking each other.
#include <cstdint>

namespace chorus {

class random_source {
 public:
  explicit random_source(std::uint64_t seed = 0) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    for (auto& s : s_) s = splitmix(seed);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n); n == 0 gives 0. Lemire's multiply-shift: the bias is
  // below 2^-32 for the table sizes we draw from, which is irrelevant here.
  std::uint64_t below(std::uint64_t n) {
    if (n == 0) return 0;
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

  // Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // A child generator: lets a simulator derive one stream per node from a root seed.
  std::uint64_t fork_seed() { return next() ^ 0x9e3779b97f4a7c15ULL; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t s_[4];
};

}  // namespace chorus
