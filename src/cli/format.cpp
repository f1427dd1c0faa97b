#include "cli/format.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "agent/ip_port_text.hpp"
#include "agent/member_json.hpp"
#include "agent/text_escape.hpp"

namespace chorus::cli {

namespace {

std::size_t utf8_width(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xc0) != 0x80) ++n;
  return n;
}

void indent_to(std::string& out, int depth) {
  out += '\n';
  out.append(static_cast<std::size_t>(depth) * 2, ' ');
}

void write_json(std::string& out, const nlohmann::ordered_json& v, int depth) {
  if (v.is_object()) {
    if (v.empty()) {
      out += "{}";
      return;
    }
    out += '{';
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!first) out += ',';
      first = false;
      indent_to(out, depth + 1);
      out += go_json_string(it.key());
      out += ": ";
      write_json(out, it.value(), depth + 1);
    }
    indent_to(out, depth);
    out += '}';
  } else if (v.is_array()) {
    if (v.empty()) {
      out += "[]";
      return;
    }
    out += '[';
    bool first = true;
    for (const auto& e : v) {
      if (!first) out += ',';
      first = false;
      indent_to(out, depth + 1);
      write_json(out, e, depth + 1);
    }
    indent_to(out, depth);
    out += ']';
  } else if (v.is_string()) {
    out += go_json_string(v.get_ref<const std::string&>());
  } else {
    out += v.dump();
  }
}

}  // namespace

std::string columnize(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& r : rows) {
    if (widths.size() < r.size()) widths.resize(r.size(), 0);
    for (std::size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], utf8_width(r[i]));
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    // The last cell is not padded, but an empty last cell still leaves its
    // separator: Serf prints "x1  127.0.0.1:7946  alive  " for a member
    // without tags.
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (i) line += "  ";
      line += r[i];
      if (i + 1 < r.size()) line.append(widths[i] - utf8_width(r[i]), ' ');
    }
    out += line;
    out += '\n';
  }
  return out;
}

std::string serf_table(const std::vector<std::vector<std::string>>& rows) {
  std::string out = columnize(rows);
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n' || out.back() == '\t')) out.pop_back();
  return out + "\n";
}

std::string go_json_string(std::string_view s) {
  // What Go's encoding/json escapes: quote, backslash, \n \r \t by letter,
  // other controls and the HTML-sensitive < > & as \u00XX, U+2028/U+2029
  // (line breaks to JavaScript); invalid UTF-8 becomes U+FFFD.
  std::string out = "\"";
  agent::escape_utf8(s, out, [](std::string& out, std::uint32_t cp, bool valid) {
    if (!valid) {
      out += "\ufffd";
      return true;
    }
    if (cp == 0x2028 || cp == 0x2029) {
      agent::append_hex(out, "\\u", cp, 4);
      return true;
    }
    if (cp >= 0x80) return false;
    if (agent::append_letter_escape(out, cp, "\"\\\n\r\t", "\"\\nrt")) return true;
    if (cp >= 0x20 && cp != '<' && cp != '>' && cp != '&') return false;
    agent::append_hex(out, "\\u00", cp, 2);
    return true;
  });
  out += '"';
  return out;
}

std::string go_json_indent(const nlohmann::ordered_json& v) {
  std::string out;
  write_json(out, v, 0);
  return out;
}

std::optional<std::chrono::nanoseconds> parse_go_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool negative = false;
  if (s[0] == '-' || s[0] == '+') {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return std::nullopt;
  long double total = 0;
  while (!s.empty()) {
    std::size_t i = 0;
    long double number = 0;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      number = number * 10 + (s[i] - '0');
      ++i;
      digits = true;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        number += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
        digits = true;
      }
    }
    if (!digits) return std::nullopt;
    std::size_t j = i;
    while (j < s.size() && !(s[j] >= '0' && s[j] <= '9') && s[j] != '.') ++j;
    const std::string_view unit = s.substr(i, j - i);
    long double mult = 0;
    if (unit == "ns")
      mult = 1;
    else if (unit == "us" || unit == "\u00b5s" || unit == "\u03bcs")
      mult = 1e3L;
    else if (unit == "ms")
      mult = 1e6L;
    else if (unit == "s")
      mult = 1e9L;
    else if (unit == "m")
      mult = 60e9L;
    else if (unit == "h")
      mult = 3600e9L;
    else
      return std::nullopt;  // missing or unknown unit
    total += number * mult;
    s.remove_prefix(j);
  }
  if (total > static_cast<long double>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
  const auto ns = static_cast<std::int64_t>(total);
  return std::chrono::nanoseconds(negative ? -ns : ns);
}

std::optional<std::pair<std::string, std::string>> split_tag(std::string_view kv) {
  const auto eq = kv.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  return std::make_pair(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
}

std::string_view trim_one_newline(std::string_view s) {
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}

std::string host_port(const std::vector<std::uint8_t>& addr, std::uint16_t port) {
  return agent::member_addr_text(addr, port);
}

}  // namespace chorus::cli
