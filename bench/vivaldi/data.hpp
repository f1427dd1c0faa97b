#pragma once
// Benchmark inputs (PROTOCOL.md section 1): the RTT matrix and the sample
// schedule, read from text. Errors are reported as strings, never thrown.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chorus::bench {

struct matrix {
  std::size_t n = 0;
  std::vector<double> ms;  // row-major n*n; negative = unknown pair
  double at(std::size_t i, std::size_t j) const { return ms[i * n + j]; }
};

struct sample {
  std::uint32_t round;
  std::uint32_t node;
  std::uint32_t peer;
  std::int64_t rtt_ns;
};

struct schedule {
  std::string header;  // first comment line without "# "
  std::vector<sample> samples;
  std::uint32_t rounds = 0;  // largest round number
};

// Returns an error message, or nothing on success.
std::optional<std::string> read_matrix(const std::string& path, matrix& out);
std::optional<std::string> read_schedule(const std::string& path, std::size_t nodes, schedule& out);
std::optional<std::string> write_matrix(const std::string& path, const matrix& m, int decimals);

// "12.345" ms -> 12345000 ns without going through binary floating point.
std::optional<std::int64_t> parse_ms_to_ns(const char* begin, const char* end);

}  // namespace chorus::bench
