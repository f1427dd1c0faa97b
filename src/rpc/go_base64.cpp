#include "rpc/go_base64.hpp"

namespace chorus::rpc {

namespace {

bool in_alphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

bool is_newline(char c) { return c == '\n' || c == '\r'; }

std::string corrupt_at(std::size_t offset) { return "illegal base64 data at input byte " + std::to_string(offset); }

}  // namespace

std::string go_base64_error(std::string_view s) {
  std::size_t si = 0;
  for (;;) {
    // One quantum: up to four alphabet characters; newlines do not count.
    for (int j = 0; j < 4; ++j) {
      if (si == s.size()) {
        if (j == 0) return {};
        // Padding is required: a short final quantum is reported at its start.
        return corrupt_at(si - static_cast<std::size_t>(j));
      }
      const char c = s[si++];
      if (in_alphabet(c)) continue;
      if (is_newline(c)) {
        --j;
        continue;
      }
      if (c != '=' || j < 2) return corrupt_at(si - 1);
      if (j == 2) {  // "==" expected; the first one is consumed
        while (si < s.size() && is_newline(s[si])) ++si;
        if (si == s.size()) return corrupt_at(s.size());
        if (s[si] != '=') return corrupt_at(si - 1);
        ++si;
      }
      while (si < s.size() && is_newline(s[si])) ++si;
      return si < s.size() ? corrupt_at(si) : std::string();  // nothing may follow the padding
    }
  }
}

std::vector<std::uint8_t> go_base64_decode(std::string_view s) {
  std::vector<std::uint8_t> out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+')
      v = 62;
    else if (c == '/')
      v = 63;
    else
      continue;  // padding, newlines
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  return out;
}

}  // namespace chorus::rpc
