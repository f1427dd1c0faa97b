#pragma once
// The fingerprint of a run: FNV-1a over every dispatched event (time, node,
// kind, bytes) and every member event of a bare core. Equal hashes = identical
// runs (the determinism checks compare them); optionally a text line per
// event for reading a diff.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "swim/messages.hpp"

namespace chorus::sim {

class run_trace {
 public:
  explicit run_trace(bool record_lines) : record_(record_lines) {}

  void mix(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) hash_ = (hash_ ^ ((v >> (8 * i)) & 0xff)) * prime;
  }
  void mix_bytes(std::span<const std::uint8_t> b);
  // A push/pull table, the same whether it came as bytes or as a struct
  // (nullptr: undecodable, its size only).
  void mix_table(std::size_t size, const swim::push_pull* t);

  bool recording() const { return record_; }
  void line(std::string s) { lines_.push_back(std::move(s)); }

  std::uint64_t hash() const { return hash_; }
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  static constexpr std::uint64_t prime = 1099511628211ULL;
  void word(std::uint64_t w) {
    hash_ = (hash_ ^ w) * prime;
    hash_ ^= hash_ >> 32;
  }

  bool record_;
  std::uint64_t hash_ = 1469598103934665603ULL;
  std::vector<std::string> lines_;
};

}  // namespace chorus::sim
