#include "swim/msgpack.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace chorus::msgpack {

// --------------------------------------------------------------------------
// writer

void writer::put_be(std::uint64_t v, int n) {
  for (int s = (n - 1) * 8; s >= 0; s -= 8) out_.push_back(static_cast<std::uint8_t>(v >> s));
}

void writer::nil() { put8(0xc0); }
void writer::boolean(bool v) { put8(v ? 0xc3 : 0xc2); }

void writer::uint(std::uint64_t v) {
  const auto f = uint_form_of(v);
  put8(f.type);
  put_be(v, f.len);
}

void writer::sint(std::int64_t v) {
  if (v >= 0) return uint(static_cast<std::uint64_t>(v));
  const auto u = static_cast<std::uint64_t>(v);
  if (v >= -32) {
    put8(static_cast<std::uint8_t>(v));
  } else if (v >= -128) {
    put8(0xd0);
    put_be(u, 1);
  } else if (v >= -32768) {
    put8(0xd1);
    put_be(u, 2);
  } else if (v >= std::numeric_limits<std::int32_t>::min()) {
    put8(0xd2);
    put_be(u, 4);
  } else {
    put8(0xd3);
    put_be(u, 8);
  }
}

void writer::float64(double v) {
  put8(0xcb);
  put_be(std::bit_cast<std::uint64_t>(v), 8);
}

void writer::sized_header(std::uint64_t n, std::uint8_t t8, std::uint8_t t16, std::uint8_t t32) {
  if (t8 != 0 && n <= 0xff) {
    put8(t8);
    put_be(n, 1);
  } else if (n <= 0xffff) {
    put8(t16);
    put_be(n, 2);
  } else {
    put8(t32);
    put_be(n, 4);
  }
}

void writer::raw_header(std::size_t len) {
  if (len <= 31)
    put8(static_cast<std::uint8_t>(0xa0 | len));
  else  // go-msgpack 0.5.5 has no str8: only the RPC flavour writes it
    sized_header(len, flavor_ == flavor::rpc ? 0xd9 : 0, 0xda, 0xdb);
}

void writer::str(std::string_view s) {
  raw_header(s.size());
  out_.insert(out_.end(), s.begin(), s.end());
}

void writer::bin(byte_view b) {
  if (flavor_ == flavor::gossip)
    raw_header(b.size());
  else
    sized_header(b.size(), 0xc4, 0xc5, 0xc6);
  out_.insert(out_.end(), b.begin(), b.end());
}

void writer::array_header(std::uint32_t n) {
  if (n < 16)
    put8(static_cast<std::uint8_t>(0x90 | n));
  else
    sized_header(n, 0, 0xdc, 0xdd);
}

void writer::map_header(std::uint32_t n) {
  if (n < 16)
    put8(static_cast<std::uint8_t>(0x80 | n));
  else
    sized_header(n, 0, 0xde, 0xdf);
}

void writer::raw(byte_view encoded) { out_.insert(out_.end(), encoded.begin(), encoded.end()); }

// --------------------------------------------------------------------------
// reader

namespace {

class parser {
 public:
  parser(byte_view in, limits lim) : in_(in), lim_(lim) {}

