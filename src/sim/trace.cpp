#include "sim/trace.hpp"

#include <cstring>

namespace chorus::sim {

void run_trace::mix_bytes(std::span<const std::uint8_t> b) {
  // FNV-style over 8-byte words (push/pull bodies are hundreds of KB; a
  // byte-serial FNV of them cost more than decoding them), then the tail.
  std::size_t i = 0;
  for (; i + 8 <= b.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, b.data() + i, 8);
    word(w);
  }
  for (; i < b.size(); ++i) hash_ = (hash_ ^ b[i]) * prime;
}

void run_trace::mix_table(std::size_t size, const swim::push_pull* t) {
  mix(size);
  if (!t) return;
  // What the receiving core reads: name length, state, incarnation, port
  // per node (names and addresses follow from the node ids in a simulation).
  word(t->nodes.size() << 1 | (t->join ? 1 : 0));
  for (const auto& n : t->nodes)
    word(std::uint64_t{n.incarnation} | (std::uint64_t{static_cast<std::uint8_t>(n.state)} << 32) |
         (std::uint64_t{n.port} << 40) | (std::uint64_t{n.name.size() & 0xff} << 56));
  mix_bytes(t->user_state);
}

}  // namespace chorus::sim
