#pragma once
// Finding object boundaries in Serf's RPC byte stream. The protocol has no
// length prefixes (serf-rpc.md section 2): a reader learns where one msgpack
// object ends only by walking its structure. This walk allocates nothing,
// so a peer announcing huge containers costs us no memory: we simply wait
// for bytes that never come (and the caller's buffer limit and timeout end it).
#include <cstddef>

#include "swim/msgpack.hpp"

namespace chorus::rpc {

enum class frame_status {
  complete,    // `size` bytes at the front form one object
  incomplete,  // more bytes are needed
  invalid,     // not msgpack (0xc1) or nested deeper than the limit
};

struct frame {
  frame_status status = frame_status::incomplete;
  std::size_t size = 0;
};

inline constexpr std::size_t max_frame_depth = 32;

frame next_object(msgpack::byte_view in);

}  // namespace chorus::rpc
