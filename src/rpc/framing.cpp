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

}  // namespace

frame next_object(msgpack::byte_view in) {
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
    if (pos >= in.size()) return {frame_status::incomplete, 0};
    const std::uint8_t t = in[pos++];
    std::uint64_t skip = 0;      // payload bytes after the type byte and length
    std::uint64_t children = 0;  // nested objects that follow
    std::uint64_t n = 0;
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
      // single byte
    } else if ((t & 0xf0) == 0x80) {
      children = 2u * (t & 0x0f);
    } else if ((t & 0xf0) == 0x90) {
      children = t & 0x0f;
    } else if ((t & 0xe0) == 0xa0) {
      skip = t & 0x1f;
    } else {
      int len_bytes = 0;
      switch (t) {
        case 0xc4:
        case 0xd9:
          len_bytes = 1;
          break;
        case 0xc5:
        case 0xda:
          len_bytes = 2;
          break;
        case 0xc6:
        case 0xdb:
          len_bytes = 4;
          break;
        case 0xc7:
          len_bytes = 1;
          skip = 1;
          break;  // ext: + type byte
        case 0xc8:
          len_bytes = 2;
          skip = 1;
          break;
        case 0xc9:
          len_bytes = 4;
          skip = 1;
          break;
        case 0xca:
          skip = 4;
          break;
        case 0xcb:
          skip = 8;
          break;
        case 0xcc:
        case 0xd0:
          skip = 1;
          break;
        case 0xcd:
        case 0xd1:
          skip = 2;
          break;
        case 0xce:
        case 0xd2:
          skip = 4;
          break;
        case 0xcf:
        case 0xd3:
          skip = 8;
          break;
        case 0xd4:
          skip = 2;
          break;
        case 0xd5:
          skip = 3;
          break;
        case 0xd6:
          skip = 5;
          break;
        case 0xd7:
          skip = 9;
          break;
        case 0xd8:
          skip = 17;
          break;
        case 0xdc:
        case 0xde:
          len_bytes = 2;
          break;
        case 0xdd:
        case 0xdf:
          len_bytes = 4;
          break;
        default:
          return {frame_status::invalid, 0};  // 0xc1
      }
      if (len_bytes) {
        if (!be(in, pos, len_bytes, n)) return {frame_status::incomplete, 0};
        pos += static_cast<std::size_t>(len_bytes);
        if (t == 0xdc || t == 0xdd)
          children = n;
        else if (t == 0xde || t == 0xdf)
          children = 2 * n;
        else
          skip += n;
      }
    }
    if (skip > in.size() - pos) return {frame_status::incomplete, 0};
    pos += static_cast<std::size_t>(skip);
    if (children) {
      // Each child takes at least one byte: more children than bytes left
      // means we must wait (the count may be honest, just not arrived yet).
      if (pending.size() > max_frame_depth) return {frame_status::invalid, 0};
      pending.push_back(children);
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

}  // namespace chorus::rpc
