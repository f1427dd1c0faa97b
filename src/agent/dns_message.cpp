#include "agent/dns_message.hpp"

#include <algorithm>
#include <cctype>

namespace chorus::agent::dns {

namespace {

using bytes_view = std::span<const std::uint8_t>;

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

class reader {
 public:
  explicit reader(bytes_view b) : b_(b) {}
  bool u8(std::uint8_t& v) {
    if (pos_ + 1 > b_.size()) return false;
    v = b_[pos_++];
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (pos_ + 2 > b_.size()) return false;
    v = static_cast<std::uint16_t>(b_[pos_] << 8 | b_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32(std::uint32_t& v) {
    if (pos_ + 4 > b_.size()) return false;
    v = std::uint32_t(b_[pos_]) << 24 | std::uint32_t(b_[pos_ + 1]) << 16 | std::uint32_t(b_[pos_ + 2]) << 8 |
        b_[pos_ + 3];
    pos_ += 4;
    return true;
  }
  // A possibly compressed name starting at the current position.
  bool read_name(name& out) {
    out.clear();
    std::size_t at = pos_;
    std::size_t encoded = 0;  // bytes of the expanded name, for the 255 limit
    int hops = 0;
    bool jumped = false;
    for (;;) {
      if (at >= b_.size()) return false;
      const std::uint8_t len = b_[at];
      if ((len & 0xC0) == 0xC0) {
        if (at + 1 >= b_.size()) return false;
        const std::size_t target = std::size_t(len & 0x3F) << 8 | b_[at + 1];
        // Only backwards: every hop strictly decreases the position, so a
        // chain ends; the hop limit bounds the work.
        if (target >= at || ++hops > max_pointer_hops) return false;
        if (!jumped) pos_ = at + 2;
        jumped = true;
        at = target;
        continue;
      }
      if ((len & 0xC0) != 0) return false;  // 01/10: reserved label types
      if (len == 0) {
        if (!jumped) pos_ = at + 1;
        return encoded + 1 <= max_name;
      }
      if (at + 1 + len > b_.size()) return false;
      encoded += 1 + len;
      if (encoded + 1 > max_name) return false;
      out.emplace_back(reinterpret_cast<const char*>(b_.data() + at + 1), len);
      at += 1 + len;
    }
  }
  bool take(std::size_t n, bytes_view& out) {
    if (n > b_.size() - pos_) return false;
    out = b_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  std::size_t pos() const { return pos_; }
  void seek(std::size_t p) { pos_ = p; }

 private:
  bytes_view b_;
  std::size_t pos_ = 0;
};

// RDATA of the known types; names inside RDATA may point anywhere earlier in
// the message, so they are read with the message-wide reader.
bool read_rdata(reader& r, std::uint16_t rdlength, record& rec) {
  const std::size_t start = r.pos();
  const std::size_t end = start + rdlength;
  bytes_view data;
  switch (rec.rtype) {
    case type_ptr:
      if (!r.read_name(rec.target)) return false;
      break;
    case type_srv:
      if (!r.u16(rec.priority) || !r.u16(rec.weight) || !r.u16(rec.port) || !r.read_name(rec.target)) return false;
      break;
    case type_a:
    case type_aaaa:
      if (rdlength != (rec.rtype == type_a ? 4 : 16) || !r.take(rdlength, data)) return false;
      rec.address.assign(data.begin(), data.end());
      break;
    case type_txt:
      while (r.pos() < end) {
        std::uint8_t len = 0;
        if (!r.u8(len) || r.pos() + len > end || !r.take(len, data)) return false;
        rec.txt.emplace_back(data.begin(), data.end());
      }
      break;
    default:
      if (!r.take(rdlength, data)) return false;
      rec.raw.assign(data.begin(), data.end());
      break;
  }
  if (r.pos() != end) return false;  // RDATA shorter or longer than declared
  return true;
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v));
}
bool put_name(std::vector<std::uint8_t>& out, const name& n) {
  std::size_t total = 1;
  for (const auto& l : n) {
    if (l.empty() || l.size() > max_label) return false;
    total += 1 + l.size();
    out.push_back(static_cast<std::uint8_t>(l.size()));
    out.insert(out.end(), l.begin(), l.end());
  }
  out.push_back(0);
  return total <= max_name;
}

bool put_record(std::vector<std::uint8_t>& out, const record& rec) {
  if (!put_name(out, rec.rname)) return false;
  put16(out, rec.rtype);
  put16(out, rec.rclass);
  put32(out, rec.ttl);
  const std::size_t len_at = out.size();
  put16(out, 0);
  switch (rec.rtype) {
    case type_ptr:
      if (!put_name(out, rec.target)) return false;
      break;
    case type_srv:
      put16(out, rec.priority);
      put16(out, rec.weight);
      put16(out, rec.port);
      if (!put_name(out, rec.target)) return false;
      break;
    case type_a:
    case type_aaaa:
      out.insert(out.end(), rec.address.begin(), rec.address.end());
      break;
    case type_txt:
      if (rec.txt.empty()) out.push_back(0);  // RFC 6763 6.1: never empty RDATA
      for (const auto& s : rec.txt) {
        if (s.size() > 255) return false;
        out.push_back(static_cast<std::uint8_t>(s.size()));
        out.insert(out.end(), s.begin(), s.end());
      }
      break;
    default:
      out.insert(out.end(), rec.raw.begin(), rec.raw.end());
      break;
  }
  const std::size_t len = out.size() - len_at - 2;
  if (len > 0xFFFF) return false;
  out[len_at] = static_cast<std::uint8_t>(len >> 8);
  out[len_at + 1] = static_cast<std::uint8_t>(len);
  return true;
}

}  // namespace

bool same_name(const name& a, const name& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].size() != b[i].size()) return false;
    for (std::size_t j = 0; j < a[i].size(); ++j)
      if (lower(a[i][j]) != lower(b[i][j])) return false;
  }
  return true;
}

