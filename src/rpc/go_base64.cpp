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

}  // namespace chorus::rpc
