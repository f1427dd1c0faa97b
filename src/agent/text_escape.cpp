#include "agent/text_escape.hpp"

#include <cstdint>

namespace chorus::agent {

namespace {

const char hex[] = "0123456789abcdef";

// Code points that break or disguise a line although they are valid UTF-8.
bool hidden(std::uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::size_t utf8_sequence(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = byte(0);
  std::size_t len = 0;
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(k) & 0x3f);
  }
  // Overlong forms, surrogates and code points past U+10FFFF are invalid.
  if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return len;
}

void append_hex(std::string& out, std::string_view prefix, std::uint32_t v, int digits) {
  out += prefix;
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) out += hex[(v >> shift) & 15];
}

bool append_letter_escape(std::string& out, std::uint32_t c, std::string_view chars, std::string_view letters) {
  // c < 0x80 keeps a code point from matching a char by its low byte.
  const auto k = c < 0x80 ? chars.find(static_cast<char>(c)) : std::string_view::npos;
  if (k == std::string_view::npos) return false;
  out += '\\';
  out += letters[k];
  return true;
}

std::string escape_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  escape_utf8(s, out, [](std::string& out, std::uint32_t cp, bool valid) {
    if (!valid) {
      append_hex(out, "\\x", cp, 2);  // the byte, so nothing is lost
      return true;
    }
    if (cp >= 0x80) {
      if (!hidden(cp)) return false;  // printable UTF-8 stays readable
      append_hex(out, "\\u", cp, 4);
      return true;
    }
    if (append_letter_escape(out, cp, "\\\a\b\f\n\r\t\v", "\\abfnrtv")) return true;
    if (cp >= 0x20 && cp != 0x7f) return false;
    append_hex(out, "\\x", cp, 2);
    return true;
  });
  return out;
}

}  // namespace chorus::agent
