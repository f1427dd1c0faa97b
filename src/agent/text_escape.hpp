#pragma once
// Names and tags come from the network: any member can gossip a node name or
// tag holding a newline, an ANSI escape sequence or a right-to-left override.
// Text meant for line-oriented readers (the CLI's tables, the member lines an
// event handler reads on stdin) escapes such characters so one value stays
// on one line and prints as what it is.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace chorus::agent {

// `s` with Go-style escapes, as strconv.Quote writes them but without the
// quotes: backslash -> \\, \a \b \f \n \r \t \v, other C0 controls and DEL ->
// \xNN, C1 controls, U+2028/U+2029 and the bidirectional controls (U+200E,
// U+200F, U+202A-U+202E, U+2066-U+2069) -> \uNNNN, invalid UTF-8 bytes ->
// \xNN. Everything else, printable UTF-8 included, is unchanged. The backslash
// is escaped too so that the result is unambiguous: "a\nb" printed means a
// newline, "a\\nb" a backslash followed by n.
std::string escape_text(std::string_view s);

// Length of the valid UTF-8 sequence at s[i] (its code point in cp; ASCII is
// 1), 0 if the bytes there are not one: overlong forms, surrogates and code
// points past U+10FFFF are invalid.
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::uint32_t& cp);

// The walk shared by escape_text and the CLI's JSON strings
// (cli/format.cpp), which differ only in what they escape: reads `s` as UTF-8
// and calls `escape(out, cp, valid)` for each character, with the code point
// of a valid sequence (ASCII included) or, with `valid` false, a byte that
// starts none. `escape` appends the escaped form and returns true, or returns
// false to have the character copied as it is.
template <class Escape>
void escape_utf8(std::string_view s, std::string& out, Escape escape) {
  for (std::size_t i = 0; i < s.size();) {
    std::uint32_t cp = 0;
    std::size_t len = utf8_sequence(s, i, cp);
    const bool valid = len > 0;
    if (!valid) {
      cp = static_cast<unsigned char>(s[i]);
      len = 1;
    }
    if (!escape(out, cp, valid)) out.append(s.substr(i, len));
    i += len;
  }
}

// Appends `prefix` and the low `digits` hex digits of `v` in lower case
// (prefix \x and 2 digits for a byte, \u and 4 for a code point).
void append_hex(std::string& out, std::string_view prefix, std::uint32_t v, int digits);

// If `c` is chars[k], appends a backslash and letters[k] and returns true:
// the one-letter escapes (\n, \t, ...), whose sets differ by format.
bool append_letter_escape(std::string& out, std::uint32_t c, std::string_view chars, std::string_view letters);

}  // namespace chorus::agent
