#include "agent/serf/coordinate_payload.hpp"

#include <type_traits>
#include <utility>
#include <vector>

#include "agent/serf/go_structs.hpp"
#include "swim/msgpack_struct.hpp"

namespace chorus::agent {

namespace {

// A coordinate has a handful of dimensions; refuse absurd vectors early
// (the reader already bounds them by the input size). Serf builds Vec with
// make(), so it is never nil on the wire.
struct bounded_vec {
  static constexpr std::size_t max_dimensions = 64;
  using codec = msgpack::codec<std::vector<double>>;
  static void write(msgpack::writer& w, const std::vector<double>& v) { codec::write(w, v); }
  static bool read(const msgpack::value& v, std::vector<double>& out, std::string& why) {
    return v.size() <= max_dimensions && codec::read(v, out, why);
  }
};

}  // namespace

}  // namespace chorus::agent

namespace chorus::vivaldi {

// In the coordinate's own namespace, where msgpack::write_struct looks.
constexpr auto wire_fields(std::type_identity<coordinate>) {
  return agent::coordinate_fields<coordinate, agent::bounded_vec>();
}

}  // namespace chorus::vivaldi

namespace chorus::agent {

void write_coordinate(msgpack::writer& w, const vivaldi::coordinate& c) { msgpack::write_struct(w, c); }

bool read_coordinate(const msgpack::value& v, vivaldi::coordinate& out, std::string& error) {
  // A key left out keeps a fresh coordinate's value (Error and Height are
  // not zero there), except Vec, which is then empty.
  vivaldi::coordinate c;
  c.vec.clear();
  if (auto e = msgpack::read_present(v, c); !e.empty()) {
    error = std::move(e);
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
