#include "rpc/framing.hpp"

#include <cstdint>
#include <vector>

namespace chorus::rpc {

namespace {

// Reads an n-byte big-endian length at `pos`.
bool be(msgpack::byte_view in, std::size_t pos, int n, std::uint64_t& out) {
  if (in.size() < pos + static_cast<std::size_t>(n)) return false;
  out = 0;
  for (int i = 0; i < n; ++i) out = (out << 8) | in[pos + static_cast<std::size_t>(i)];
  return true;
}

// What a type byte says follows it (the msgpack spec's format table):
// `count` units, or a big-endian count of `length_bytes` bytes (for bytes,
// plus `count`: an ext's type byte). A unit is a payload byte, an element
// or a key/value pair.
struct head {
  enum class unit : std::uint8_t { byte, element, pair, invalid };
  unit counts = unit::byte;
  int length_bytes = 0;
  std::uint64_t count = 0;
};

constexpr head classify(std::uint8_t t) {
  using u = head::unit;
  if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) return {u::byte, 0, 0};  // fixints, nil, bools
  if ((t & 0xf0) == 0x80) return {u::pair, 0, t & 0x0fu};                                     // fixmap
  if ((t & 0xf0) == 0x90) return {u::element, 0, t & 0x0fu};                                  // fixarray
  if ((t & 0xe0) == 0xa0) return {u::byte, 0, t & 0x1fu};                                     // fixstr
  if (t >= 0xc4 && t <= 0xc6) return {u::byte, 1 << (t - 0xc4), 0};                           // bin 8, 16, 32
  if (t >= 0xc7 && t <= 0xc9) return {u::byte, 1 << (t - 0xc7), 1};                           // ext 8, 16, 32
  if (t == 0xca || t == 0xcb) return {u::byte, 0, t == 0xca ? 4u : 8u};                       // float 32, 64
  if (t >= 0xcc && t <= 0xd3) return {u::byte, 0, 1u << ((t - 0xcc) & 3)};                    // uint, int 8..64
  if (t >= 0xd4 && t <= 0xd8) return {u::byte, 0, 1 + (1u << (t - 0xd4))};                    // fixext 1..16
  if (t >= 0xd9 && t <= 0xdb) return {u::byte, 1 << (t - 0xd9), 0};                           // str 8, 16, 32
  if (t == 0xdc || t == 0xdd) return {u::element, 2 << (t - 0xdc), 0};                        // array 16, 32
  if (t == 0xde || t == 0xdf) return {u::pair, 2 << (t - 0xde), 0};                           // map 16, 32
  return {u::invalid, 0, 0};                                                                  // 0xc1: never used
}

}  // namespace

frame next_object(msgpack::byte_view in) {
  constexpr frame incomplete{frame_status::incomplete, 0};
  // `pending` counts the objects still to be skipped at each open nesting
  // level; an explicit stack keeps hostile nesting off the call stack.
  std::vector<std::uint64_t> pending{1};
  std::size_t pos = 0;
  while (!pending.empty()) {
    if (pending.back() == 0) {
      pending.pop_back();
      continue;
    }
    --pending.back();
    if (pos >= in.size()) return incomplete;
    const head h = classify(in[pos++]);
    if (h.counts == head::unit::invalid) return {frame_status::invalid, 0};
    std::uint64_t n = h.count;
    if (h.length_bytes) {
      if (!be(in, pos, h.length_bytes, n)) return incomplete;
      pos += static_cast<std::size_t>(h.length_bytes);
      if (h.counts == head::unit::byte) n += h.count;
    }
    if (h.counts == head::unit::byte) {
      if (n > in.size() - pos) return incomplete;
      pos += static_cast<std::size_t>(n);
    } else if (n > 0) {
      // Each child takes at least one byte, but a count larger than the
      // bytes left may be honest, just not arrived yet: we wait for them.
      // Only the depth is refused.
      if (pending.size() > max_frame_depth) return {frame_status::invalid, 0};
      pending.push_back(h.counts == head::unit::pair ? 2 * n : n);
    }
  }
  return {frame_status::complete, pos};
}

request_frame next_request(msgpack::byte_view in) {
  request_frame r;
  const frame hf = next_object(in);
  if (hf.status != frame_status::complete) {
    r.status = hf.status;
    return r;
  }
  if (!decode_bytes(in.first(hf.size), r.header).empty()) {
    r.status = frame_status::invalid;
    return r;
  }
  r.header_size = hf.size;
  r.cmd = parse_command(r.header.command);
  if (r.cmd && request_has_body(*r.cmd)) {
    const frame bf = next_object(in.subspan(hf.size));
    if (bf.status != frame_status::complete) {
      r.status = bf.status;
      return r;
    }
    r.body_size = bf.size;
  }
  r.status = frame_status::complete;
  return r;
}

request_frame request_reader::next(msgpack::byte_view in) {
  request_frame r;
  if (!header_) {
    const auto st = scanner_.scan(in, pos_);
    if (st != msgpack::scanner::status::done) {
      r.status = st == msgpack::scanner::status::bad ? frame_status::invalid : frame_status::incomplete;
      return r;
    }
    if (!decode_bytes(in.first(pos_), r.header).empty()) {
      r.status = frame_status::invalid;
      return r;
    }
    r.header_size = pos_;
    r.cmd = parse_command(r.header.command);
    header_ = r;
    scanner_.reset();
    if (!r.cmd || !request_has_body(*r.cmd)) {
      header_->status = frame_status::complete;
      return *header_;
    }
  }
  const auto st = scanner_.scan(in, pos_);
  r = *header_;
  if (st != msgpack::scanner::status::done) {
    r.status = st == msgpack::scanner::status::bad ? frame_status::invalid : frame_status::incomplete;
    return r;
  }
  r.body_size = pos_ - r.header_size;
  r.status = frame_status::complete;
  return r;
}

void request_reader::reset() {
  scanner_.reset();
  pos_ = 0;
  header_.reset();
}

}  // namespace chorus::rpc
