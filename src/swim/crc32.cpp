#include "swim/crc32.hpp"

#include <array>

namespace chorus::swim {
namespace {

constexpr std::uint32_t reflected_polynomial = 0xEDB88320u;

// One entry per byte value: the CRC register after shifting that byte through
// eight rounds of the bitwise algorithm. Built at compile time.
constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ reflected_polynomial : c >> 1;
    t[i] = c;
  }
  return t;
}

constexpr auto table = make_table();

}  // namespace

std::uint32_t crc32(std::span<const std::uint8_t> data, std::uint32_t crc) {
  std::uint32_t c = ~crc;
  for (std::uint8_t b : data) c = table[(c ^ b) & 0xffu] ^ (c >> 8);
  return ~c;
}

}  // namespace chorus::swim
