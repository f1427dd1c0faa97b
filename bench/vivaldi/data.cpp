#include "data.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace chorus::bench {

std::optional<std::int64_t> parse_ms_to_ns(const char* p, const char* end) {
  // Exact decimal parse: integer part and up to 6 fractional digits (1 ns);
  // further digits are truncated.
  if (p == end) return std::nullopt;
  bool negative = false;
  if (*p == '-' || *p == '+') negative = *p++ == '-';
  std::int64_t whole = 0;
  int digits = 0;
  for (; p != end && *p >= '0' && *p <= '9'; ++p, ++digits) {
    if (whole > 1'000'000'000'000LL) return std::nullopt;
    whole = whole * 10 + (*p - '0');
  }
  std::int64_t frac = 0;
  int frac_digits = 0;
  if (p != end && *p == '.') {
    for (++p; p != end && *p >= '0' && *p <= '9'; ++p, ++digits)
      if (frac_digits < 6) frac = frac * 10 + (*p - '0'), ++frac_digits;
  }
  if (p != end || digits == 0) return std::nullopt;
  for (; frac_digits < 6; ++frac_digits) frac *= 10;
  const std::int64_t ns = whole * 1'000'000 + frac;
  return negative ? -ns : ns;
}

std::optional<std::string> read_matrix(const std::string& path, matrix& out) {
  std::ifstream in(path);
  if (!in) return "cannot open matrix " + path;
  std::vector<std::vector<double>> rows;
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    std::istringstream fields(line);
    std::vector<double> row;
    for (std::string tok; fields >> tok;) {
      char* endp = nullptr;
      errno = 0;
      const double v = std::strtod(tok.c_str(), &endp);
      if (errno != 0 || endp != tok.c_str() + tok.size() || !std::isfinite(v))
        return path + ": bad number '" + tok + "' in row " + std::to_string(rows.size());
      row.push_back(v);
    }
    rows.push_back(std::move(row));
  }
  if (rows.size() < 2) return path + ": fewer than 2 rows";
  out.n = rows.size();
  out.ms.clear();
  out.ms.reserve(out.n * out.n);
  for (std::size_t i = 0; i < out.n; ++i) {
    if (rows[i].size() != out.n) return path + ": row " + std::to_string(i) + " has the wrong length (not square)";
    out.ms.insert(out.ms.end(), rows[i].begin(), rows[i].end());
  }
  return std::nullopt;
}

std::optional<std::string> read_schedule(const std::string& path, std::size_t nodes, schedule& out) {
  std::ifstream in(path);
  if (!in) return "cannot open schedule " + path;
  out = schedule{};
  std::size_t lineno = 0;
  for (std::string line; std::getline(in, line);) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    if (line[first] == '#') {
      if (out.header.empty() && out.samples.empty()) {
        auto h = line.substr(first + 1);
        out.header = h.substr(std::min(h.find_first_not_of(' '), h.size()));
      }
      continue;
    }
    std::istringstream fields(line);
    std::string tok[4], extra;
    if (!(fields >> tok[0] >> tok[1] >> tok[2] >> tok[3]) || (fields >> extra))
      return path + ":" + std::to_string(lineno) + ": expected 'round node peer rtt_ms'";
    unsigned long v[3];
    for (int k = 0; k < 3; ++k) {
      char* endp = nullptr;
      errno = 0;
      v[k] = std::strtoul(tok[k].c_str(), &endp, 10);
      if (errno != 0 || endp != tok[k].c_str() + tok[k].size() || tok[k][0] == '-')
        return path + ":" + std::to_string(lineno) + ": bad integer '" + tok[k] + "'";
    }
    const auto ns = parse_ms_to_ns(tok[3].data(), tok[3].data() + tok[3].size());
    if (!ns) return path + ":" + std::to_string(lineno) + ": bad rtt '" + tok[3] + "'";
    if (v[1] >= nodes || v[2] >= nodes || v[1] == v[2])
      return path + ":" + std::to_string(lineno) + ": node/peer out of range for a " + std::to_string(nodes) +
             "-node matrix";
    if (v[0] < 1 || v[0] > 1'000'000 || v[0] < out.rounds)
      return path + ":" + std::to_string(lineno) + ": round must be >= 1 and non-decreasing";
    out.rounds = static_cast<std::uint32_t>(v[0]);
    out.samples.push_back(
        {static_cast<std::uint32_t>(v[0]), static_cast<std::uint32_t>(v[1]), static_cast<std::uint32_t>(v[2]), *ns});
  }
  return std::nullopt;
}

std::optional<std::string> write_matrix(const std::string& path, const matrix& m, int decimals) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return "cannot write " + path;
  for (std::size_t i = 0; i < m.n; ++i) {
    for (std::size_t j = 0; j < m.n; ++j) std::fprintf(f, j ? " %.*f" : "%.*f", decimals, m.at(i, j));
    std::fputc('\n', f);
  }
  return std::fclose(f) == 0 ? std::nullopt : std::optional<std::string>("error writing " + path);
}

}  // namespace chorus::bench