  bool parse(value& v, std::size_t depth) {
    if (depth > lim_.max_depth) return fail("nesting deeper than " + std::to_string(lim_.max_depth));
    std::uint8_t t = 0;
    if (!byte(t)) return false;
    if (t <= 0x7f) return set_uint(v, t);
    if (t >= 0xe0) {
      v.k = kind::sint;
      v.i = static_cast<std::int8_t>(t);
      return true;
    }
    if ((t & 0xf0) == 0x80) return container(v, kind::map, t & 0x0f, depth);
    if ((t & 0xf0) == 0x90) return container(v, kind::array, t & 0x0f, depth);
    if ((t & 0xe0) == 0xa0) return blob(v, kind::str, t & 0x1f);
    std::uint64_t n = 0;
    switch (t) {
      case 0xc0: v.k = kind::nil; return true;
      case 0xc2: v.k = kind::boolean; v.b = false; return true;
      case 0xc3: v.k = kind::boolean; v.b = true; return true;
      case 0xc4: return be(1, n) && blob(v, kind::bin, n);
      case 0xc5: return be(2, n) && blob(v, kind::bin, n);
      case 0xc6: return be(4, n) && blob(v, kind::bin, n);
      case 0xc7: return be(1, n) && ext(v, n);
      case 0xc8: return be(2, n) && ext(v, n);
      case 0xc9: return be(4, n) && ext(v, n);
      case 0xca: {
        if (!be(4, n)) return false;
        v.k = kind::float64;
        v.f = std::bit_cast<float>(static_cast<std::uint32_t>(n));
        return true;
      }
      case 0xcb: {
        if (!be(8, n)) return false;
        v.k = kind::float64;
        v.f = std::bit_cast<double>(n);
        return true;
      }
      case 0xcc: return be(1, n) && set_uint(v, n);
      case 0xcd: return be(2, n) && set_uint(v, n);
      case 0xce: return be(4, n) && set_uint(v, n);
      case 0xcf: return be(8, n) && set_uint(v, n);
      case 0xd0: return be(1, n) && set_sint(v, static_cast<std::int8_t>(n));
      case 0xd1: return be(2, n) && set_sint(v, static_cast<std::int16_t>(n));
      case 0xd2: return be(4, n) && set_sint(v, static_cast<std::int32_t>(n));
      case 0xd3: return be(8, n) && set_sint(v, static_cast<std::int64_t>(n));
      case 0xd4: return ext(v, 1);
      case 0xd5: return ext(v, 2);
      case 0xd6: return ext(v, 4);
      case 0xd7: return ext(v, 8);
      case 0xd8: return ext(v, 16);
      case 0xd9: return be(1, n) && blob(v, kind::str, n);
      case 0xda: return be(2, n) && blob(v, kind::str, n);
      case 0xdb: return be(4, n) && blob(v, kind::str, n);
      case 0xdc: return be(2, n) && container(v, kind::array, n, depth);
      case 0xdd: return be(4, n) && container(v, kind::array, n, depth);
      case 0xde: return be(2, n) && container(v, kind::map, n, depth);
      case 0xdf: return be(4, n) && container(v, kind::map, n, depth);
      default: return fail("invalid msgpack type byte 0xc1");
    }
  }

  std::size_t pos() const { return pos_; }
  const std::string& error() const { return error_; }
  bool truncated() const { return truncated_; }

 private:
  // `truncation`: the input ended inside the value (read_result::truncated).
  bool fail(std::string msg, bool truncation = false) {
    if (error_.empty()) {
      error_ = std::move(msg) + " at byte " + std::to_string(pos_);
      truncated_ = truncation;
    }
    return false;
  }
  std::size_t left() const { return in_.size() - pos_; }
  bool byte(std::uint8_t& b) {
    if (left() < 1) return fail("truncated input", true);
    b = in_[pos_++];
    return true;
  }
  bool be(int n, std::uint64_t& out) {
    if (left() < static_cast<std::size_t>(n)) return fail("truncated input", true);
    out = 0;
    for (int i = 0; i < n; ++i) out = (out << 8) | in_[pos_++];
    return true;
  }
  static bool set_uint(value& v, std::uint64_t n) {
    v.k = kind::uint;
    v.u = n;
    return true;
  }
  bool set_sint(value& v, std::int64_t n) {
    if (n >= 0) return set_uint(v, static_cast<std::uint64_t>(n));
    v.k = kind::sint;
    v.i = n;
    return true;
  }
  bool blob(value& v, kind k, std::uint64_t n) {
    if (n > left())
      return fail("length " + std::to_string(n) + " exceeds the " + std::to_string(left()) + " bytes left", true);
    v.k = k;
    v.raw = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool ext(value& v, std::uint64_t n) {
    std::uint8_t type = 0;
    if (!byte(type)) return false;
    return blob(v, kind::ext, n);
  }
  bool container(value& v, kind k, std::uint64_t n, std::size_t depth) {
    const std::uint64_t count = k == kind::map ? n * 2 : n;
    // Every element takes at least one byte: a larger count is a lie (or
    // the rest of the input has not arrived).
    if (count > left()) return fail("container of " + std::to_string(n) + " elements exceeds the input", true);
    values_ += count;
    if (values_ > lim_.max_values) return fail("more than " + std::to_string(lim_.max_values) + " values");
    v.k = k;
    v.items.resize(count);
    for (auto& item : v.items)
      if (!parse(item, depth + 1)) return false;
    return true;
  }

  byte_view in_;
  limits lim_;
  std::size_t pos_ = 0;
  std::size_t values_ = 1;
  std::string error_;
  bool truncated_ = false;
};

}  // namespace

const value* value::find(std::string_view key) const {
  if (k != kind::map) return nullptr;
  for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
    const value& key_value = items[i];
    if ((key_value.k == kind::str || key_value.k == kind::bin) && key_value.text() == key) return &items[i + 1];
  }
  return nullptr;
}

