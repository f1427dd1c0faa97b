#include "cli/go_syntax.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

namespace chorus::cli {

namespace {

constexpr int max_depth = 32;

class walker {
 public:
  explicit walker(msgpack::byte_view in) : in_(in) {}

  // Formats the value at the cursor; false on malformed input.
  bool value(std::string& out, bool top, int depth) {
    if (depth > max_depth) return false;
    std::uint8_t t = 0;
    if (!byte(t)) return false;
    std::uint64_t n = 0;
    if (t <= 0x7f) return put_int(out, t);
    if (t >= 0xe0) return put_int(out, static_cast<std::int8_t>(t));
    if ((t & 0xf0) == 0x80) return map(out, t & 0x0f, depth, nullptr);
    if ((t & 0xf0) == 0x90) return array(out, t & 0x0f, depth);
    if ((t & 0xe0) == 0xa0) return str(out, t & 0x1f);
    // The sized families (bin 8/16/32, uint 8-64, int 8-64, str 8/16/32): the
    // type byte's place in its family gives the width, 1 << place bytes.
    if (t >= 0xc4 && t <= 0xc6) return be(1 << (t - 0xc4), n) && bin(out, n, top);
    if (t >= 0xcc && t <= 0xcf) return be(1 << (t - 0xcc), n) && put_uint(out, n);
    if (t >= 0xd0 && t <= 0xd3) {
      const int width = 1 << (t - 0xd0);
      return be(width, n) && put_int(out, sign_extend(n, width));
    }
    if (t >= 0xd9 && t <= 0xdb) return be(1 << (t - 0xd9), n) && str(out, n);
    switch (t) {
      case 0xc0:
        out += top ? "<nil>" : "interface {}(nil)";
        return true;
      case 0xc2:
        out += "false";
        return true;
      case 0xc3:
        out += "true";
        return true;
      case 0xca: {
        if (!be(4, n)) return false;
        return put_float(out, std::bit_cast<float>(static_cast<std::uint32_t>(n)));
      }
      case 0xcb:
        return be(8, n) && put_float(out, std::bit_cast<double>(n));
      case 0xdc:
        return be(2, n) && array(out, n, depth);
      case 0xdd:
        return be(4, n) && array(out, n, depth);
      case 0xde:
        return be(2, n) && map(out, n, depth, nullptr);
      case 0xdf:
        return be(4, n) && map(out, n, depth, nullptr);
      default:
        return false;  // ext types never occur in Serf's RPC
    }
  }

  // The top-level record: key -> formatted value, sorted by key.
  bool record(std::vector<std::pair<std::string, std::string>>& fields) {
    std::uint8_t t = 0;
    if (!byte(t)) return false;
    std::uint64_t n = 0;
    if ((t & 0xf0) == 0x80)
      n = t & 0x0f;
    else if (t == 0xde) {
      if (!be(2, n)) return false;
    } else if (t == 0xdf) {
      if (!be(4, n)) return false;
    } else {
      return false;
    }
    std::string unused;
    return map(unused, n, 0, &fields);
  }

 private:
  bool byte(std::uint8_t& b) {
    if (pos_ >= in_.size()) return false;
    b = in_[pos_++];
    return true;
  }
  bool be(int n, std::uint64_t& out) {
    if (in_.size() - pos_ < static_cast<std::size_t>(n)) return false;
    out = 0;
    for (int i = 0; i < n; ++i) out = (out << 8) | in_[pos_++];
    return true;
  }
  bool take(std::uint64_t n, std::string_view& s) {
    if (n > in_.size() - pos_) return false;
    s = std::string_view(reinterpret_cast<const char*>(in_.data() + pos_), static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return true;
  }
  // The `width`-byte two's complement integer in the low bytes of `v`.
  static std::int64_t sign_extend(std::uint64_t v, int width) {
    const int unused = 64 - 8 * width;
    return static_cast<std::int64_t>(v << unused) >> unused;
  }
  static bool put_int(std::string& out, std::int64_t v) {
    out += std::to_string(v);
    return true;
  }
  static bool put_uint(std::string& out, std::uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    out += buf;
    return true;
  }
  static bool put_float(std::string& out, double v) {
    // Go's %#v of a float64: the shortest representation that round-trips.
    char buf[40];
    for (int prec = 1; prec <= 17; ++prec) {
      std::snprintf(buf, sizeof buf, "%.*g", prec, v);
      if (std::strtod(buf, nullptr) == v) break;
    }
    out += buf;
    return true;
  }
  bool str(std::string& out, std::uint64_t n) {
    std::string_view s;
    if (!take(n, s)) return false;
    out += go_quote(s);
    return true;
  }
  bool bin(std::string& out, std::uint64_t n, bool top) {
    std::string_view s;
    if (!take(n, s)) return false;
    // fmt prints a top-level []byte by its declared name, a nested one by
    // its reflect type name.
    out += top ? "[]byte{" : "[]uint8{";
    for (std::size_t i = 0; i < s.size(); ++i) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "%s0x%x", i ? ", " : "", static_cast<unsigned char>(s[i]));
      out += buf;
    }
    out += '}';
    return true;
  }
  bool array(std::string& out, std::uint64_t n, int depth) {
    if (n > in_.size() - pos_) return false;
    out += "[]interface {}{";
    for (std::uint64_t i = 0; i < n; ++i) {
      if (i) out += ", ";
      if (!value(out, false, depth + 1)) return false;
    }
    out += '}';
    return true;
  }
  bool map(std::string& out, std::uint64_t n, int depth, std::vector<std::pair<std::string, std::string>>* fields) {
    if (n > in_.size() - pos_) return false;
    std::vector<std::pair<std::string, std::string>> entries;
    std::vector<std::string> sort_keys;
    for (std::uint64_t i = 0; i < n; ++i) {
      // Keys sort by their text (all keys Serf sends are strings).
      const std::size_t key_start = pos_;
      std::string key;
      if (!value(key, false, depth + 1)) return false;
      std::string raw_key(reinterpret_cast<const char*>(in_.data() + key_start), pos_ - key_start);
      std::string val;
      if (!value(val, fields != nullptr, depth + 1)) return false;
      if (fields) {
        // Top level: print the key bare (Go's "%s" of the string key).
        std::string bare = key;
        if (bare.size() >= 2 && bare.front() == '"' && bare.back() == '"') bare = bare.substr(1, bare.size() - 2);
        fields->emplace_back(std::move(bare), std::move(val));
      } else {
        entries.emplace_back(std::move(key), std::move(val));
      }
    }
    if (fields) {
      std::sort(fields->begin(), fields->end());
      return true;
    }
    std::sort(entries.begin(), entries.end());
    out += "map[interface {}]interface {}{";
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (i) out += ", ";
      out += entries[i].first + ":" + entries[i].second;
    }
    out += '}';
    return true;
  }

  msgpack::byte_view in_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string go_quote(std::string_view s) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\a':
        out += "\\a";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\v':
        out += "\\v";
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      // Valid UTF-8 passes through (printable runes); a stray byte is \x..
      std::size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
      bool ok = len > 0 && i + len <= s.size();
      for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
      if (ok) {
        out.append(s.substr(i, len));
        i += len - 1;
      } else {
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
  }
  out += '"';
  return out;
}

std::string go_event_info_lines(msgpack::byte_view record) {
  walker w(record);
  std::vector<std::pair<std::string, std::string>> fields;
  if (!w.record(fields)) return {};
  std::string out;
  for (const auto& [k, v] : fields) out += "\t" + k + ": " + v + "\n";
  return out;
}

}  // namespace chorus::cli
