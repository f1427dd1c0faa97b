#include "agent/serf/coordinate_payload.hpp"

namespace chorus::agent {

namespace {
// A coordinate has a handful of dimensions; refuse absurd vectors early
// (the reader already bounds them by the input size).
constexpr std::size_t max_dimensions = 64;
}  // namespace

void write_coordinate(msgpack::writer& w, const vivaldi::coordinate& c) {
  w.map_header(4);
  w.str("Adjustment");
  w.float64(c.adjustment);
  w.str("Error");
  w.float64(c.error);
  w.str("Height");
  w.float64(c.height);
  w.str("Vec");
  w.array_header(static_cast<std::uint32_t>(c.vec.size()));
  for (double x : c.vec) w.float64(x);
}

bool read_coordinate(const msgpack::value& v, vivaldi::coordinate& out, std::string& error) {
  vivaldi::coordinate c;
  msgpack::struct_reader r(v);
  r.double_field("Adjustment", c.adjustment);
  r.double_field("Error", c.error);
  r.double_field("Height", c.height);
  c.vec.clear();
  if (const msgpack::value* vec = r.lookup("Vec")) {
    if (vec->is_array() && vec->items.size() <= max_dimensions) {
      c.vec.resize(vec->items.size());
      for (std::size_t i = 0; i < vec->items.size(); ++i)
        if (!msgpack::as_double(vec->items[i], c.vec[i])) r.fail("Vec");
    } else if (!vec->is_nil()) {
      r.fail("Vec");
    }
  }
  if (!r.ok()) {
    error = r.error();
    return false;
  }
  out = std::move(c);
  return true;
}

void encode_coordinate_payload(const vivaldi::coordinate& c, swim::bytes& out) {
  out.push_back(ping_payload_version);
  msgpack::writer w(out);
  write_coordinate(w, c);
}

swim::bytes encode_coordinate_payload(const vivaldi::coordinate& c) {
  swim::bytes out;
  encode_coordinate_payload(c, out);
  return out;
}

swim::decoded<vivaldi::coordinate> decode_coordinate_payload(std::span<const std::uint8_t> payload) {
  swim::decoded<vivaldi::coordinate> d;
  if (payload.empty()) {
    d.error = {"empty ping payload", 0};
    return d;
  }
  if (payload[0] != ping_payload_version) {
    d.error = {"unsupported ping payload version " + std::to_string(payload[0]), 0};
    return d;
  }
  const auto r = msgpack::read(payload.subspan(1));
  if (!r.ok()) {
    d.error = {"coordinate: " + r.error, 1 + r.consumed};
    return d;
  }
  std::string error;
  if (!read_coordinate(r.v, d.value, error)) d.error = {"coordinate: " + error, 1};
  return d;
}

}  // namespace chorus::agent
