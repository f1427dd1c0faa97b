// stream_body_size: the simulator charges a push/pull it hands over as a
// struct at this size, so it must equal what encode_stream_body writes.
#include <catch2/catch.hpp>

#include "swim/stream.hpp"

using namespace chorus::swim;

namespace {
push_node_state node(std::size_t i, std::size_t name_len, std::size_t meta_len, bool v6) {
  push_node_state s;
  s.name = "n" + std::to_string(i);
  s.name.resize(std::max(name_len, s.name.size()), 'x');
  s.addr = v6 ? bytes(16, 0xfe) : bytes{10, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
  s.port = static_cast<std::uint16_t>(i * 977);
  s.meta = bytes(meta_len, 0x5a);
  s.incarnation = static_cast<std::uint32_t>(i * i * 131);
  s.state = static_cast<node_state>(i % 4);
  if (i % 5) s.vsn = {1, 5, 2, 2, 5, 4};
  return s;
}
}  // namespace

TEST_CASE("stream_body_size_equals_the_encoded_push_pull_size", "[codec][stream]") {
  // Table sizes around the msgpack uint boundaries of the Nodes count, name
  // and meta lengths around the fixstr/str16/str32 boundaries, user state
  // sizes around the UserStateLen boundaries.
  for (std::size_t nodes : {0u, 1u, 127u, 128u, 255u, 256u, 300u}) {
    for (std::size_t user : {0u, 127u, 128u, 256u, 65536u}) {
      push_pull pp;
      pp.join = nodes % 2 == 0;
      for (std::size_t i = 0; i < nodes; ++i)
        pp.nodes.push_back(node(i, i % 7 == 0 ? 40 : i % 11 == 0 ? 70000 : 0, i % 3 == 0 ? i : 0, i % 13 == 0));
      pp.user_state = bytes(user, 0x11);
      bytes out;
      encode_stream_body(pp, out);
      INFO("nodes=" << nodes << " user=" << user);
      CHECK(stream_body_size(pp) == out.size());
    }
  }
}