read_result read(byte_view in, limits lim) {
  read_result r;
  parser p(in, lim);
  if (!p.parse(r.v, 0)) {
    r.error = p.error();
    r.truncated = p.truncated();
    r.v = value{};
  }
  r.consumed = p.pos();
  return r;
}

// --------------------------------------------------------------------------
// scanner

scanner::scanner(limits lim) : lim_(lim) { open_.reserve(lim_.max_depth + 1); }

void scanner::reset() {
  open_.clear();
  values_ = 1;
  length_bytes_ = 0;
  length_ = 0;
  skip_ = 0;
  finished_ = false;
  error_.clear();
}

scanner::status scanner::scan(byte_view in, std::size_t& pos) {
  if (!error_.empty()) return status::bad;
  while (pos < in.size()) {
    if (skip_ > 0) {
      // Payload bytes (string contents, integers, floats) are only counted.
      const std::uint64_t n = std::min<std::uint64_t>(skip_, in.size() - pos);
      pos += static_cast<std::size_t>(n);
      examined_ += n;
      skip_ -= n;
      if (skip_ > 0) return status::more;
      if (item_done()) return status::done;
      continue;
    }
    const std::uint8_t b = in[pos++];
    ++examined_;
    if (length_bytes_ > 0) {
      length_ = (length_ << 8) | b;
      if (--length_bytes_ > 0) continue;
      if (!length_done()) return status::bad;
    } else if (!begin(b)) {
      return status::bad;
    }
    if (finished_) {
      finished_ = false;
      if (item_done()) return status::done;
    }
  }
  return status::more;
}

bool scanner::fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
  return false;
}

bool scanner::begin(std::uint8_t t) {
  // The same limit as read(): the value being started sits at depth
  // open_.size().
  if (open_.size() > lim_.max_depth) return fail("nesting deeper than " + std::to_string(lim_.max_depth));
  auto payload = [&](std::uint64_t n) {
    if (n == 0)
      finished_ = true;
    else
      skip_ = n;
    return true;
  };
  auto length = [&](int n, after a) {
    length_bytes_ = n;
    length_ = 0;
    after_ = a;
    return true;
  };
  if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) return payload(0);
  if ((t & 0xf0) == 0x80) return open(2u * (t & 0x0f));
  if ((t & 0xf0) == 0x90) return open(t & 0x0f);
  if ((t & 0xe0) == 0xa0) return payload(t & 0x1f);
  switch (t) {
    case 0xc4:
    case 0xd9:
      return length(1, after::blob);
    case 0xc5:
    case 0xda:
      return length(2, after::blob);
    case 0xc6:
    case 0xdb:
      return length(4, after::blob);
    case 0xc7:
      return length(1, after::ext);
    case 0xc8:
      return length(2, after::ext);
    case 0xc9:
      return length(4, after::ext);
    case 0xcc:
    case 0xd0:
      return payload(1);
    case 0xcd:
    case 0xd1:
      return payload(2);
    case 0xca:
    case 0xce:
    case 0xd2:
      return payload(4);
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return payload(8);
    case 0xd4:
      return payload(1 + 1);  // fixext: type byte + 1..16 data bytes
    case 0xd5:
      return payload(1 + 2);
    case 0xd6:
      return payload(1 + 4);
    case 0xd7:
      return payload(1 + 8);
    case 0xd8:
      return payload(1 + 16);
    case 0xdc:
      return length(2, after::array);
    case 0xdd:
      return length(4, after::array);
    case 0xde:
      return length(2, after::map);
    case 0xdf:
      return length(4, after::map);
    default:
      return fail("invalid msgpack type byte 0xc1");
  }
}

