#pragma once
// IEEE 802.3 CRC-32 (zlib's crc32): polynomial 0x04C11DB7 reflected
// (0xEDB88320), initial value and final xor 0xFFFFFFFF. memberlist's hasCrc
// header (memberlist.md section 6) carries it over the rest of the packet.
#include <cstdint>
#include <span>

namespace chorus::swim {

// CRC of `data`; pass a previous result as `crc` to continue a running CRC
// over several pieces (crc32(b, crc32(a)) == crc32(a + b)).
std::uint32_t crc32(std::span<const std::uint8_t> data, std::uint32_t crc = 0);

}  // namespace chorus::swim
