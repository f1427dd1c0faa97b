#include "sim/wire.hpp"

namespace chorus::sim {

namespace {
// The simulator reads stream bodies without layers and never looks at
// layers.inner.
const swim::stream_open_options& bare_stream() {
  static const swim::stream_open_options o = [] {
    swim::stream_open_options x;
    x.keep_inner = false;
    return x;
  }();
  return o;
}
}  // namespace

std::optional<swim::bytes> wire::seal_packet(swim::bytes payload, bool crc, const swim::keyring* keys) const {
  if (!opt_.seal) return payload;
  swim::seal_options so;
  so.compress = opt_.compress;
  so.crc = crc;
  so.keys = keys;
  auto sealed = swim::seal(payload, so);
  if (!sealed.ok()) return std::nullopt;
  return std::move(sealed.data);
}

swim::opened_packet wire::open_packet(std::span<const std::uint8_t> datagram, const swim::keyring* keys) const {
  swim::open_options oo;
  oo.keys = keys;
  return swim::open(datagram, oo);
}

stream_payload wire::encode(const swim::stream_message& m, const swim::keyring* keys) const {
  stream_payload p;
  if (opt_.seal) {
    swim::stream_options so;
    so.compress = opt_.compress;
    so.keys = keys;
    // An encoding that fails (no AES-GCM) leaves empty bytes, which the
    // receiver refuses as it would garbage.
    if (auto sealed = swim::encode_stream(m, so); sealed.ok()) p.data = std::move(sealed.data);
  } else {
    swim::encode_stream_body(m, p.data);
  }
  p.size = p.data.size();
  return p;
}

stream_payload wire::encode(const swim::push_pull& table, const swim::keyring* keys) const {
  if (opt_.seal) return encode(swim::stream_message{table}, keys);
  stream_payload p;
  swim::encode_stream_body(table, p.data);  // without copying the table into a stream_message
  p.size = p.data.size();
  return p;
}

stream_payload wire::pack(swim::push_pull&& table, const swim::keyring* keys) {
  ++counts_.push_pull_tables;
  const bool through_codec = opt_.seal || (opt_.wire_every != 0 && tables_sent_++ % opt_.wire_every == 0);
  if (!through_codec) {
    stream_payload p;
    p.size = swim::stream_body_size(table);
    p.table = std::make_unique<swim::push_pull>(std::move(table));
    return p;
  }
  ++counts_.push_pull_tables_encoded;
  const std::size_t expected = opt_.seal ? 0 : swim::stream_body_size(table);
  stream_payload p = encode(table, keys);
  if (!opt_.seal && p.size != expected) ++counts_.mismatched_sizes;
  return p;
}

swim::opened_stream wire::open_stream(std::span<const std::uint8_t> data, const swim::keyring* keys) const {
  if (!opt_.seal) return swim::decode_stream(data, bare_stream());
  swim::stream_open_options oo;
  oo.keys = keys;
  oo.keep_inner = false;
  return swim::decode_stream(data, oo);
}

}  // namespace chorus::sim