bool scanner::length_done() {
  const std::uint64_t n = length_;
  length_ = 0;
  switch (after_) {
    case after::blob:
      if (n == 0) finished_ = true;
      skip_ = n;
      return true;
    case after::ext:
      skip_ = n + 1;  // the ext type byte, then the data
      return true;
    case after::array:
      return open(n);
    case after::map:
      return open(2 * n);
  }
  return fail("scanner: unknown state");
}

bool scanner::open(std::uint64_t elements) {
  values_ += elements;
  if (values_ > lim_.max_values) return fail("more than " + std::to_string(lim_.max_values) + " values");
  if (elements == 0)
    finished_ = true;
  else
    open_.push_back(elements);
  return true;
}

bool scanner::item_done() {
  while (!open_.empty()) {
    if (--open_.back() > 0) return false;
    open_.pop_back();  // that was the container's last element: it ended too
  }
  return true;
}

bool as_uint(const value& v, std::uint64_t max, std::uint64_t& out) {
  switch (v.k) {
    case kind::nil: out = 0; return true;
    case kind::uint:
      if (v.u > max) return false;
      out = v.u;
      return true;
    case kind::boolean:
      out = v.b ? 1 : 0;
      return true;
    default: return false;
  }
}

bool as_int(const value& v, std::int64_t& out) {
  switch (v.k) {
    case kind::nil: out = 0; return true;
    case kind::uint:
      if (v.u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
      out = static_cast<std::int64_t>(v.u);
      return true;
    case kind::sint: out = v.i; return true;
    default: return false;
  }
}

bool as_bool(const value& v, bool& out) {
  switch (v.k) {
    case kind::nil: out = false; return true;
    case kind::boolean: out = v.b; return true;
    case kind::uint:
      if (v.u > 1) return false;
      out = v.u == 1;
      return true;
    default: return false;
  }
}

bool as_double(const value& v, double& out) {
  switch (v.k) {
    case kind::nil: out = 0; return true;
    case kind::float64: out = v.f; return true;
    case kind::uint: out = static_cast<double>(v.u); return true;
    case kind::sint: out = static_cast<double>(v.i); return true;
    default: return false;
  }
}

bool as_string(const value& v, std::string& out) {
  if (v.k == kind::nil) {
    out.clear();
    return true;
  }
  if (v.k != kind::str) return false;
  out.assign(v.text());
  return true;
}

bool as_bytes(const value& v, bytes& out) {
  if (v.k == kind::nil) {
    out.clear();
    return true;
  }
  if (v.k != kind::str && v.k != kind::bin) return false;
  out.assign(v.raw.begin(), v.raw.end());
  return true;
}

// --------------------------------------------------------------------------
// struct_reader

struct_reader::struct_reader(const value& v) : v_(&v) {
  if (!v.is_map() && !v.is_nil()) error_ = "expected a map";
}

const value* struct_reader::lookup(std::string_view key) const { return v_->find(key); }

void struct_reader::fail(std::string_view key) {
  if (error_.empty()) error_ = "field " + std::string(key) + " has the wrong type or is out of range";
}

void struct_reader::int_field(std::string_view key, std::int64_t& out) {
  if (const value* v = lookup(key); v && !as_int(*v, out)) fail(key);
}
void struct_reader::bool_field(std::string_view key, bool& out) {
  if (const value* v = lookup(key); v && !as_bool(*v, out)) fail(key);
}
void struct_reader::double_field(std::string_view key, double& out) {
  if (const value* v = lookup(key); v && !as_double(*v, out)) fail(key);
}
void struct_reader::string_field(std::string_view key, std::string& out) {
  if (const value* v = lookup(key); v && !as_string(*v, out)) fail(key);
}
void struct_reader::bytes_field(std::string_view key, bytes& out) {
  if (const value* v = lookup(key); v && !as_bytes(*v, out)) fail(key);
}

}  // namespace chorus::msgpack
