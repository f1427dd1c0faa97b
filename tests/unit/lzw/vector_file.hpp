#pragma once
// Reads the captured vectors (../shared/vectors/*.jsonl): one JSON object per
// line, byte fields as lowercase hex. Shared by the lzw, keyring and
// agent_codec unit tests.
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::test {

inline std::string shared_path(std::string_view relative) {
  return std::string(CHORUS_SHARED_DIR) + "/" + std::string(relative);
}

inline std::vector<nlohmann::json> read_jsonl(std::string_view relative) {
  std::ifstream in(shared_path(relative));
  if (!in) throw std::runtime_error("cannot open " + shared_path(relative));
  std::vector<nlohmann::json> lines;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

inline std::vector<std::uint8_t> from_hex(std::string_view h) {
  if (h.size() % 2 != 0) throw std::runtime_error("odd hex length");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::runtime_error("bad hex digit");
  };
  std::vector<std::uint8_t> out;
  out.reserve(h.size() / 2);
  for (std::size_t i = 0; i < h.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(nibble(h[i]) * 16 + nibble(h[i + 1])));
  return out;
}

inline std::string to_hex(const std::vector<std::uint8_t>& b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (auto c : b) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

// Calls f(object) for every JSON object nested anywhere inside `j`.
template <class F>
void for_each_object(const nlohmann::json& j, F&& f) {
  if (j.is_object()) {
    f(j);
    for (const auto& [k, v] : j.items()) for_each_object(v, f);
  } else if (j.is_array()) {
    for (const auto& v : j) for_each_object(v, f);
  }
}

}  // namespace chorus::test
