// One direction of a gossip TCP stream (swim::decode_stream): label,
// type-10 encryption header, compression, push/pull with node states and
// user state, ping, ack, user, err. Decoded without and with a keyring.
// Property: a complete stream message re-encodes (no layers) to bytes that
// decode to the same value.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "swim/keyring.hpp"
#include "swim/stream.hpp"

using namespace chorus::swim;

namespace {
const keyring& fuzz_keys() {
  static const keyring ring = [] {
    keyring r;
    const auto k = key_from_base64("DsztwYCZBvF2KY/IXNPZ2VtxassyUTpsQCx9KE7j1Z8=");
    if (!k.ok() || !r.install(k.key).empty()) std::abort();
    return r;
  }();
  return ring;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  stream_open_options plain;
  plain.skip_label_check = true;
  plain.max_decompressed = 1u << 20;
  const auto s = decode_stream(in, plain);
  if (s.ok()) {
    if (s.consumed > size) std::abort();
    const auto enc = encode_stream(s.msg, stream_options{});
    if (!enc.ok()) std::abort();
    const auto again = decode_stream(enc.data, plain);
    if (!again.ok() || !(again.msg == s.msg)) std::abort();
  }

  stream_open_options keyed = plain;
  keyed.keys = &fuzz_keys();
  (void)decode_stream(in, keyed);
  return 0;
}
