#pragma once
// Serf tags carried in memberlist's node Meta (../shared/protocol/serf.md
// section 4).
//
//   Serf protocol >= 3:  Meta = 0xff | msgpack map[string]string
//   Serf protocol 2:     Meta = the raw value of the "role" tag
//   decoding:            empty Meta or first byte != 0xff -> {role: Meta as text}
//
// Meta is limited to 512 bytes (memberlist's MetaMaxSize).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "agent/serf/messages.hpp"
#include "swim/codec.hpp"

namespace chorus::agent {

inline constexpr std::uint8_t tag_magic_byte = 0xff;
inline constexpr std::size_t meta_max_size = 512;
inline constexpr std::string_view tags_too_long_error = "Encoded length of tags exceeds limit of 512 bytes";

struct encoded_tags {
  bytes meta;
  std::string error;  // tags_too_long_error when the encoding exceeds meta_max_size
  bool ok() const { return error.empty(); }
};

// Encodes for `serf_protocol` (>= 3: magic byte + map, sorted keys; 2: role only).
encoded_tags encode_tags(const tag_map& tags, std::uint8_t serf_protocol = 5);

// Decodes a Meta (never longer than 512 bytes on the wire, but any length is
// handled safely).
swim::decoded<tag_map> decode_tags(std::span<const std::uint8_t> meta);

}  // namespace chorus::agent