std::string to_text(const name& n) {
  std::string out;
  for (const auto& l : n) out += l + ".";
  return out.empty() ? "." : out;
}

parse_result parse(std::span<const std::uint8_t> bytes) {
  parse_result res;
  reader r(bytes);
  message m;
  std::uint16_t counts[4] = {};
  if (!r.u16(m.id) || !r.u16(m.flags) || !r.u16(counts[0]) || !r.u16(counts[1]) || !r.u16(counts[2]) ||
      !r.u16(counts[3])) {
    res.error = "short header";
    return res;
  }
  // Every question takes at least 5 bytes and every record 11: counts that
  // cannot fit are rejected before anything is reserved.
  const std::size_t body = bytes.size() - 12;
  if (std::size_t(counts[0]) * 5 > body ||
      std::size_t(counts[0]) * 5 + (std::size_t(counts[1]) + counts[2] + counts[3]) * 11 > body) {
    res.error = "section counts exceed the message size";
    return res;
  }
  for (std::uint16_t i = 0; i < counts[0]; ++i) {
    question q;
    if (!r.read_name(q.qname) || !r.u16(q.qtype) || !r.u16(q.qclass)) {
      res.error = "truncated question";
      return res;
    }
    if (m.questions.size() < max_records) m.questions.push_back(std::move(q));
  }
  std::size_t kept = 0;
  for (int section = 1; section <= 3; ++section) {
    for (std::uint16_t i = 0; i < counts[section]; ++i) {
      record rec;
      std::uint16_t rdlength = 0;
      if (!r.read_name(rec.rname) || !r.u16(rec.rtype) || !r.u16(rec.rclass) || !r.u32(rec.ttl) || !r.u16(rdlength)) {
        res.error = "truncated resource record";
        return res;
      }
      if (!read_rdata(r, rdlength, rec)) {
        res.error = "bad data in a record of type " + std::to_string(rec.rtype);
        return res;
      }
      if (kept++ < max_records) (section == 1 ? m.answers : m.additional).push_back(std::move(rec));
    }
  }
  res.msg = std::move(m);
  return res;
}

std::vector<std::uint8_t> encode(const message& m) {
  std::vector<std::uint8_t> out;
  put16(out, m.id);
  put16(out, m.flags);
  put16(out, static_cast<std::uint16_t>(m.questions.size()));
  put16(out, static_cast<std::uint16_t>(m.answers.size()));
  put16(out, 0);
  put16(out, static_cast<std::uint16_t>(m.additional.size()));
  for (const auto& q : m.questions) {
    if (!put_name(out, q.qname)) return {};
    put16(out, q.qtype);
    put16(out, q.qclass);
  }
  for (const auto* section : {&m.answers, &m.additional})
    for (const auto& rec : *section)
      if (!put_record(out, rec)) return {};
  return out;
}

}  // namespace chorus::agent::dns
