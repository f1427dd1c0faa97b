#pragma once
// The Vivaldi coordinate Serf puts on every UDP ack it sends
// (../shared/protocol/serf.md section 5):
//
//   ack Payload = 0x01 (ping payload version) | msgpack Coordinate
//   Coordinate  = {Adjustment f64, Error f64, Height f64, Vec []f64} (sorted keys)
//
// A fresh 8-D coordinate makes a 130-byte payload.
#include <cstdint>
#include <span>
#include <string>

#include "swim/codec.hpp"
#include "swim/msgpack.hpp"
#include "vivaldi/coordinate.hpp"

namespace chorus::agent {

inline constexpr std::uint8_t ping_payload_version = 1;

// 0x01 + msgpack coordinate.
void encode_coordinate_payload(const vivaldi::coordinate& c, swim::bytes& out);
swim::bytes encode_coordinate_payload(const vivaldi::coordinate& c);

// Checks the version byte ("unsupported ping payload version N") and decodes
// the coordinate. Does not judge the values (NaN etc.): the Vivaldi client does.
swim::decoded<vivaldi::coordinate> decode_coordinate_payload(std::span<const std::uint8_t> payload);

// The coordinate struct alone. The RPC layer (get-coordinate) shares its keys
// (go_structs.hpp). Keys left out keep a fresh coordinate's values, but Vec
// is then empty.
void write_coordinate(msgpack::writer& w, const vivaldi::coordinate& c);
bool read_coordinate(const msgpack::value& v, vivaldi::coordinate& out, std::string& error);

}  // namespace chorus::agent
